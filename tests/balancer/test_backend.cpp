#include "test_backend.h"

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <cctype>
#include <chrono>
#include <future>
#include <set>
#include <thread>

namespace flotilla::testing {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

}  // namespace

std::string TestBackend::chunked_body() {
  std::string body;
  for (int i = 0; i < 500; ++i) body += "alpha-beta-gamma-" + std::to_string(i) + ";";
  return body;
}

struct TestBackend::Impl {
  struct Conn : std::enable_shared_from_this<Conn> {
    Conn(Impl& o, tcp::socket s) : owner(o), socket(std::move(s)) {}

    void read() {
      request = {};
      http::async_read(
          socket, buffer, request,
          [self = shared_from_this()](const error_code& ec, std::size_t) { self->on_read(ec); });
    }

    void on_read(const error_code& ec) {
      if (ec) return drop();
      ++owner.backend.requests_;
      switch (owner.backend.mode_) {
        case Mode::kSwallow:
          return drop();
        case Mode::kHang:
          return;  // keeps the connection open, never answers
        case Mode::kGarbage: {
          static const std::string garbage = "this is not http\r\n\r\n";
          asio::async_write(
              socket, asio::buffer(garbage),
              [self = shared_from_this()](const error_code&, std::size_t) { self->drop(); });
          return;
        }
        case Mode::kHalfThenReset: {
          raw_response =
              "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nX-Backend: " + owner.backend.name_ +
              "\r\n\r\n" + std::string(kHalfResponseBody);
          asio::async_write(socket, asio::buffer(raw_response),
                            [self = shared_from_this()](const error_code& ec, std::size_t) {
                              if (ec) return self->drop();
                              self->owner.held.push_back(self);
                              ++self->owner.backend.held_;
                            });
          return;
        }
        case Mode::kNormal:
          break;
      }
      if (request.target() == "/held") {
        owner.held.push_back(shared_from_this());
        ++owner.backend.held_;
        return;
      }
      respond();
    }

    void respond() {
      response = {};
      response.version(11);
      response.result(http::status::ok);
      response.set("X-Backend", owner.backend.name_);
      response.set("X-Seen-XFF", request["X-Forwarded-For"]);
      response.set("X-Seen-Proto", request["X-Forwarded-Proto"]);
      response.set("X-Seen-Hop", request.count("X-Hop") ? "yes" : "no");
      response.set("X-Seen-Keep-Alive", request.count(http::field::keep_alive) ? "yes" : "no");
      response.set("X-Seen-XFH", request["X-Forwarded-Host"]);
      response.set("X-Seen-Port", request["X-Forwarded-Port"]);
      const auto target = request.target();
      if (target.starts_with("/status/")) {
        const int status = std::stoi(std::string(target.substr(8)));
        response.result(static_cast<http::status>(status));
        if (status != 204 && status != 304) response.body() = owner.backend.name_;
      } else if (target.starts_with("/big-header/")) {
        response.set("X-Pad", std::string(std::stoul(std::string(target.substr(12))), 'x'));
        response.body() = owner.backend.name_;
      } else if (target == "/health") {
        response.result(static_cast<http::status>(owner.backend.health_status_.load()));
        response.body() = "ok";
      } else if (target == "/echo") {
        response.body() = request.body();
      } else if (target == "/chunked") {
        response.body() = chunked_body();
        response.chunked(true);
      } else {
        response.body() = owner.backend.name_;
      }
      if (!response.chunked()) response.prepare_payload();
      response.keep_alive(request.keep_alive());
      http::async_write(socket, response,
                        [self = shared_from_this()](const error_code& ec, std::size_t) {
                          if (ec || !self->response.keep_alive()) return self->drop();
                          self->read();
                        });
    }

    // Closes with an RST (SO_LINGER 0) rather than a FIN.
    void reset() {
      error_code ignored;
      socket.set_option(asio::socket_base::linger(true, 0), ignored);
      drop();
    }

    void drop() {
      error_code ignored;
      socket.close(ignored);
      owner.conns.erase(shared_from_this());
    }

    Impl& owner;
    tcp::socket socket;
    beast::flat_buffer buffer;
    http::request<http::string_body> request;
    http::response<http::string_body> response;
    std::string raw_response;  // kHalfThenReset's
  };

  explicit Impl(TestBackend& b) : backend(b), acceptor(io) {}

  void accept() {
    acceptor.async_accept([this](const error_code& ec, tcp::socket socket) {
      if (ec) return;
      ++backend.connections_;
      auto conn = std::make_shared<Conn>(*this, std::move(socket));
      conns.insert(conn);
      conn->read();
      accept();
    });
  }

