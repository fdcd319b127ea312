#include "test_http_server.h"

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <future>
#include <list>
#include <mutex>
#include <thread>

namespace flotilla::test {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

struct TestHttpServer::Impl {
  net::io_context ioc{1};
  tcp::acceptor acceptor{ioc};
  std::thread thread;
  std::uint16_t port = 0;

  std::atomic<int> status{200};
  std::atomic<std::int64_t> delay_ns{0};
  std::atomic<std::uint64_t> delay_first_n{0};
  std::atomic<std::int64_t> delay_first_ns{0};
  std::atomic<bool> close_after{false};
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> connections{0};
  std::mutex seen_mu;
  std::vector<SeenRequest> seen;

  struct Session : std::enable_shared_from_this<Session> {
    Session(Impl& owner, tcp::socket s) : impl(owner), socket(std::move(s)), timer(owner.ioc) {}
    Impl& impl;
    tcp::socket socket;
    beast::flat_buffer buffer;
    http::request<http::string_body> request;
    http::response<http::string_body> response;
    net::steady_timer timer;

    void read() {
      request = {};
      http::async_read(
          socket, buffer, request,
          [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
    }
    void on_read(beast::error_code ec) {
      if (ec) return close();
      {
        std::lock_guard lock(impl.seen_mu);
        impl.seen.push_back({std::string(request.method_string()), std::string(request.target()),
                             request.body().size(), !request.keep_alive()});
      }
      const std::uint64_t index = impl.requests.fetch_add(1);
      Duration delay(index < impl.delay_first_n.load() ? impl.delay_first_ns.load()
                                                       : impl.delay_ns.load());
      if (delay <= Duration::zero()) return respond();
      timer.expires_after(delay);
      timer.async_wait([self = shared_from_this()](beast::error_code ec) {
        if (ec) return self->close();
        self->respond();
      });
    }
    void respond() {
      response = {};
      response.result(static_cast<unsigned>(impl.status.load()));
      response.version(11);
      response.set(http::field::content_type, "text/plain");
      response.body() = "ok\n";
      response.keep_alive(request.keep_alive());
      response.prepare_payload();
      // A response to HEAD announces the body's length and carries none.
      if (request.method() == http::verb::head) response.body().clear();
      http::async_write(socket, response,
                        [self = shared_from_this()](beast::error_code ec, std::size_t) {
                          if (ec || self->impl.close_after.load() || !self->response.keep_alive())
                            return self->close();
                          self->read();
                        });
    }
    void close() {
      beast::error_code ignored;
      socket.shutdown(tcp::socket::shutdown_both, ignored);
      socket.close(ignored);
      timer.cancel();
    }
  };
  std::list<std::weak_ptr<Session>> sessions;  // on the IO thread only

  void accept() {
    acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec) return;  // closed by stop_accepting()
      connections.fetch_add(1);
      auto session = std::make_shared<Session>(*this, std::move(socket));
      sessions.remove_if([](const auto& w) { return w.expired(); });
      sessions.push_back(session);
      session->read();
      accept();
    });
  }
};

TestHttpServer::TestHttpServer() : impl_(std::make_unique<Impl>()) {
  const tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"), 0);
  impl_->acceptor.open(endpoint.protocol());
  impl_->acceptor.set_option(net::socket_base::reuse_address(true));
  impl_->acceptor.bind(endpoint);
  impl_->acceptor.listen(net::socket_base::max_listen_connections);
  impl_->port = impl_->acceptor.local_endpoint().port();
  impl_->accept();
  impl_->thread = std::thread([this] { impl_->ioc.run(); });
}

TestHttpServer::~TestHttpServer() {
  impl_->ioc.stop();
  impl_->thread.join();
}

std::uint16_t TestHttpServer::port() const { return impl_->port; }
void TestHttpServer::set_status(int status) { impl_->status = status; }
void TestHttpServer::set_delay(Duration delay) { impl_->delay_ns = delay.count(); }
void TestHttpServer::set_delay_first(std::uint64_t n, Duration delay) {
  impl_->delay_first_ns = delay.count();
  impl_->delay_first_n = n;
}
void TestHttpServer::set_close_after_response(bool close) { impl_->close_after = close; }
std::uint64_t TestHttpServer::requests() const { return impl_->requests.load(); }
std::uint64_t TestHttpServer::connections() const { return impl_->connections.load(); }
std::vector<TestHttpServer::SeenRequest> TestHttpServer::seen() const {
  std::lock_guard lock(impl_->seen_mu);
  return impl_->seen;
}

void TestHttpServer::stop_accepting() {
  std::promise<void> done;
  net::post(impl_->ioc, [this, &done] {
    beast::error_code ignored;
    impl_->acceptor.close(ignored);
    for (auto& w : impl_->sessions)
      if (auto s = w.lock()) s->close();
    done.set_value();
  });
  done.get_future().wait();
}

}  // namespace flotilla::test
