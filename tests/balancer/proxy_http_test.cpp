#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "balancer/proxy_http.h"

using namespace flotilla;
using namespace flotilla::proxy;

namespace {

struct Parsed {
  bool ok = false;
  std::string forwarded;  // header as it would be forwarded, with the balancer's fields
  std::size_t consumed = 0;
  bool done = false;
};

// Parses `raw` in one piece and returns what the proxy would send upstream (requests) or to the
// client (responses; the balancer's own fields are not added here).
template <bool isRequest>
Parsed forward(const std::string& raw) {
  HeaderInfo info;
  MessageParser<isRequest> parser(info, 16 * 1024);
  error_code ec;
  Parsed p;
  p.consumed = parser.feed(raw.data(), raw.size(), ec);
  if (ec) return p;
  p.ok = true;
  p.done = parser.is_done();
  mark_unforwarded(info, raw.data(), isRequest);
  std::vector<boost::asio::const_buffer> out;
  append_kept_header(info, raw.data(), out);
  for (const auto& b : out) p.forwarded.append(static_cast<const char*>(b.data()), b.size());
  if (isRequest) {
    std::string fields;
    write_forwarded_fields(info, "10.0.0.9", 8080, fields);
    p.forwarded += fields;
  }
  p.forwarded += "\r\n";
  return p;
}

constexpr const char* kAdded =
    "X-Forwarded-For: 10.0.0.9\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Port: 8080\r\n";

}  // namespace

TEST_CASE("request headers: hop-by-hop removed, X-Forwarded-* added") {
  struct Row {
    const char* name;
    std::string in;
    std::string out;
  };
  const std::string added = kAdded;
  const std::vector<Row> rows = {
      {"no fields", "GET / HTTP/1.1\r\n\r\n", "GET / HTTP/1.1\r\n" + added + "\r\n"},
      {"plain fields kept in order", "GET /a HTTP/1.1\r\nHost: h\r\nAccept: */*\r\n\r\n",
       "GET /a HTTP/1.1\r\nHost: h\r\nAccept: */*\r\n" + added + "\r\n"},
      {"Connection and Keep-Alive dropped",
       "GET / HTTP/1.1\r\nConnection: keep-alive\r\nHost: h\r\nKeep-Alive: timeout=5\r\n\r\n",
       "GET / HTTP/1.1\r\nHost: h\r\n" + added + "\r\n"},
      {"field named in Connection dropped, case-insensitive, even before Connection",
       "GET / HTTP/1.1\r\nx-hop: 1\r\nHost: h\r\nConnection: X-Hop, close\r\n\r\n",
       "GET / HTTP/1.1\r\nHost: h\r\n" + added + "\r\n"},
      {"TE, Upgrade, Expect dropped",
       "GET / HTTP/1.1\r\nTE: trailers\r\nUpgrade: websocket\r\nHost: h\r\n\r\n",
       "GET / HTTP/1.1\r\nHost: h\r\n" + added + "\r\n"},
      {"existing X-Forwarded-For extended, Proto replaced",
       "GET / HTTP/1.1\r\nX-Forwarded-For: 1.2.3.4\r\nX-Forwarded-Proto: https\r\nHost: h\r\n\r\n",
       "GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 1.2.3.4, 10.0.0.9\r\nX-Forwarded-Proto: "
       "http\r\nX-Forwarded-Port: 8080\r\n\r\n"},
      {"two X-Forwarded-For fields joined",
       "GET / HTTP/1.1\r\nX-Forwarded-For: 1.1.1.1\r\nX-Forwarded-For: 2.2.2.2\r\n\r\n",
       "GET / HTTP/1.1\r\nX-Forwarded-For: 1.1.1.1, 2.2.2.2, 10.0.0.9\r\nX-Forwarded-Proto: "
       "http\r\nX-Forwarded-Port: 8080\r\n\r\n"},
      {"framing fields kept", "POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc",
       "POST / HTTP/1.1\r\nContent-Length: 3\r\n" + added + "\r\n"},
  };
  for (const auto& row : rows) {
    CAPTURE(std::string(row.name));
    const auto p = forward<true>(row.in);
    REQUIRE(p.ok);
    CHECK(p.done);
    CHECK(p.consumed == row.in.size());
    CHECK(p.forwarded == row.out);
  }
}