  TestBackend& backend;
  asio::io_context io;
  tcp::acceptor acceptor;
  std::set<std::shared_ptr<Conn>> conns;    // on the backend's thread
  std::vector<std::shared_ptr<Conn>> held;  // requests for /held not answered yet
  std::thread thread;
  bool stopped = false;
};

TestBackend::TestBackend(std::string name, Mode mode)
    : name_(std::move(name)), mode_(mode), impl_(std::make_unique<Impl>(*this)) {
  const tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), 0);
  impl_->acceptor.open(endpoint.protocol());
  impl_->acceptor.bind(endpoint);
  impl_->acceptor.listen();
  port_ = impl_->acceptor.local_endpoint().port();
  impl_->accept();
  impl_->thread = std::thread([this] { impl_->io.run(); });
}

TestBackend::~TestBackend() { stop(); }

void TestBackend::stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  asio::post(impl_->io, [this] {
    error_code ignored;
    impl_->acceptor.close(ignored);
    for (const auto& conn : impl_->conns) conn->socket.close(ignored);
    impl_->conns.clear();
  });
  impl_->thread.join();
}

void TestBackend::release_held() {
  asio::post(impl_->io, [this] {
    for (const auto& conn : impl_->held) {
      if (mode_ == Mode::kHalfThenReset) {
        conn->reset();
      } else {
        conn->respond();
      }
    }
    impl_->backend.held_ -= impl_->held.size();
    impl_->held.clear();
  });
}

void TestBackend::close_connections() {
  std::promise<void> closed;
  asio::post(impl_->io, [this, &closed] {
    error_code ignored;
    for (const auto& conn : impl_->conns) conn->socket.close(ignored);
    impl_->conns.clear();
    closed.set_value();
  });
  closed.get_future().wait();
}

struct TestClient::Impl {
  explicit Impl(std::uint16_t port) : socket(io) {
    socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  }
  // Runs the operation started on `socket` until it sets `done` or `limit` passes; on timeout
  // closes the socket (the operation completes, aborted) and returns false.
  bool run(const bool& done, Duration limit) {
    io.restart();
    io.run_for(limit);
    if (done) return true;
    error_code ignored;
    socket.close(ignored);
    io.restart();
    io.run();
    return false;
  }

  asio::io_context io;
  tcp::socket socket;
  beast::flat_buffer buffer;
};

TestClient::TestClient(std::uint16_t port) : impl_(std::make_unique<Impl>(port)) {}
TestClient::~TestClient() = default;

std::optional<TestResponse> TestClient::raw(const std::string& raw, Duration limit) {
  if (!send(raw)) return std::nullopt;
  return read(limit);
}

bool TestClient::send(const std::string& bytes) {
  error_.clear();
  error_code ec;
  asio::write(impl_->socket, asio::buffer(bytes), ec);
  if (ec) error_ = ec.message();
  return !ec;
}

std::optional<TestResponse> TestClient::read(Duration limit) {
  error_.clear();
  auto parser = std::make_shared<http::response_parser<http::string_body>>();
  parser->body_limit(64 << 20);
  bool done = false;
  error_code result;
  http::async_read(impl_->socket, impl_->buffer, *parser, [&](const error_code& ec, std::size_t) {
    result = ec;
    done = true;
  });
  if (!impl_->run(done, limit)) {
    error_ = "timeout";
    return std::nullopt;
  }
  if (result) {
    error_ = result.message();
    return std::nullopt;
  }
  TestResponse r;
  const auto& message = parser->get();
  r.status = static_cast<int>(message.result_int());
  for (const auto& field : message) {
    r.headers[lower(std::string(field.name_string()))] = std::string(field.value());
  }
  r.body = message.body();
  return r;
}

std::optional<TestResponse> TestClient::get(
    const std::string& target, const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string request = "GET " + target + " HTTP/1.1\r\nHost: test\r\n";
  for (const auto& [name, value] : fields) request += name + ": " + value + "\r\n";
  request += "\r\n";
  return raw(request);
}

bool TestClient::closed_by_peer(Duration limit) {
  bool done = false;
  error_code result;
  char byte;
  impl_->socket.async_read_some(asio::buffer(&byte, 1), [&](const error_code& ec, std::size_t) {
    result = ec;
    done = true;
  });
  if (!impl_->run(done, limit)) return false;
  return result == asio::error::eof || result == asio::error::connection_reset;
}

