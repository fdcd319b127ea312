// The dashboard's page as serve answers GET / with it: one document that carries everything it
// needs (so it works offline) and the elements its script and the browser test find. How it
// behaves in a browser is tests/integration/dashboard_test.cpp's.
#include <doctest/doctest.h>

#include <regex>
#include <string>

#include "serve/dashboard_page.h"

namespace {

int count(const std::string& text, const std::string& what) {
  int n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("dashboard_page: one whole document, every template marker filled") {
  const std::string page = flotilla::dashboard_page();
  CHECK(page.rfind("<!DOCTYPE html>", 0) == 0);
  CHECK(page.find("</html>") != std::string::npos);
  CHECK(page.find("{{") == std::string::npos);
  CHECK(count(page, "<main id=\"page\"") == 1);
  CHECK(count(page, "<style>") == 1);
  // The report's chart code and the dashboard's own script, in that order.
  const auto charts = page.find("const Flotilla = (() => {");
  const auto dashboard = page.find("const kRetainS");
  REQUIRE(charts != std::string::npos);
  REQUIRE(dashboard != std::string::npos);
  CHECK(charts < dashboard);
  CHECK(page == flotilla::dashboard_page());
}

TEST_CASE("dashboard_page: nothing is fetched from elsewhere, only the admin API it came from") {
  const std::string page = flotilla::dashboard_page();
  struct Row {
    const char* what;
    const char* pattern;
  };
  const Row refused[] = {
      {"a linked file", R"(<link\b)"},
      {"a script or image by address", R"(\bsrc\s*=)"},
      {"an address in a link", R"(href\s*=\s*["']?(https?:)?//)"},
      {"a style import or font", R"(@import|@font-face|url\()"},
      {"an absolute address in a fetch", R"(fetch\(\s*["'`](https?:)?//)"},
  };
  for (const Row& row : refused) {
    CAPTURE(std::string(row.what));
    CHECK(!std::regex_search(page, std::regex(row.pattern)));
  }
  // Every path the script reads or posts to is the API's, on the page's own origin.
  const std::regex path(R"(['`](/api/v1/[a-z/]*))");
  int paths = 0;
  for (auto it = std::sregex_iterator(page.begin(), page.end(), path); it != std::sregex_iterator();
       ++it)
    ++paths;
  CHECK(paths >= 8);
}

TEST_CASE("dashboard_page: the elements the browser test and the script find are there") {
  const std::string page = flotilla::dashboard_page();
  for (const char* id :
       {"id=\"tiles\"", "id=\"charts\"", "id=\"markers\"", "id=\"targets-section\"",
        "id=\"activities-section\"", "id=\"decisions-section\"", "id=\"message\"",
        "id=\"kill-random\"", "id=\"desired-minus\"", "id=\"desired-plus\"", "id=\"load-rps\"",
        "id=\"load-start\"", "id=\"load-stop\"", "id=\"tooltip\""}) {
    CAPTURE(id);
    CHECK(count(page, id) == 1);
  }
  for (const char* tile :
       {"tile-rps", "tile-errors", "tile-p50", "tile-p99", "tile-healthy", "tile-capacity"}) {
    CAPTURE(tile);
    CHECK(page.find("'" + std::string(tile) + "'") != std::string::npos);
  }
}
