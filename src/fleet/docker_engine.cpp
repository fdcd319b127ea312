#include "fleet/docker_engine.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <nlohmann/json.hpp>
#include <utility>

#include "core/duration.h"
#include "core/errors.h"

namespace flotilla {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using Local = asio::local::stream_protocol;

namespace {

// The tasks of a few hundred services fit many times over.
constexpr std::uint64_t kMaxBody = 64 * 1024 * 1024;

http::request<http::string_body> make_request(const std::string& method, const std::string& target,
                                              const std::string& body) {
  http::request<http::string_body> req;
  req.method_string(method);
  req.target(target);
  req.version(11);
  // HTTP/1.1 requires a Host; the engine ignores its value.
  req.set(http::field::host, "docker");
  req.set(http::field::connection, "close");
  if (!body.empty()) req.set(http::field::content_type, "application/json");
  req.body() = body;
  req.prepare_payload();
  return req;
}

// Connects `socket` to `path` and writes `req` (both owned by `owner`, which the handlers keep
// alive); then next(), or fail(why).
template <class Owner, class Fail, class Next>
void connect_and_send(std::shared_ptr<Owner> owner, Local::socket& socket, const std::string& path,
                      const http::request<http::string_body>& req, Fail fail, Next next) {
  socket.async_connect(Local::endpoint(path), [owner, &socket, &req, path, fail,
                                               next](const beast::error_code& ec) {
    if (ec) return fail("connect " + path + ": " + ec.message());
    http::async_write(socket, req, [owner, fail, next](const beast::error_code& ec, std::size_t) {
      if (ec) return fail("write: " + ec.message());
      next();
    });
  });
}

// One request on its own connection, finished once: by the answer, an error or the timer.
struct Exchange : std::enable_shared_from_this<Exchange> {
  Exchange(asio::io_context& io, std::shared_ptr<bool> alive,
           std::function<void(EngineResponse)> done)
      : socket(io), timer(io), alive(std::move(alive)), done(std::move(done)) {
    parser.body_limit(kMaxBody);
  }

  void start(const std::string& path, Duration timeout) {
    timer.expires_after(timeout);
    timer.async_wait([self = shared_from_this(), timeout](const beast::error_code& ec) {
      if (!ec) self->finish("no answer within " + format_duration(timeout));
    });
    auto self = shared_from_this();
    connect_and_send(
        self, socket, path, req, [self](const std::string& why) { self->finish(why); },
        [self] {
          http::async_read(self->socket, self->buffer, self->parser,
                           [self](const beast::error_code& ec, std::size_t) {
                             self->finish(ec ? "read: " + ec.message() : "");
                           });
        });
  }

  // `error` empty: the answer is in the parser.
  void finish(const std::string& error) {
    if (finished) return;
    finished = true;
    beast::error_code ignored;
    timer.cancel();
    socket.close(ignored);
    EngineResponse r;
    r.ok = error.empty();
    r.error = error;
    if (r.ok) {
      r.status = static_cast<int>(parser.get().result_int());
      r.body = std::move(parser.get().body());
    }
    if (*alive) done(std::move(r));
  }

  Local::socket socket;
  asio::steady_timer timer;
  beast::flat_buffer buffer;
  http::request<http::string_body> req;
  http::response_parser<http::string_body> parser;
  std::shared_ptr<bool> alive;
  std::function<void(EngineResponse)> done;
  bool finished = false;
};

class FollowStream final : public DockerEngine::Stream,
                           public std::enable_shared_from_this<FollowStream> {
 public:
  FollowStream(asio::io_context& io, std::function<void(std::string_view)> on_data,
               std::function<void(const std::string&)> on_end)
      : socket_(io), on_data_(std::move(on_data)), on_end_(std::move(on_end)) {
    parser_.body_limit(boost::none);
  }

  void start(const std::string& path, const std::string& target) {
    req_ = make_request("GET", target, "");
    auto self = shared_from_this();
    connect_and_send(
        self, socket_, path, req_, [self](const std::string& why) { self->end(why); },
        [self] {
          http::async_read_header(
              self->socket_, self->buffer_, self->parser_,
              [self](const beast::error_code& ec, std::size_t) { self->on_header(ec); });
        });
  }

  void cancel() override {
    ended_ = true;
    beast::error_code ignored;
    socket_.close(ignored);
  }

 private:
  void on_header(const beast::error_code& ec) {
    if (ec) return end("read: " + ec.message());
    if (parser_.get().result_int() != 200) {
      // The error's body is short: read it whole for its message.
      status_ = static_cast<int>(parser_.get().result_int());
    }
    read_more();
  }

  void read_more() {
    parser_.get().body().data = chunk_;
    parser_.get().body().size = sizeof chunk_;
    // read_some: a piece as soon as it arrives (async_read would wait for a full buffer).
    http::async_read_some(
        socket_, buffer_, parser_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
          if (ec == http::error::need_buffer) ec = {};
          if (self->ended_) return;
          const std::size_t n = sizeof self->chunk_ - self->parser_.get().body().size;
          const std::string_view piece(self->chunk_, n);
          if (self->status_ != 0) {
            self->error_body_.append(piece);
          } else if (n > 0) {
            self->on_data_(piece);
          }
          if (self->ended_) return;
          if (ec && ec != http::error::end_of_stream) return self->end("read: " + ec.message());
          if (ec || self->parser_.is_done()) return self->end_of_body();
          self->read_more();
        });
  }