TEST_CASE("requests a proxy must refuse") {
  struct Row {
    const char* name;
    std::string in;
  };
  const std::vector<Row> rows = {
      {"Content-Length and chunked",
       "POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"},
      {"chunked then Content-Length",
       "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"},
      {"Transfer-Encoding not ending in chunked",
       "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n"},
      {"gzip Transfer-Encoding and Content-Length",
       "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\nContent-Length: 3\r\n\r\nabc"},
      {"conflicting Content-Lengths",
       "POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n"},
      {"obsolete line folding", "GET / HTTP/1.1\r\nX-A: one\r\n two\r\nHost: h\r\n\r\n"},
      {"not HTTP", "hello there\r\n\r\n"},
      {"bad chunk size", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"},
  };
  for (const auto& row : rows) {
    CAPTURE(std::string(row.name));
    CHECK_FALSE(forward<true>(row.in).ok);
  }
}

TEST_CASE("framing: how many bytes belong to the message") {
  struct Row {
    const char* name;
    std::string in;
    std::size_t consumed;
    bool done;
  };
  const std::string chunked =
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
  const std::vector<Row> rows = {
      {"no body, pipelined request after it", "GET / HTTP/1.1\r\n\r\nGET /next HTTP/1.1\r\n\r\n",
       18, true},
      {"content-length body, extra bytes after", "POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\nabXX",
       40, true},
      {"content-length body incomplete", "POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nab", 40,
       false},
      {"chunked body complete", chunked, chunked.size(), true},
      {"chunked body then pipelined", chunked + "GET / HTTP/1.1\r\n\r\n", chunked.size(), true},
  };
  for (const auto& row : rows) {
    CAPTURE(std::string(row.name));
    HeaderInfo info;
    RequestParser parser(info, 16 * 1024);
    error_code ec;
    const auto used = parser.feed(row.in.data(), row.in.size(), ec);
    CAPTURE(ec.message());
    CHECK((!ec || ec == http::error::need_more));
    CHECK(used == row.consumed);
    CHECK(parser.is_done() == row.done);
  }
}

TEST_CASE("responses: framing and hop-by-hop removal") {
  struct Row {
    const char* name;
    std::string in;
    bool need_eof;
    std::string out;
  };
  const std::vector<Row> rows = {
      {"content-length", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nhi",
       false, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n"},
      {"read until close", "HTTP/1.1 200 OK\r\nServer: x\r\n\r\nabc", true,
       "HTTP/1.1 200 OK\r\nServer: x\r\n\r\n"},
      {"204 has no body", "HTTP/1.1 204 No Content\r\n\r\n", false,
       "HTTP/1.1 204 No Content\r\n\r\n"},
      {"304 has no body despite Content-Length",
       "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n", false,
       "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n"},
  };
  for (const auto& row : rows) {
    CAPTURE(std::string(row.name));
    HeaderInfo info;
    ResponseParser parser(info, 16 * 1024);
    error_code ec;
    parser.feed(row.in.data(), row.in.size(), ec);
    CAPTURE(ec.message());
    CHECK((!ec || ec == http::error::need_more));
    CHECK(parser.need_eof() == row.need_eof);
    mark_unforwarded(info, row.in.data(), false);
    std::vector<boost::asio::const_buffer> out;
    append_kept_header(info, row.in.data(), out);
    std::string forwarded;
    for (const auto& b : out) forwarded.append(static_cast<const char*>(b.data()), b.size());
    CHECK(forwarded + "\r\n" == row.out);
  }
}
