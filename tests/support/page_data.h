#pragma once
// Test support: the data a report page (report.html, compare.html) carries, as JSON.
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

namespace flotilla::test {

// The JSON in the page's <script type="application/json" id="flotilla-data"> element; throws
// when there is none.
inline nlohmann::json page_data(const std::string& page) {
  const std::string open = "<script type=\"application/json\" id=\"flotilla-data\">";
  const auto begin = page.find(open);
  const auto end = begin == std::string::npos ? begin : page.find("</script>", begin);
  if (end == std::string::npos) throw std::runtime_error("the page carries no data element");
  return nlohmann::json::parse(page.substr(begin + open.size(), end - begin - open.size()));
}

}  // namespace flotilla::test
