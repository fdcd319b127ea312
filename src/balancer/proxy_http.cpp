#include "balancer/proxy_http.h"

#include <boost/beast/http/error.hpp>
#include <cstring>
#include <limits>

#include "core/ascii.h"

namespace flotilla::proxy {
namespace {

// A request's Transfer-Encoding: a list of non-empty codings of which "chunked" is the last and
// appears once (RFC 9112 section 6.1: chunked is applied once, last).
bool valid_request_transfer_encoding(std::string_view value) {
  bool chunked_last = false;
  while (true) {
    const auto comma = value.find(',');
    const std::string_view coding = trim_ows(value.substr(0, comma));
    if (coding.empty() || chunked_last) return false;
    chunked_last = ascii_iequals(coding, "chunked");
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return chunked_last;
}

bool all_digits(std::string_view value) {
  if (value.empty()) return false;
  for (const char c : value) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace

void HeaderInfo::clear() {
  fields.clear();
  connection_tokens.clear();
  forwarded_for.clear();
  header_size = 0;
  version = 11;
  status = 0;
  method = http::verb::unknown;
  method_name = {};
  target = {};
  host = {};
  content_length = false;
  transfer_encoding = false;
  expect_continue = false;
}

template <bool isRequest>
MessageParser<isRequest>::MessageParser(HeaderInfo& info, std::uint32_t header_limit,
                                        std::uint64_t body_limit)
    : info_(info), header_limit_(header_limit) {
  info_.clear();
  this->eager(true);
  this->header_limit(header_limit);
  // Never boost::none: Beast 1.74 compares the length with the optional, and "n > none" is true.
  this->body_limit(body_limit);
}

template <bool isRequest>
std::size_t MessageParser<isRequest>::feed(const char* data, std::size_t size, error_code& ec) {
  base_ = data;
  size_ = size;
  if (this->is_header_done()) return this->put(boost::asio::const_buffer(data, size), ec);
  // Beast parses a partial header line by line and wants the rest fed after the lines it took;
  // the caller feeds a header from its first byte until it is whole. So Beast only ever sees a
  // whole header; an incomplete one goes to a throwaway parser, only to refuse a bad start (or
  // one over the limit) without waiting for the rest.
  const std::string_view bytes(data, size);
  const auto end = bytes.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    // The probe fills this parser's own HeaderInfo (cleared first, so its vectors keep their
    // capacity): no allocation per partial read on the request path.
    MessageParser probe(info_, header_limit_);
    probe.base_ = data;
    probe.size_ = size;
    probe.put(boost::asio::const_buffer(data, size), ec);
    if (!ec) ec = http::error::need_more;
    return 0;
  }
  info_.clear();  // a probe of an earlier partial read may have filled it
  const std::size_t used = this->put(boost::asio::const_buffer(data, size), ec);
  if (!this->is_header_done()) {
    // Not whole despite the blank line (a bare CR before it): refused, never resumed.
    if (!ec || ec == http::error::need_more) ec = http::error::bad_line_ending;
    return 0;
  }
  info_.header_size = end + 4;
  return used;
}

template <bool isRequest>
void MessageParser<isRequest>::on_request_impl(http::verb method, std::string_view method_name,
                                               std::string_view target, int version, error_code&) {
  info_.method = method;
  info_.method_name = method_name;
  info_.target = target;
  info_.version = version;
}

template <bool isRequest>
void MessageParser<isRequest>::on_response_impl(int code, std::string_view, int version,
                                                error_code&) {
  info_.status = code;
  info_.version = version;
}

template <bool isRequest>
void MessageParser<isRequest>::on_field_impl(http::field name, std::string_view name_string,
                                             std::string_view value, error_code& ec) {
  // Beast unfolds obsolete line folding into its own storage; such a value does not lie in the
  // input. Folding is rejected rather than forwarded (RFC 9112 section 5.2 allows either).
  const char* end = base_ + size_;
  if (!value.empty() && (value.data() < base_ || value.data() >= end)) {
    ec = http::error::bad_value;
    return;
  }
  const char* line_end =
      static_cast<const char*>(std::memchr(name_string.data(), '\n', end - name_string.data()));
  // A value that does not end on the field's first line was folded too ("Name:\r\n value").
  if (line_end == nullptr || value.data() + value.size() > line_end) {
    ec = http::error::bad_value;
    return;
  }
  if (this->is_header_done()) return;  // a trailer field: forwarded as received, no meaning here
  HeaderField f;
  f.begin = static_cast<std::uint32_t>(name_string.data() - base_);
  f.end = static_cast<std::uint32_t>(line_end + 1 - base_);
  f.name_size = static_cast<std::uint32_t>(name_string.size());
  f.name = name;
  info_.fields.push_back(f);

  switch (name) {
    case http::field::connection:
    case http::field::proxy_connection: {
      std::string_view rest = value;
      while (!rest.empty()) {
        const auto comma = rest.find(',');
        const std::string_view token = trim_ows(rest.substr(0, comma));
        if (!token.empty()) info_.connection_tokens.push_back(token);
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
      }
      break;
    }
    case http::field::content_length:
      if (isRequest && (info_.content_length || !all_digits(value))) {
        ec = http::error::bad_content_length;
      }
      info_.content_length = true;
      break;
    case http::field::transfer_encoding:
      info_.transfer_encoding = true;
      if (isRequest && (info_.version < 11 || !valid_request_transfer_encoding(value))) {
        ec = http::error::bad_transfer_encoding;
      }
      break;
    case http::field::host:
      if (isRequest) {
        if (host_seen_) ec = http::error::bad_value;
        host_seen_ = true;
        info_.host = value;
      }
      break;
    case http::field::expect:
      if (ascii_iequals(trim_ows(value), "100-continue")) info_.expect_continue = true;
      break;
    default:
      if (name == http::field::unknown && ascii_iequals(name_string, "x-forwarded-for")) {
        info_.forwarded_for.push_back(value);
      }
      break;
  }
  if (info_.content_length && info_.transfer_encoding) ec = http::error::bad_transfer_encoding;
}

template <bool isRequest>
void MessageParser<isRequest>::on_header_impl(error_code&) {}

template <bool isRequest>
void MessageParser<isRequest>::on_body_init_impl(const boost::optional<std::uint64_t>&,
                                                 error_code&) {}

template <bool isRequest>
std::size_t MessageParser<isRequest>::on_body_impl(std::string_view body, error_code&) {
  return body.size();
}

template <bool isRequest>
void MessageParser<isRequest>::on_chunk_header_impl(std::uint64_t, std::string_view, error_code&) {}

template <bool isRequest>
std::size_t MessageParser<isRequest>::on_chunk_body_impl(std::uint64_t, std::string_view body,
                                                         error_code&) {
  return body.size();
}

template <bool isRequest>
void MessageParser<isRequest>::on_finish_impl(error_code&) {}

template class MessageParser<true>;
template class MessageParser<false>;

int status_for(const error_code& ec) {
  if (ec == http::error::header_limit) return 431;
  if (ec == http::error::body_limit) return 413;
  return 400;
}

void mark_unforwarded(HeaderInfo& info, const char* message, bool is_request) {
  for (auto& f : info.fields) {
    const std::string_view name(message + f.begin, f.name_size);
    switch (f.name) {
      case http::field::connection:
      case http::field::keep_alive:
      case http::field::proxy_connection:
        f.drop = true;
        break;
      case http::field::te:
      case http::field::upgrade:
      case http::field::proxy_authorization:
      case http::field::expect:
        f.drop = is_request;
        break;
      case http::field::proxy_authenticate:
        f.drop = !is_request;
        break;
      case http::field::content_length:
      case http::field::transfer_encoding:
      case http::field::host:
        // Never dropped, whatever Connection names: dropping a framing field would make the
        // target read the body as another request.
        continue;
      case http::field::unknown:
        f.drop =
            is_request &&
            (ascii_iequals(name, "x-forwarded-for") || ascii_iequals(name, "x-forwarded-proto") ||
             ascii_iequals(name, "x-forwarded-port") || ascii_iequals(name, "x-forwarded-host"));
        break;
      default:
        break;
    }
    if (f.drop) continue;
    for (const auto token : info.connection_tokens) {
      if (ascii_iequals(token, name)) {
        f.drop = true;
        break;
      }
    }
  }
}

void append_kept_header(const HeaderInfo& info, const char* message,
                        std::vector<boost::asio::const_buffer>& out) {
  std::size_t from = 0;
  for (const auto& f : info.fields) {
    if (!f.drop) continue;
    if (f.begin > from) out.emplace_back(message + from, f.begin - from);
    from = f.end;
  }
  const std::size_t until = info.header_size - 2;  // keep the last field's CRLF, not the blank line
  if (until > from) out.emplace_back(message + from, until - from);
}

void write_forwarded_fields(const HeaderInfo& info, std::string_view client_address,
                            std::string_view listener_port, std::string& out) {
  out.clear();
  out += "X-Forwarded-For: ";
  for (const auto value : info.forwarded_for) {
    if (value.empty()) continue;
    out += value;
    out += ", ";
  }
  out += client_address;
  out += "\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Port: ";
  out += listener_port;
  out += "\r\n";
  if (!info.host.empty()) {
    out += "X-Forwarded-Host: ";
    out += info.host;
    out += "\r\n";
  }
}

std::string_view field_value(const HeaderField& field, const char* message) {
  std::string_view line(message + field.begin + field.name_size + 1,  // past the colon
                        field.end - field.begin - field.name_size - 1);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  return trim_ows(line);
}

}  // namespace flotilla::proxy
