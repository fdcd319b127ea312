// `flotilla load`'s URL parsing: what --url accepts, and the word it has for what it refuses.
#include "orchestrator/load_command.h"

#include <doctest/doctest.h>

#include <optional>
#include <string>

using namespace flotilla;

TEST_CASE("parse_http_url: host, port and request target, or why not") {
  struct Row {
    const char* text;
    std::optional<HttpUrl> url;
    const char* why = "";  // a part of the reason, for refused ones
  };
  const Row rows[] = {
      {"http://127.0.0.1:8080/", HttpUrl{"127.0.0.1", 8080, "/"}},
      {"http://127.0.0.1:8080", HttpUrl{"127.0.0.1", 8080, "/"}},
      {"http://localhost/a/b?c=1&d=2", HttpUrl{"localhost", 80, "/a/b?c=1&d=2"}},
      {"HTTP://Example.com:81?q", HttpUrl{"Example.com", 81, "/?q"}},
      {"http://10.0.0.1:9000/x#frag", HttpUrl{"10.0.0.1", 9000, "/x"}},
      {"https://127.0.0.1/", std::nullopt, "TLS"},
      {"ftp://127.0.0.1/", std::nullopt, "http://HOST"},
      {"127.0.0.1:8080", std::nullopt, "http://HOST"},
      {"http://", std::nullopt, "HOST"},
      {"http://:8080/", std::nullopt, "HOST"},
      {"http://127.0.0.1:/", std::nullopt, "port"},
      {"http://127.0.0.1:0/", std::nullopt, "port"},
      {"http://127.0.0.1:65536/", std::nullopt, "port"},
      {"http://127.0.0.1:80x/", std::nullopt, "port"},
      {"http://user@127.0.0.1/", std::nullopt, "user"},
      {"http://[::1]:8080/", std::nullopt, "IPv6"},
      {"http://127.0.0.1/a b", std::nullopt, "spaces"},
  };
  for (const Row& row : rows) {
    CAPTURE(row.text);
    std::string why;
    const auto url = parse_http_url(row.text, why);
    CHECK(url == row.url);
    if (!row.url) {
      CHECK(why.find(row.why) != std::string::npos);
      CHECK(why.find(row.text) != std::string::npos);  // it quotes what it was given
    }
  }
}
