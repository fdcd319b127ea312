// libFuzzer targets for the balancer's HTTP parsing (proxy_http.h), on both sides.
//
// request: the bytes are a client's stream on one keep-alive connection, delivered in segments
// as a socket would, and parsed the way the proxy session does (proxy::RequestParser,
// mark_unforwarded, append_kept_header, write_forwarded_fields). It checks that nothing crashes
// and that framing is consistent:
//   - the header ends with its blank line and every field lies inside it;
//   - a message's length does not depend on how the stream was segmented;
//   - what the proxy forwards (kept header + X-Forwarded-* + body) parses again as exactly one
//     message with the same body length and no hop-by-hop field: no request can be smuggled
//     past the balancer by framing the target reads differently.
// Input: byte 0 picks the segment size, the rest is the stream.
//
// response: the bytes are a target's stream on a pooled connection, parsed as the session does
// (proxy::ResponseParser; interim 1xx responses passed on; a body without framing read to the
// end of the stream). The same framing checks, for what the client receives (kept header plus
// the Connection field the balancer writes), and the status and body length agree with a
// second reading. The control plane's client (http_client.cpp: Beast's string-body parser, 1 MiB
// body limit) reads the same bytes and must refuse or accept them without harm.
// Input: byte 0's low 6 bits pick the segment size, bit 6 says the request was HEAD.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "balancer/proxy_http.h"
#include "fuzz/fuzz_targets.h"