std::optional<std::string> TestClient::read_some(Duration limit) {
  bool done = false;
  error_code result;
  std::string bytes(4096, '\0');
  std::size_t got = 0;
  impl_->socket.async_read_some(asio::buffer(bytes), [&](const error_code& ec, std::size_t n) {
    result = ec;
    got = n;
    done = true;
  });
  if (!impl_->run(done, limit)) return std::nullopt;
  bytes.resize(result ? 0 : got);
  return bytes;
}

namespace {

struct LoadConn : std::enable_shared_from_this<LoadConn> {
  struct Shared {
    asio::io_context& io;
    tcp::endpoint endpoint;
    int total;
    int issued = 0;
    int completed = 0;
    LoadResult result;
    std::function<void(int)> on_response;
  };

  LoadConn(Shared& s) : shared(s), socket(s.io) {}

  void next() {
    if (shared.issued >= shared.total) return;
    ++shared.issued;
    if (!socket.is_open()) {
      socket.async_connect(shared.endpoint, [self = shared_from_this()](const error_code& ec) {
        if (ec) return self->fail("connect: " + ec.message());
        self->send();
      });
      return;
    }
    send();
  }

  void send() {
    request = {};
    request.method(http::verb::get);
    request.target("/");
    request.version(11);
    request.set(http::field::host, "test");
    http::async_write(
        socket, request, [self = shared_from_this()](const error_code& ec, std::size_t) {
          if (ec) return self->fail("write: " + ec.message());
          self->parser.emplace();
          http::async_read(
              self->socket, self->buffer, *self->parser, [self](const error_code& ec, std::size_t) {
                if (ec) return self->fail("read: " + ec.message());
                const auto& response = self->parser->get();
                if (response.result_int() == 200) {
                  ++self->shared.result.ok;
                  ++self->shared.result.by_backend[std::string(response["X-Backend"])];
                } else {
                  self->shared.result.failures.push_back("status " +
                                                         std::to_string(response.result_int()));
                }
                self->completed();
              });
        });
  }

  void fail(const std::string& what) {
    shared.result.failures.push_back(what);
    error_code ignored;
    socket.close(ignored);
    buffer.clear();
    completed();
  }

  void completed() {
    ++shared.completed;
    if (shared.on_response) shared.on_response(shared.completed);
    next();
  }

  Shared& shared;
  tcp::socket socket;
  beast::flat_buffer buffer;
  http::request<http::empty_body> request;
  std::optional<http::response_parser<http::string_body>> parser;
};

}  // namespace

LoadResult run_load(std::uint16_t port, int connections, int total,
                    std::function<void(int)> on_response, Duration limit) {
  asio::io_context io;
  LoadConn::Shared shared{io,
                          tcp::endpoint(asio::ip::make_address("127.0.0.1"), port),
                          total,
                          0,
                          0,
                          LoadResult{},
                          std::move(on_response)};
  std::vector<std::shared_ptr<LoadConn>> conns;
  for (int i = 0; i < connections; ++i) {
    conns.push_back(std::make_shared<LoadConn>(shared));
    conns.back()->next();
  }
  io.run_for(limit);
  if (shared.completed < total) {
    shared.result.failures.push_back("time limit: " + std::to_string(shared.completed) + " of " +
                                     std::to_string(total) + " completed");
  }
  for (auto& c : conns) {
    error_code ignored;
    c->socket.close(ignored);
  }
  io.restart();
  io.run();
  return shared.result;
}