  void end_of_body() {
    if (status_ == 0) return end("");
    EngineResponse r{true, "", status_, error_body_};
    end("status " + std::to_string(status_) + ": " + r.message());
  }

  void end(const std::string& why) {
    if (ended_) return;
    ended_ = true;
    beast::error_code ignored;
    socket_.close(ignored);
    on_end_(why);
  }

  Local::socket socket_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> req_;
  http::response_parser<http::buffer_body> parser_;
  char chunk_[8192];
  int status_ = 0;
  std::string error_body_;
  std::function<void(std::string_view)> on_data_;
  std::function<void(const std::string&)> on_end_;
  bool ended_ = false;
};

// The Stream handed out: cancels the shared stream when it goes, so that handlers still queued
// find it ended and call nothing.
class StreamHandle final : public DockerEngine::Stream {
 public:
  explicit StreamHandle(std::shared_ptr<FollowStream> stream) : stream_(std::move(stream)) {}
  ~StreamHandle() override { stream_->cancel(); }
  void cancel() override { stream_->cancel(); }

 private:
  std::shared_ptr<FollowStream> stream_;
};

}  // namespace

std::string docker_socket_path(const char* docker_host) {
  if (docker_host == nullptr || *docker_host == '\0') return std::string(kDefaultDockerSocket);
  constexpr std::string_view kUnix = "unix://";
  const std::string_view value(docker_host);
  if (!value.starts_with(kUnix) || value.size() == kUnix.size())
    throw UserError("DOCKER_HOST=" + std::string(value) +
                    ": expected the engine's unix socket, e.g. unix:///var/run/docker.sock (the "
                    "swarm provider speaks to a manager's local socket only)");
  return std::string(value.substr(kUnix.size()));
}

std::string url_encode(std::string_view text) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string EngineResponse::message() const {
  if (status >= 200 && status < 300) return body;
  const auto doc = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_object() && doc.contains("message") && doc["message"].is_string())
    return doc["message"].get<std::string>();
  return body;
}

DockerEngine::DockerEngine(asio::io_context& io, std::string socket_path, Duration timeout)
    : io_(io), socket_path_(std::move(socket_path)), timeout_(timeout) {}

DockerEngine::~DockerEngine() { *alive_ = false; }

void DockerEngine::request(std::string method, std::string target, std::string body,
                           std::function<void(EngineResponse)> done) {
  auto exchange = std::make_shared<Exchange>(io_, alive_, std::move(done));
  exchange->req = make_request(method, target, body);
  exchange->start(socket_path_, timeout_);
}

std::unique_ptr<DockerEngine::Stream> DockerEngine::follow(
    std::string target, std::function<void(std::string_view)> on_data,
    std::function<void(const std::string&)> on_end) {
  auto stream = std::make_shared<FollowStream>(io_, std::move(on_data), std::move(on_end));
  stream->start(socket_path_, target);
  return std::make_unique<StreamHandle>(std::move(stream));
}

EngineResponse DockerEngine::request_now(const std::string& method, const std::string& target,
                                         const std::string& body) const {
  asio::io_context io;
  EngineResponse out;
  auto exchange = std::make_shared<Exchange>(io, std::make_shared<bool>(true),
                                             [&out](EngineResponse r) { out = std::move(r); });
  exchange->req = make_request(method, target, body);
  exchange->start(socket_path_, timeout_);
  io.run();
  return out;
}

void LogDemultiplexer::feed(std::string_view bytes,
                            const std::function<void(int, std::string_view)>& out) {
  constexpr std::size_t kHeader = 8;
  pending_.append(bytes);
  std::size_t at = 0;
  while (pending_.size() - at >= kHeader) {
    const auto* h = reinterpret_cast<const unsigned char*>(pending_.data() + at);
    const std::size_t length = (std::size_t{h[4]} << 24) | (std::size_t{h[5]} << 16) |
                               (std::size_t{h[6]} << 8) | std::size_t{h[7]};
    if (pending_.size() - at - kHeader < length) break;
    out(h[0], std::string_view(pending_).substr(at + kHeader, length));
    at += kHeader + length;
  }
  pending_.erase(0, at);
}

}  // namespace flotilla
