#pragma once
// Internal to the balancer's .cpp files and its tests (it includes Beast): the trust boundary.
// Beast's parser validates each message header and learns its framing; the proxy then forwards
// the bytes as received, minus the header lines this file marks as not forwardable.
//
// Framing rules on requests, stricter than Beast's so that the balancer and any target agree on
// where a request ends (no smuggling): refused are Content-Length together with
// Transfer-Encoding, more than one Content-Length field (even identical ones: folding them would
// forward two fields that a target might read differently) or a list value ("3, 3"), a
// Transfer-Encoding whose codings are not a final, single "chunked", Transfer-Encoding in an
// HTTP/1.0 request, obsolete line folding, more than one Host field, and everything Beast
// refuses (bad names, whitespace before the colon, bad chunk sizes and extensions, bare CR/LF).
#include <boost/asio/buffer.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace flotilla::proxy {

namespace http = boost::beast::http;
using error_code = boost::system::error_code;

// Where one header field line sits, as offsets from the first byte of the message.
struct HeaderField {
  std::uint32_t begin = 0;  // first byte of the name
  std::uint32_t end = 0;    // one past the line's LF
  std::uint32_t name_size = 0;
  http::field name = http::field::unknown;
  bool drop = false;
};

// What the parser learnt about one message header. Owned by the caller and reused from message
// to message so that parsing allocates nothing once the vectors have grown.
struct HeaderInfo {
  std::vector<HeaderField> fields;                  // the header's fields, not the trailer's
  std::vector<std::string_view> connection_tokens;  // point into the message bytes
  std::vector<std::string_view> forwarded_for;      // X-Forwarded-For values, in order
  std::size_t header_size = 0;                      // through the blank line
  int version = 11;
  int status = 0;                           // responses
  http::verb method = http::verb::unknown;  // requests
  std::string_view method_name;             // requests; as received
  std::string_view target;                  // requests; the request-target as received
  std::string_view host;                    // requests; the Host value, empty if none
  bool content_length = false;
  bool transfer_encoding = false;
  bool expect_continue = false;

  void clear();
};

// Validates one message and frames its body. The body is not stored: the caller forwards the
// bytes that feed() reports as consumed. Rejects what a proxy must not pass on: obsolete line
// folding, Content-Length together with Transfer-Encoding, and (requests) a Transfer-Encoding
// whose last coding is not chunked, since then the request's length cannot be known.
template <bool isRequest>
class MessageParser final : public http::basic_parser<isRequest> {
 public:
  // header_limit: the most header bytes accepted (the caller's buffer must hold that many);
  // more is http::error::header_limit. body_limit: the most body bytes accepted; a larger
  // Content-Length, or chunks adding up to more, is http::error::body_limit.
  MessageParser(HeaderInfo& info, std::uint32_t header_limit,
                std::uint64_t body_limit = std::numeric_limits<std::uint64_t>::max());

  // Feeds bytes and returns how many belong to this message. Until the header is complete,
  // `data` must start at the message's first byte: nothing is consumed until the whole header
  // (through its blank line) is there, and then it is parsed in one piece.
  // ec == http::error::need_more means: read more and call again with the unconsumed bytes.
  std::size_t feed(const char* data, std::size_t size, error_code& ec);

 private:
  void on_request_impl(http::verb method, std::string_view method_str, std::string_view target,
                       int version, error_code& ec) override;
  void on_response_impl(int code, std::string_view reason, int version, error_code& ec) override;
  void on_field_impl(http::field name, std::string_view name_string, std::string_view value,
                     error_code& ec) override;
  void on_header_impl(error_code& ec) override;
  void on_body_init_impl(const boost::optional<std::uint64_t>& content_length,
                         error_code& ec) override;
  std::size_t on_body_impl(std::string_view body, error_code& ec) override;
  void on_chunk_header_impl(std::uint64_t size, std::string_view extensions,
                            error_code& ec) override;
  std::size_t on_chunk_body_impl(std::uint64_t remain, std::string_view body,
                                 error_code& ec) override;
  void on_finish_impl(error_code& ec) override;

  HeaderInfo& info_;
  std::uint32_t header_limit_;
  bool host_seen_ = false;
  const char* base_ = nullptr;
  std::size_t size_ = 0;
};

using RequestParser = MessageParser<true>;
using ResponseParser = MessageParser<false>;

// The balancer's answer to a request the parser refused: 431 (header too large), 413 (body too
// large) or 400.
int status_for(const error_code& ec);

// Marks the fields a proxy must not forward: hop-by-hop ones (Connection, Keep-Alive,
// Proxy-Connection, and every field named in Connection except the framing fields and Host,
// which a client cannot make the balancer drop); for requests also TE, Upgrade,
// Proxy-Authorization, Expect (the balancer answers 100-continue itself) and the X-Forwarded-*
// fields that the balancer writes again; for responses also Proxy-Authenticate.
// `message` starts at the message's first byte.
void mark_unforwarded(HeaderInfo& info, const char* message, bool is_request);

// Appends the header as received minus the dropped lines and minus the final CRLF, so that the
// caller can append its own fields and then CRLF.
void append_kept_header(const HeaderInfo& info, const char* message,
                        std::vector<boost::asio::const_buffer>& out);

// "X-Forwarded-For: <received values>, <client>\r\nX-Forwarded-Proto: http\r\n
//  X-Forwarded-Port: <port>\r\nX-Forwarded-Host: <Host>\r\n" into `out` (cleared first; its
// capacity is reused). X-Forwarded-Host only when the request has a Host.
void write_forwarded_fields(const HeaderInfo& info, std::string_view client_address,
                            std::string_view listener_port, std::string& out);

// The value of a header field, without surrounding whitespace. `message` as above.
std::string_view field_value(const HeaderField& field, const char* message);

}  // namespace flotilla::proxy
