#include "worker/http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <stdexcept>
#include <thread>

namespace flotilla::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct HttpClient::Impl {
  asio::io_context ioc;
  beast::tcp_stream stream{ioc};
  beast::flat_buffer buffer;
  Duration timeout;

  // Runs the operation started on `stream` to completion or to the deadline.
  void finish(const beast::error_code& ec, const char* what) {
    ioc.run();
    ioc.restart();
    if (ec) throw std::runtime_error(std::string(what) + ": " + ec.message());
  }

  HttpResponse read_response(bool head) {
    http::response_parser<http::string_body> parser;
    parser.skip(head);  // a response to HEAD has a Content-Length but no body
    beast::error_code ec;
    stream.expires_after(timeout);
    http::async_read(stream, buffer, parser, [&](beast::error_code e, std::size_t) { ec = e; });
    finish(ec, "read");
    const auto& res = parser.get();
    HttpResponse out;
    out.status = res.result_int();
    out.body = res.body();
    out.worker = std::string(res["X-Flotilla-Worker"]);
    out.keep_alive = res.keep_alive();
    for (const auto& field : res)
      out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    return out;
  }
};

std::string HttpResponse::header(std::string_view name) const {
  for (const auto& [key, value] : headers)
    if (beast::iequals(key, name)) return value;
  return "";
}

HttpClient::HttpClient(std::uint16_t port, Duration timeout) : impl_(std::make_unique<Impl>()) {
  impl_->timeout = timeout;
  beast::error_code ec;
  impl_->stream.expires_after(timeout);
  impl_->stream.async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port),
                              [&](beast::error_code e) { ec = e; });
  impl_->ioc.run();
  impl_->ioc.restart();
  if (ec) throw std::runtime_error("connect: " + ec.message());
}

HttpClient::~HttpClient() = default;

HttpResponse HttpClient::request(std::string_view method, std::string_view target,
                                 std::string_view body, bool chunked) {
  http::request<http::string_body> req;
  req.method_string(method);
  req.target(target);
  req.version(11);
  req.set(http::field::host, "127.0.0.1");
  req.body() = std::string(body);
  if (chunked)
    req.chunked(true);
  else if (!body.empty() || method == "POST" || method == "PUT")
    req.prepare_payload();
  beast::error_code ec;
  impl_->stream.expires_after(impl_->timeout);
  http::async_write(impl_->stream, req, [&](beast::error_code e, std::size_t) { ec = e; });
  impl_->finish(ec, "write");
  return impl_->read_response(method == "HEAD");
}

void HttpClient::send(std::string_view bytes) {
  beast::error_code ec;
  impl_->stream.expires_after(impl_->timeout);
  asio::async_write(impl_->stream, asio::buffer(bytes.data(), bytes.size()),
                    [&](beast::error_code e, std::size_t) { ec = e; });
  impl_->finish(ec, "write");
}

HttpResponse HttpClient::receive() { return impl_->read_response(false); }

HttpResponse HttpClient::raw(std::string_view bytes) {
  send(bytes);
  return receive();
}

bool HttpClient::closed_by_peer(Duration timeout) {
  char byte;
  beast::error_code ec;
  impl_->stream.expires_after(timeout);
  impl_->stream.async_read_some(asio::buffer(&byte, 1),
                                [&](beast::error_code e, std::size_t) { ec = e; });
  impl_->ioc.run();
  impl_->ioc.restart();
  return ec == asio::error::eof || ec == asio::error::connection_reset;
}

HttpResponse http_get(std::uint16_t port, std::string_view target) {
  HttpClient client(port);
  return client.request("GET", target);
}

nlohmann::json get_metrics(std::uint16_t port) {
  const auto res = http_get(port, "/metrics");
  if (res.status != 200)
    throw std::runtime_error("/metrics answered " + std::to_string(res.status));
  return nlohmann::json::parse(res.body);
}

}  // namespace flotilla::test