// Every request smuggling vector we know of, and the status the balancer answers it with. The
// same table runs through a live balancer in balancer_test.cpp, which checks that the target
// receives nothing.
const std::vector<RefusedRequest>& refused_requests() {
  static const std::vector<RefusedRequest> rows = {
      {"Content-Length and chunked",
       "POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
      {"chunked then Content-Length",
       "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n", 400},
      {"Transfer-Encoding not ending in chunked",
       "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 400},
      {"chunked, then another coding",
       "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400},
      {"chunked twice in one field",
       "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", 400},
      {"chunked in two fields",
       "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"
       "0\r\n\r\n",
       400},
      {"gzip field then chunked field",
       "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
       400},
      {"xchunked", "POST / HTTP/1.1\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n", 400},
      {"empty coding after chunked",
       "POST / HTTP/1.1\r\nTransfer-Encoding: chunked,\r\n\r\n0\r\n\r\n", 400},
      {"vertical tab before chunked",
       "POST / HTTP/1.1\r\nTransfer-Encoding: \x0b"
       "chunked\r\n\r\n0\r\n\r\n",
       400},
      {"chunked in an HTTP/1.0 request",
       "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
      {"gzip Transfer-Encoding and Content-Length",
       "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\nContent-Length: 3\r\n\r\nabc", 400},
      {"differing Content-Lengths",
       "POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400},
      {"identical Content-Lengths (refused, not folded)",
       "POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc", 400},
      {"Content-Length list", "POST / HTTP/1.1\r\nContent-Length: 3, 3\r\n\r\nabc", 400},
      {"Content-Length with a sign", "POST / HTTP/1.1\r\nContent-Length: +3\r\n\r\nabc", 400},
      {"negative Content-Length", "POST / HTTP/1.1\r\nContent-Length: -3\r\n\r\nabc", 400},
      {"hex Content-Length", "POST / HTTP/1.1\r\nContent-Length: 0x3\r\n\r\nabc", 400},
      {"Content-Length overflow",
       "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\nabc", 400},
      {"empty Content-Length", "POST / HTTP/1.1\r\nContent-Length: \r\n\r\nabc", 400},
      {"space before colon", "POST / HTTP/1.1\r\nContent-Length : 3\r\n\r\nabc", 400},
      {"tab before colon", "POST / HTTP/1.1\r\nTransfer-Encoding\t: chunked\r\n\r\n0\r\n\r\n", 400},
      {"space in a field name", "GET / HTTP/1.1\r\nX Y: 3\r\n\r\n", 400},
      {"empty field name", "GET / HTTP/1.1\r\n: 3\r\n\r\n", 400},
      {"bracket in a field name", "GET / HTTP/1.1\r\n[x]: 3\r\n\r\n", 400},
      {"control byte in a field name", "GET / HTTP/1.1\r\nX\x01Y: 3\r\n\r\n", 400},
      {"NUL in a value", std::string("GET / HTTP/1.1\r\nX: a\0b\r\n\r\n", 26), 400},
      {"bare CR in a value", "GET / HTTP/1.1\r\nX: a\rb\r\n\r\n", 400},
      {"bare LF line ends", "GET / HTTP/1.1\nHost: h\n\n", 400},
      {"obsolete line folding", "GET / HTTP/1.1\r\nX-A: one\r\n two\r\nHost: h\r\n\r\n", 400},
      {"folding of the first field", "GET / HTTP/1.1\r\n X: a\r\n\r\n", 400},
      {"folded Transfer-Encoding",
       "POST / HTTP/1.1\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n", 400},
      {"two Host fields", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
      {"HTTP/1.2", "GET / HTTP/1.2\r\n\r\n", 400},
      {"HTTP/2.0 over HTTP/1 framing", "GET / HTTP/2.0\r\n\r\n", 400},
      {"space in the target", "GET /a b HTTP/1.1\r\n\r\n", 400},
      {"not HTTP", "hello there\r\n\r\n", 400},
      {"bad chunk size", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400},
      {"chunk size with 0x",
       "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0x3\r\nabc\r\n0\r\n\r\n", 400},
      {"negative chunk size",
       "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n-3\r\nabc\r\n0\r\n\r\n", 400},
      {"space before the chunk size",
       "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n 3\r\nabc\r\n0\r\n\r\n", 400},
      {"space after the chunk size",
       "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3 \r\nabc\r\n0\r\n\r\n", 400},
      {"chunk size overflow",
       "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000003\r\nabc\r\n0\r\n\r\n",
       400},
      {"empty chunk extension",
       "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;\r\nabc\r\n0\r\n\r\n", 400},
      {"bare LF in a chunk extension",
       "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;a\nb\r\nabc\r\n0\r\n\r\n", 400},
      {"bare LF after the chunk size",
       "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\n", 400},
      {"chunk longer than its size",
       "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n0\r\n\r\n", 400},
      {"Content-Length in the trailer",
       "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nContent-Length: 5\r\n\r\n", 400},
      {"folding in the trailer",
       "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: 5\r\n 6\r\n\r\n", 400},
  };
  return rows;
}

struct BlackHole::Impl {
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::vector<std::unique_ptr<tcp::socket>> fillers;
};

BlackHole::BlackHole() : impl_(std::make_unique<Impl>()) {
  const tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), 0);
  impl_->acceptor.open(endpoint.protocol());
  impl_->acceptor.bind(endpoint);
  impl_->acceptor.listen(0);
  port_ = impl_->acceptor.local_endpoint().port();
  // With a backlog of 0 the queue holds one connection nobody accepts; later SYNs are dropped.
  auto filler = std::make_unique<tcp::socket>(impl_->io);
  filler->connect(impl_->acceptor.local_endpoint());
  impl_->fillers.push_back(std::move(filler));
}

BlackHole::~BlackHole() = default;

std::uint16_t closed_port() {
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return acceptor.local_endpoint().port();
}

}  // namespace flotilla::testing
