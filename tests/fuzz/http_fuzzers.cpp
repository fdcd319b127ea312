// libFuzzer target for the balancer's request path: the bytes are a client's stream on one
// keep-alive connection, delivered in segments as a socket would, and parsed the way the proxy
// session does (proxy::RequestParser, mark_unforwarded, append_kept_header,
// write_forwarded_fields). It checks that nothing crashes and that framing is consistent:
//   - the header ends with its blank line and every field lies inside it;
//   - a message's length does not depend on how the stream was segmented;
//   - what the proxy forwards (kept header + X-Forwarded-* + body) parses again as exactly one
//     message with the same body length and no hop-by-hop field: no request can be smuggled
//     past the balancer by framing the target reads differently.
// Input: byte 0 picks the segment size, the rest is the stream.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "balancer/proxy_http.h"

namespace {

using namespace flotilla::proxy;

// As the balancer: a header must fit in 16 KiB, the client buffer holds 32 KiB.
constexpr std::uint32_t kHeaderLimit = 16 * 1024;
constexpr std::size_t kBufferSize = 32 * 1024;
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

// Parses one message at the start of `stream` the way the session does: the header is fed from
// the message's first byte each time more arrives, then the body after what was consumed.
// `segment` bytes arrive per read. `info` is the caller's, so it can inspect the header.
Framed frame(std::string_view stream, std::size_t segment, HeaderInfo& info) {
  RequestParser parser(info, kHeaderLimit);
  Framed f;
  std::size_t received = 0;
  std::size_t consumed = 0;
  error_code ec;
  while (true) {
    received = std::min(stream.size(), received + segment);
    const std::size_t used = parser.feed(stream.data() + consumed, received - consumed, ec);
    if (ec && ec != http::error::need_more) return f;  // 400 and close
    // The session keeps feeding the header from the message's first byte.
    if (!parser.is_header_done() && used != 0)
      fail("bytes consumed before the header is whole", stream);
    consumed += used;
    if (parser.is_done()) break;
    if (!parser.is_header_done() && received >= kBufferSize) return f;  // 400: header too big
    if (received == stream.size()) return f;  // the client went away mid-message
  }
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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
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
