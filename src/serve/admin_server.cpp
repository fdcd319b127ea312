#include "serve/admin_server.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <unordered_set>

#include "core/accept_backoff.h"
#include "core/errors.h"

namespace flotilla {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

// After a 413, how much of the body is read and dropped before the connection closes anyway.
constexpr std::size_t kMaxDiscard = 16u << 20;

}  // namespace

struct AdminServer::Impl : std::enable_shared_from_this<AdminServer::Impl> {
  class Session;

  Impl(asio::io_context& io, AdminApi& api, AdminLimits limits)
      : api(api), limits(limits), acceptor(io), backoff(io) {}

  void do_accept();

  AdminApi& api;
  const AdminLimits limits;
  tcp::acceptor acceptor;
  AcceptBackoff backoff;
  std::unordered_set<Session*> sessions;
  bool stopped = false;
};

class AdminServer::Impl::Session : public std::enable_shared_from_this<Session> {
 public:
  Session(std::shared_ptr<Impl> server, tcp::socket socket)
      : server_(std::move(server)), stream_(std::move(socket)) {
    server_->sessions.insert(this);
  }
  ~Session() { server_->sessions.erase(this); }

  void start() { do_read(); }
  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

 private:
  void do_read() {
    parser_.emplace();
    parser_->header_limit(server_->limits.max_header_bytes);
    parser_->body_limit(AdminApi::kMaxBody);
    stream_.expires_after(server_->limits.idle_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       self->on_read(ec);
                     });
  }

  void on_read(beast::error_code ec) {
    if (server_->stopped) return;
    AdminRequest request;
    if (ec == http::error::body_limit) {
      request.body_too_large = true;
      keep_alive_ = false;
      discard_rest_ = true;
    } else if (ec == http::error::header_limit) {
      return reply_status(http::status::request_header_fields_too_large);
    } else if (ec) {
      if (ec != http::error::end_of_stream && ec != beast::error::timeout &&
          ec != asio::error::operation_aborted && ec != asio::error::connection_reset)
        return reply_status(http::status::bad_request);
      return close();
    }
    const auto& message = parser_->get();
    request.method = std::string(message.method_string());
    request.target = std::string(message.target());
    request.authorization = std::string(message[http::field::authorization]);
    request.cookie = std::string(message[http::field::cookie]);
    if (!request.body_too_large) {
      request.body = message.body();
      keep_alive_ = message.keep_alive();
    }
    head_ = message.method() == http::verb::head;
    const AdminResponse answer = server_->api.handle(request);
    auto response = std::make_shared<http::response<http::string_body>>();
    response->version(11);
    response->result(static_cast<unsigned>(answer.status));
    response->set(http::field::server, "flotilla");
    response->set(http::field::content_type, answer.content_type);
    response->set(http::field::cache_control, "no-store");
    for (const auto& [name, value] : answer.headers) response->insert(name, value);
    response->body() = answer.body;
    response->prepare_payload();
    if (head_) response->body().clear();
    response->keep_alive(keep_alive_);
    write(std::move(response));
  }

  void reply_status(http::status status) {
    keep_alive_ = false;
    auto response = std::make_shared<http::response<http::string_body>>(status, 11);
    response->set(http::field::content_type, "application/json");
    response->body() = "{\"error\": \"" + std::string(http::obsolete_reason(status)) + "\"}\n";
    response->prepare_payload();
    response->keep_alive(false);
    write(std::move(response));
  }

  void write(std::shared_ptr<http::response<http::string_body>> response) {
    response_ = std::move(response);
    stream_.expires_after(server_->limits.idle_timeout);
    if (head_) {
      auto serializer = std::make_shared<http::response_serializer<http::string_body>>(*response_);
      http::async_write_header(
          stream_, *serializer,
          [self = shared_from_this(), serializer](beast::error_code ec, std::size_t) {
            self->on_write(ec);
          });
      return;
    }
    http::async_write(stream_, *response_,
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                        self->on_write(ec);
                      });
  }

  void on_write(beast::error_code ec) {
    response_.reset();
    if (!ec && discard_rest_ && !server_->stopped) return discard_rest();
    if (ec || !keep_alive_ || server_->stopped) return close();
    do_read();
  }

  // After a 413: the client may still be sending the body. Closing with unread bytes would
  // reset the connection and could lose the answer on the client's side, so the rest is read and
  // dropped (up to kMaxDiscard, within the idle timeout) before closing.
  void discard_rest() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    discard_buffer_.resize(16 * 1024);
    stream_.async_read_some(asio::buffer(discard_buffer_),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              self->discarded_ += n;
                              if (ec || self->discarded_ > kMaxDiscard || self->server_->stopped)
                                return self->close();
                              self->discard_rest();
                            });
  }

  std::shared_ptr<Impl> server_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<http::response<http::string_body>> response_;
  bool keep_alive_ = true;
  bool head_ = false;
  bool discard_rest_ = false;
  std::vector<char> discard_buffer_;
  std::size_t discarded_ = 0;
};

void AdminServer::Impl::do_accept() {
  acceptor.async_accept([self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
    if (self->stopped || ec == asio::error::operation_aborted) return;
    if (!ec) {
      socket.set_option(tcp::no_delay(true), ec);
      std::make_shared<Session>(self, std::move(socket))->start();
    }
    self->backoff.next(ec, [self] {
      if (!self->stopped) self->do_accept();
    });
  });
}

AdminServer::AdminServer(asio::io_context& io, AdminApi& api, const std::string& host,
                         std::uint16_t port, AdminLimits limits)
    : impl_(std::make_shared<Impl>(io, api, limits)) {
  const std::string address = host + ":" + std::to_string(port);
  beast::error_code ec;
  const auto ip = asio::ip::make_address(host, ec);
  if (ec) throw UserError("--admin " + address + ": expected an IP address of this machine");
  const tcp::endpoint endpoint(ip, port);
  impl_->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl_->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) impl_->acceptor.bind(endpoint, ec);
  if (!ec) impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    throw UserError("--admin " + address + ": cannot listen there (" + ec.message() +
                    (ec == asio::error::address_in_use ? "; choose another port, or 0" : "") + ")");
  impl_->do_accept();
}

AdminServer::~AdminServer() { stop(); }

std::uint16_t AdminServer::port() const { return impl_->acceptor.local_endpoint().port(); }

void AdminServer::stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  beast::error_code ignored;
  impl_->acceptor.close(ignored);
  impl_->backoff.cancel();
  // Closing makes each session's pending operation complete; copy, as they erase themselves.
  const std::vector<Impl::Session*> open(impl_->sessions.begin(), impl_->sessions.end());
  for (Impl::Session* s : open) s->close();
}

}  // namespace flotilla