namespace {

using namespace flotilla::proxy;

// As the balancer: a header must fit in 16 KiB, the client buffer holds 32 KiB, a target
// connection's 16 KiB (proxy_session.cpp, upstream_pool.h).
constexpr std::uint32_t kHeaderLimit = 16 * 1024;
constexpr std::size_t kBufferSize = 32 * 1024;
constexpr std::uint32_t kResponseHeaderLimit = 16 * 1024;
constexpr std::size_t kUpstreamBufferSize = 16 * 1024;
// As http_client.cpp.
constexpr std::uint64_t kClientBodyLimit = 1 << 20;
constexpr int kMaxMessages = 16;

[[noreturn]] void fail(const char* what, std::string_view message) {
  std::fprintf(stderr, "framing invariant broken: %s\n  message (%zu bytes): %.*s\n", what,
               message.size(), static_cast<int>(std::min<std::size_t>(message.size(), 400)),
               message.data());
  std::abort();
}

void check(bool ok, const char* what, std::string_view message) {
  if (!ok) fail(what, message);
}

struct Framed {
  bool ok = false;         // a complete, valid message
  std::size_t size = 0;    // bytes of the message (header and body)
  std::size_t header = 0;  // bytes of the header
};

// How feeding a stream ended: the parser is done, it refused the bytes (or the header outgrew
// the session's buffer), or the stream ended before it was done.
enum class FeedEnd { kDone, kRefused, kStreamEnded };

// Feeds `stream` to `parser` `segment` bytes per read, the way the sessions do: the header from
// the message's first byte each time more arrives, then the body after what was consumed, with
// `buffer_size` bytes of room for the header. `consumed` counts the bytes the parser took.
template <class Parser>
FeedEnd feed_in_segments(Parser& parser, std::string_view stream, std::size_t segment,
                         std::size_t buffer_size, std::size_t& consumed) {
  std::size_t received = 0;
  error_code ec;
  while (true) {
    received = std::min(stream.size(), received + segment);
    const std::size_t used = parser.feed(stream.data() + consumed, received - consumed, ec);
    if (ec && ec != http::error::need_more) return FeedEnd::kRefused;
    if (!parser.is_header_done() && used != 0)
      fail("bytes consumed before the header is whole", stream);
    consumed += used;
    if (parser.is_done()) return FeedEnd::kDone;
    if (!parser.is_header_done() && received >= buffer_size) return FeedEnd::kRefused;
    if (received == stream.size()) return FeedEnd::kStreamEnded;
  }
}

// Parses one message at the start of `stream` the way the session does, `segment` bytes per
// read: refused is a 400 and close, a stream that ends first is a client gone mid-message.
// `info` is the caller's, so it can inspect the header.
Framed frame(std::string_view stream, std::size_t segment, HeaderInfo& info) {
  RequestParser parser(info, kHeaderLimit);
  Framed f;
  std::size_t consumed = 0;
  if (feed_in_segments(parser, stream, segment, kBufferSize, consumed) != FeedEnd::kDone) return f;
  f.ok = true;
  f.size = consumed;
  f.header = info.header_size;
  return f;
}

void check_header(const HeaderInfo& info, std::string_view message) {
  check(info.header_size >= 4 && info.header_size <= message.size(), "header size out of range",
        message);
  check(message.substr(info.header_size - 4, 4) == "\r\n\r\n", "header does not end in CRLFCRLF",
        message);
  check(message.substr(0, info.header_size - 4).find("\r\n\r\n") == std::string_view::npos,
        "blank line inside the header", message);
  std::uint32_t previous_end = 0;
  for (const auto& f : info.fields) {
    check(f.begin >= previous_end && f.begin < f.end && f.end <= info.header_size - 2,
          "field outside the header or out of order", message);
    check(f.begin + f.name_size <= f.end && message[f.end - 1] == '\n', "field line malformed",
          message);
    previous_end = f.end;
  }
  check(!(info.content_length && info.transfer_encoding),
        "Content-Length with Transfer-Encoding accepted", message);
}

// What the proxy writes to the target for this message.
std::string forwarded_bytes(HeaderInfo& info, std::string_view message) {
  mark_unforwarded(info, message.data(), true);
  std::vector<boost::asio::const_buffer> out;
  append_kept_header(info, message.data(), out);
  std::string bytes;
  for (const auto& b : out) bytes.append(static_cast<const char*>(b.data()), b.size());
  std::string fields;
  write_forwarded_fields(info, "192.0.2.7", "8080", fields);
  bytes += fields;
  bytes += "\r\n";
  bytes.append(message.substr(info.header_size));
  return bytes;
}

void check_forwarded(std::string_view message, const Framed& original, const std::string& bytes) {
  HeaderInfo info;
  const Framed again = frame(bytes, bytes.size(), info);
  check(again.ok, "the forwarded request does not parse", message);
  check(again.size == bytes.size(), "the forwarded request frames to another length", message);
  check(again.size - again.header == original.size - original.header,
        "the forwarded request's body has another length", message);
  for (const auto& f : info.fields) {
    check(f.name != http::field::connection && f.name != http::field::keep_alive &&
              f.name != http::field::te && f.name != http::field::upgrade &&
              f.name != http::field::proxy_connection && f.name != http::field::expect,
          "a hop-by-hop field was forwarded", message);
  }
}

struct FramedResponse {
  bool ok = false;
  std::size_t size = 0;
  std::size_t header = 0;
  bool to_eof = false;  // framed by the end of the stream
};

// Parses one response at the start of `stream` as the session does, `segment` bytes per read:
// refused is a 502 (or the client's connection closed); a response without a length may end with
// the stream.
FramedResponse frame_response(std::string_view stream, std::size_t segment, bool head,
                              HeaderInfo& info) {
  ResponseParser parser(info, kResponseHeaderLimit);
  if (head) parser.skip(true);
  FramedResponse f;
  std::size_t consumed = 0;
  const FeedEnd end = feed_in_segments(parser, stream, segment, kUpstreamBufferSize, consumed);
  if (end == FeedEnd::kRefused) return f;
  if (end == FeedEnd::kStreamEnded) {
    if (!parser.is_header_done() || !parser.need_eof()) return f;  // cut off
    error_code ec;
    parser.put_eof(ec);
    if (ec) return f;
    f.to_eof = true;
    consumed = stream.size();
  }
  f.ok = true;
  f.size = consumed;
  f.header = info.header_size;
  return f;
}

// What the client receives for a final response: the kept header, the balancer's Connection
// field, the body as received.
std::string delivered_bytes(HeaderInfo& info, std::string_view message) {
  mark_unforwarded(info, message.data(), false);
  std::vector<boost::asio::const_buffer> out;
  append_kept_header(info, message.data(), out);
  std::string bytes;
  for (const auto& b : out) bytes.append(static_cast<const char*>(b.data()), b.size());
  bytes += "Connection: close\r\n\r\n";
  bytes.append(message.substr(info.header_size));
  return bytes;
}

void check_delivered(std::string_view message, const FramedResponse& original, int status,
                     bool head, const std::string& bytes) {
  HeaderInfo info;
  const FramedResponse again = frame_response(bytes, bytes.size(), head, info);
  check(again.ok, "the delivered response does not parse", message);
  check(again.size == bytes.size(), "the delivered response frames to another length", message);
  check(again.size - again.header == original.size - original.header,
        "the delivered response's body has another length", message);
  check(info.status == status, "the delivered response has another status", message);
  int connection_fields = 0;
  for (const auto& f : info.fields) {
    connection_fields += f.name == http::field::connection;
    check(f.name != http::field::keep_alive && f.name != http::field::proxy_connection &&
              f.name != http::field::proxy_authenticate,
          "a hop-by-hop field was delivered", message);
  }
  check(connection_fields == 1, "the delivered response has another Connection field", message);
}

// The control plane's reading of a target's answer (a health check, /metrics), as http_client.cpp
// reads it: Beast's string-body parser with a 1 MiB body limit, then the end of the stream.
void check_client_reading(std::string_view stream) {
  http::response_parser<http::string_body> parser;
  parser.body_limit(kClientBodyLimit);
  error_code ec;
  std::size_t consumed = 0;
  while (!parser.is_done() && consumed < stream.size()) {
    const std::size_t used = parser.put(
        boost::asio::const_buffer(stream.data() + consumed, stream.size() - consumed), ec);
    if (ec == http::error::need_more) {
      ec = {};
      if (used == 0) break;
    }
    if (ec) return;
    consumed += used;
  }
  if (!parser.is_done() && parser.is_header_done() && parser.need_eof()) parser.put_eof(ec);
  if (ec || !parser.is_done()) return;
  check(parser.get().body().size() <= kClientBodyLimit, "the client read a body over its limit",
        stream);
}

}  // namespace

