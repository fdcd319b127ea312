#include "balancer/proxy_http.h"

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <cstring>
#include <limits>

namespace flotilla::proxy {
namespace {

bool iequals(std::string_view a, std::string_view b) { return boost::beast::iequals(a, b); }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool ends_with_chunked(std::string_view value) {
  const auto comma = value.rfind(',');
  const std::string_view last =
      trim(comma == std::string_view::npos ? value : value.substr(comma + 1));
  return iequals(last, "chunked");
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
  content_length = false;
  transfer_encoding = false;
  expect_continue = false;
}

template <bool isRequest>
MessageParser<isRequest>::MessageParser(HeaderInfo& info, std::uint32_t header_limit)
    : info_(info) {
  info_.clear();
  this->eager(true);
  this->header_limit(header_limit);
  // Not boost::none: Beast 1.74 compares the length with the optional, and "n > none" is true.
  this->body_limit(std::numeric_limits<std::uint64_t>::max());
}

template <bool isRequest>
std::size_t MessageParser<isRequest>::feed(const char* data, std::size_t size, error_code& ec) {
  base_ = data;
  size_ = size;
  const bool had_header = this->is_header_done();
  const std::size_t used = this->put(boost::asio::const_buffer(data, size), ec);
  if (!had_header && this->is_header_done()) {
    // The header was parsed in this call, from `data`; it ends at the first blank line.
    const std::string_view bytes(data, size);
    const auto end = bytes.find("\r\n\r\n");
    info_.header_size = end == std::string_view::npos ? used : end + 4;
  }
  return used;
}

template <bool isRequest>
void MessageParser<isRequest>::on_request_impl(http::verb method, std::string_view,
                                               std::string_view, int version, error_code&) {
  info_.method = method;
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
  if (line_end == nullptr) {
    ec = http::error::bad_value;
    return;
  }
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
        const std::string_view token = trim(rest.substr(0, comma));
        if (!token.empty()) info_.connection_tokens.push_back(token);
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
      }
      break;
    }
    case http::field::content_length:
      info_.content_length = true;
      break;
    case http::field::transfer_encoding:
      info_.transfer_encoding = true;
      if (isRequest && !ends_with_chunked(value)) ec = http::error::bad_transfer_encoding;
      break;
    case http::field::expect:
      if (iequals(trim(value), "100-continue")) info_.expect_continue = true;
      break;
    default:
      if (name == http::field::unknown && iequals(name_string, "x-forwarded-for")) {
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
      case http::field::unknown:
        f.drop =
            is_request && (iequals(name, "x-forwarded-for") || iequals(name, "x-forwarded-proto") ||
                           iequals(name, "x-forwarded-port"));
        break;
      default:
        break;
    }
    if (f.drop) continue;
    for (const auto token : info.connection_tokens) {
      if (iequals(token, name)) {
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
                            std::uint16_t listener_port, std::string& out) {
  out.clear();
  out += "X-Forwarded-For: ";
  for (const auto value : info.forwarded_for) {
    if (value.empty()) continue;
    out += value;
    out += ", ";
  }
  out += client_address;
  out += "\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Port: ";
  out += std::to_string(listener_port);
  out += "\r\n";
}

}  // namespace flotilla::proxy
