#include "balancer/http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <chrono>
#include <memory>

#include "worker/control.h"

namespace flotilla {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

constexpr std::uint64_t kBodyLimit = 1 << 20;

class Call : public std::enable_shared_from_this<Call> {
 public:
  Call(asio::io_context& io, std::function<void(HttpGetResult)> done)
      : socket_(io),
        timer_(io),
        done_(std::move(done)),
        started_(std::chrono::steady_clock::now()) {}

  void start(const Endpoint& endpoint, HttpRequest request, Duration timeout) {
    error_code ec;
    const auto address = asio::ip::make_address(endpoint.host, ec);
    if (ec) {
      // Never inline: the caller may not expect its callback before http_get() returns.
      asio::post(socket_.get_executor(),
                 [self = shared_from_this()] { self->finish("bad address"); });
      return;
    }
    request_.method_string(request.method);
    request_.target(request.target);
    request_.version(11);
    request_.set(http::field::host, endpoint.to_string());
    request_.set(http::field::user_agent, "flotilla");
    request_.set(http::field::connection, "close");
    if (!request.content_type.empty())
      request_.set(http::field::content_type, request.content_type);
    request_.body() = std::move(request.body);
    // Content-Length when there is a body, or the method expects one (PUT, POST: some servers
    // answer 411 without it).
    if (!request_.body().empty() || request_.method() == http::verb::put ||
        request_.method() == http::verb::post) {
      request_.prepare_payload();
    }
    parser_.body_limit(kBodyLimit);

    timer_.expires_after(timeout);
    timer_.async_wait([self = shared_from_this()](const error_code& ec) {
      if (ec || self->finished_) return;
      self->timed_out_ = true;
      error_code ignored;
      self->socket_.close(ignored);
    });
    socket_.async_connect(tcp::endpoint(address, endpoint.port),
                          [self = shared_from_this()](const error_code& ec) {
                            if (ec) return self->fail(ec);
                            self->write();
                          });
  }

 private:
  void write() {
    http::async_write(socket_, request_,
                      [self = shared_from_this()](const error_code& ec, std::size_t) {
                        if (ec) return self->fail(ec);
                        self->read();
                      });
  }

  void read() {
    http::async_read(socket_, buffer_, parser_,
                     [self = shared_from_this()](const error_code& ec, std::size_t) {
                       if (ec) return self->fail(ec);
                       self->succeed();
                     });
  }

  void fail(const error_code& ec) {
    if (timed_out_) return finish("timeout");
    if (ec == asio::error::connection_refused) return finish("connection refused");
    if (ec == asio::error::connection_reset || ec == asio::error::eof ||
        ec == http::error::end_of_stream) {
      return finish("connection closed");
    }
    if (ec.category() == http::make_error_code(http::error::need_more).category()) {
      return finish("bad response: " + ec.message());
    }
    finish(ec.message());
  }

  void succeed() {
    HttpGetResult result;
    result.ok = true;
    auto& response = parser_.get();
    result.status = static_cast<int>(response.result_int());
    result.body = std::move(response.body());
    deliver(std::move(result));
  }

  void finish(std::string error) {
    HttpGetResult result;
    result.error = std::move(error);
    deliver(std::move(result));
  }

  void deliver(HttpGetResult result) {
    if (finished_) return;
    finished_ = true;
    error_code ignored;
    timer_.cancel(ignored);
    socket_.close(ignored);
    result.elapsed =
        std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now() - started_);
    auto done = std::move(done_);
    done(std::move(result));
  }

  tcp::socket socket_;
  asio::steady_timer timer_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
  http::response_parser<http::string_body> parser_;
  std::function<void(HttpGetResult)> done_;
  std::chrono::steady_clock::time_point started_;
  bool timed_out_ = false;
  bool finished_ = false;
};

}  // namespace

void http_request(boost::asio::io_context& io, const Endpoint& endpoint, HttpRequest request,
                  Duration timeout, std::function<void(HttpGetResult)> done) {
  std::make_shared<Call>(io, std::move(done))->start(endpoint, std::move(request), timeout);
}

void http_get(boost::asio::io_context& io, const Endpoint& endpoint, std::string target,
              Duration timeout, std::function<void(HttpGetResult)> done) {
  http_request(io, endpoint, HttpRequest{"GET", std::move(target), {}, {}}, timeout,
               std::move(done));
}

void send_worker_faults(boost::asio::io_context& io, const Endpoint& endpoint,
                        const WorkerFaults& change, Duration timeout,
                        std::function<void(HttpGetResult)> done) {
  http_request(
      io, endpoint,
      HttpRequest{"PUT", std::string(kFaultsPath), worker_faults_json(change), "application/json"},
      timeout, std::move(done));
}

}  // namespace flotilla
