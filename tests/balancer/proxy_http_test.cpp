#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "balancer/proxy_http.h"
#include "test_backend.h"

using namespace flotilla;
using namespace flotilla::proxy;
using flotilla::testing::refused_requests;

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
    write_forwarded_fields(info, "10.0.0.9", "8080", fields);
    p.forwarded += fields;
  }
  p.forwarded += "\r\n";
  return p;
}

constexpr const char* kAdded =
    "X-Forwarded-For: 10.0.0.9\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Port: 8080\r\n";
constexpr const char* kAddedHostH =
    "X-Forwarded-For: 10.0.0.9\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Port: 8080\r\n"
    "X-Forwarded-Host: h\r\n";

}  // namespace

TEST_CASE("request headers: hop-by-hop removed, X-Forwarded-* added") {
  struct Row {
    const char* name;
    std::string in;
    std::string out;
  };
  const std::string added = kAdded;
  const std::string added_h = kAddedHostH;
  const std::vector<Row> rows = {
      {"no fields", "GET / HTTP/1.1\r\n\r\n", "GET / HTTP/1.1\r\n" + added + "\r\n"},
      {"plain fields kept in order", "GET /a HTTP/1.1\r\nHost: h\r\nAccept: */*\r\n\r\n",
       "GET /a HTTP/1.1\r\nHost: h\r\nAccept: */*\r\n" + added_h + "\r\n"},
      {"Connection and Keep-Alive dropped",
       "GET / HTTP/1.1\r\nConnection: keep-alive\r\nHost: h\r\nKeep-Alive: timeout=5\r\n\r\n",
       "GET / HTTP/1.1\r\nHost: h\r\n" + added_h + "\r\n"},
      {"field named in Connection dropped, case-insensitive, even before Connection",
       "GET / HTTP/1.1\r\nx-hop: 1\r\nHost: h\r\nConnection: X-Hop, close\r\n\r\n",
       "GET / HTTP/1.1\r\nHost: h\r\n" + added_h + "\r\n"},
      {"TE, Upgrade, Expect dropped",
       "GET / HTTP/1.1\r\nTE: trailers\r\nUpgrade: websocket\r\nHost: h\r\n\r\n",
       "GET / HTTP/1.1\r\nHost: h\r\n" + added_h + "\r\n"},
      {"existing X-Forwarded-For extended, Proto replaced",
       "GET / HTTP/1.1\r\nX-Forwarded-For: 1.2.3.4\r\nX-Forwarded-Proto: https\r\nHost: h\r\n\r\n",
       "GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 1.2.3.4, 10.0.0.9\r\nX-Forwarded-Proto: "
       "http\r\nX-Forwarded-Port: 8080\r\nX-Forwarded-Host: h\r\n\r\n"},
      {"two X-Forwarded-For fields joined",
       "GET / HTTP/1.1\r\nX-Forwarded-For: 1.1.1.1\r\nX-Forwarded-For: 2.2.2.2\r\n\r\n",
       "GET / HTTP/1.1\r\nX-Forwarded-For: 1.1.1.1, 2.2.2.2, 10.0.0.9\r\nX-Forwarded-Proto: "
       "http\r\nX-Forwarded-Port: 8080\r\n\r\n"},
      {"framing fields kept", "POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc",
       "POST / HTTP/1.1\r\nContent-Length: 3\r\n" + added + "\r\n"},
      {"Connection cannot drop framing fields or Host",
       "POST / HTTP/1.1\r\nHost: h\r\nConnection: Content-Length, Host, Transfer-Encoding\r\n"
       "Content-Length: 3\r\n\r\nabc",
       "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n" + added_h + "\r\n"},
      {"client's X-Forwarded-Host and -Port replaced",
       "GET / HTTP/1.1\r\nX-Forwarded-Host: evil\r\nHost: h\r\nX-Forwarded-Port: 1\r\n\r\n",
       "GET / HTTP/1.1\r\nHost: h\r\n" + added_h + "\r\n"},
      {"Proxy-Authorization dropped",
       "GET / HTTP/1.1\r\nProxy-Authorization: Basic x\r\nHost: h\r\n\r\n",
       "GET / HTTP/1.1\r\nHost: h\r\n" + added_h + "\r\n"},
      {"trailer fields kept as body bytes",
       "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nConnection: x\r\n\r\n",
       "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n" + added + "\r\n"},
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

TEST_CASE("requests a proxy must refuse, and with which status") {
  for (const auto& row : refused_requests()) {
    CAPTURE(std::string(row.name));
    HeaderInfo info;
    RequestParser parser(info, 16 * 1024);
    error_code ec;
    parser.feed(row.raw.data(), row.raw.size(), ec);
    CAPTURE(ec.message());
    REQUIRE(ec);
    CHECK(ec != http::error::need_more);
    CHECK(status_for(ec) == row.status);
  }
}

TEST_CASE("limits: header size -> 431, body size -> 413") {
  struct Row {
    const char* name;
    std::string raw;
    std::uint64_t body_limit;
    int status;  // 0: accepted
  };
  const std::string big_field = "X-Big: " + std::string(300, 'b') + "\r\n";
  const std::vector<Row> rows = {
      {"header within the limit", "GET / HTTP/1.1\r\nHost: h\r\n\r\n", 10, 0},
      {"header over the limit", "GET / HTTP/1.1\r\n" + big_field + "\r\n", 10, 431},
      {"Content-Length at the limit", "POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789", 10,
       0},
      {"Content-Length over the limit, refused before any body byte",
       "POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n", 10, 413},
      {"chunks adding up to the limit",
       "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n01234\r\n5\r\n56789\r\n0\r\n\r\n",
       10, 0},
      {"chunks passing the limit",
       "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n01234\r\n6\r\n", 10, 413},
  };
  for (const auto& row : rows) {
    CAPTURE(std::string(row.name));
    HeaderInfo info;
    RequestParser parser(info, 256, row.body_limit);
    error_code ec;
    parser.feed(row.raw.data(), row.raw.size(), ec);
    CAPTURE(ec.message());
    if (row.status == 0) {
      CHECK_FALSE(ec);
      CHECK(parser.is_done());
    } else {
      CHECK(status_for(ec) == row.status);
    }
  }
}

TEST_CASE("accepted edge cases: chunk extensions, trailers, request line parts") {
  struct Row {
    const char* name;
    std::string raw;
    std::string_view method, target, host;
  };
  const std::vector<Row> rows = {
      {"chunk extension",
       "POST /u HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;a=b\r\nabc\r\n0\r\n\r\n", "POST",
       "/u", ""},
      {"quoted chunk extension",
       "POST /u HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;a=\"x y\"\r\nabc\r\n0\r\n\r\n",
       "POST", "/u", ""},
      {"gzip, chunked", "POST /u HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
       "POST", "/u", ""},
      {"trailer field", "POST /u HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: 5\r\n\r\n",
       "POST", "/u", ""},
      {"extension method, query, host with port",
       "PURGE /a?b=c HTTP/1.1\r\nHost: Ex.com:80\r\n\r\n", "PURGE", "/a?b=c", "Ex.com:80"},
  };
  for (const auto& row : rows) {
    CAPTURE(std::string(row.name));
    HeaderInfo info;
    RequestParser parser(info, 16 * 1024);
    error_code ec;
    const auto used = parser.feed(row.raw.data(), row.raw.size(), ec);
    CAPTURE(ec.message());
    CHECK_FALSE(ec);
    CHECK(used == row.raw.size());
    CHECK(parser.is_done());
    CHECK(info.method_name == row.method);
    CHECK(info.target == row.target);
    CHECK(info.host == row.host);
  }
}

TEST_CASE("field_value trims and ignores the line end") {
  const std::string raw = "GET / HTTP/1.1\r\nX-A:  spaced value \t\r\nX-B:\r\n\r\n";
  HeaderInfo info;
  RequestParser parser(info, 1024);
  error_code ec;
  parser.feed(raw.data(), raw.size(), ec);
  REQUIRE_FALSE(ec);
  REQUIRE(info.fields.size() == 2);
  CHECK(field_value(info.fields[0], raw.data()) == "spaced value");
  CHECK(field_value(info.fields[1], raw.data()).empty());
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

TEST_CASE("a header that arrives in pieces: nothing consumed until it is whole") {
  const std::string raw = "GET /p HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n\r\n";
  for (std::size_t cut = 0; cut < raw.size(); ++cut) {
    CAPTURE(cut);
    HeaderInfo info;
    RequestParser parser(info, 16 * 1024);
    error_code ec;
    CHECK(parser.feed(raw.data(), cut, ec) == 0);
    CHECK(ec == http::error::need_more);
    CHECK(parser.feed(raw.data(), raw.size(), ec) == raw.size());
    CHECK_FALSE(ec);
    CHECK(parser.is_done());
    CHECK(info.header_size == raw.size());
    CHECK(info.target == "/p");
  }
  // A bad start is refused before the rest arrives; a header past the limit too.
  HeaderInfo info;
  RequestParser bad(info, 16 * 1024);
  error_code ec;
  const std::string garbage = "GET / HTTP/1.1\r\nBad Name: x\r\n";
  CHECK(bad.feed(garbage.data(), garbage.size(), ec) == 0);
  CHECK(status_for(ec) == 400);
  RequestParser small(info, 64);
  const std::string big = "GET / HTTP/1.1\r\nX-Big: " + std::string(100, 'b');
  CHECK(small.feed(big.data(), big.size(), ec) == 0);
  CHECK(status_for(ec) == 431);
}

TEST_CASE("a bare CR in a header that arrives in pieces: nothing consumed, then refused") {
  // Beast alone would take the first fields of this header from a partial read and then want
  // the rest fed after them (found by the fuzzer).
  const std::string raw =
      "GET / HTTP/1.1\r\nHost: h\r\nConnection: close, X-Secret\r\nX-Secret: 1\rkGET /3 HTTP/1.";
  HeaderInfo info;
  RequestParser parser(info, 16 * 1024);
  error_code ec;
  CHECK(parser.feed(raw.data(), 64, ec) == 0);
  CHECK(ec == http::error::need_more);
  CHECK(parser.feed(raw.data(), raw.size(), ec) == 0);
  CHECK(status_for(ec) == 400);
}