namespace flotilla::fuzz {

int request(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::size_t segment = 1 + data[0] % 64;
  std::string_view stream(reinterpret_cast<const char*>(data) + 1, size - 1);
  HeaderInfo info;
  for (int n = 0; n < kMaxMessages && !stream.empty(); ++n) {
    const Framed f = frame(stream, segment, info);
    if (!f.ok) break;
    const std::string_view message = stream.substr(0, f.size);
    check_header(info, message);
    HeaderInfo whole_info;
    const Framed whole = frame(stream, stream.size(), whole_info);
    check(whole.ok && whole.size == f.size && whole.header == f.header,
          "framing depends on how the bytes arrived", message);
    check_forwarded(message, f, forwarded_bytes(info, message));
    stream.remove_prefix(f.size);
  }
  return 0;
}

int response(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::size_t segment = 1 + (data[0] & 63);
  const bool head = (data[0] & 64) != 0;
  std::string_view stream(reinterpret_cast<const char*>(data) + 1, size - 1);
  check_client_reading(stream);
  HeaderInfo info;
  for (int n = 0; n < kMaxMessages && !stream.empty(); ++n) {
    const FramedResponse f = frame_response(stream, segment, head, info);
    if (!f.ok) break;
    const std::string_view message = stream.substr(0, f.size);
    check_header(info, message);
    const int status = info.status;
    HeaderInfo whole_info;
    const FramedResponse whole = frame_response(stream, stream.size(), head, whole_info);
    check(
        whole.ok && whole.size == f.size && whole.header == f.header && whole_info.status == status,
        "framing depends on how the bytes arrived", message);
    // The session refuses 101 and passes interim responses on as received.
    if (status == 101) break;
    if (status / 100 != 1)
      check_delivered(message, f, status, head, delivered_bytes(info, message));
    if (f.to_eof) break;
    stream.remove_prefix(f.size);
  }
  return 0;
}

}  // namespace flotilla::fuzz
