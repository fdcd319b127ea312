#include "worker/server.h"

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http.hpp>
#include <cassert>
#include <csignal>
#include <deque>
#include <optional>
#include <thread>
#include <unordered_set>
#include <utility>

#include "core/accept_backoff.h"
#include "core/errors.h"
#include "worker/control.h"
#include "worker/status_json.h"
#include "worker/worker_model.h"

namespace flotilla {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;

namespace {

// A body that is read and dropped: the request framing (Content-Length or chunked) is honoured so
// that the next request on a keep-alive connection starts where it should, but nothing is stored.
struct DiscardBody {
  struct value_type {};
  class reader {
   public:
    template <bool isRequest, class Fields>
    reader(http::header<isRequest, Fields>&, value_type&) {}
    void init(const boost::optional<std::uint64_t>&, beast::error_code& ec) { ec = {}; }
    template <class ConstBufferSequence>
    std::size_t put(const ConstBufferSequence& buffers, beast::error_code& ec) {
      ec = {};
      return asio::buffer_size(buffers);
    }
    void finish(beast::error_code& ec) { ec = {}; }
  };
};

constexpr std::uint64_t kMaxRequestBody = 64ull << 20;
constexpr std::string_view kWorkerHeader = "X-Flotilla-Worker";

}  // namespace

class WorkerServer::Impl {
 public:
  class Session;

  Impl(WorkerProfile profile, std::string worker_id, std::uint64_t seed, std::string host,
       std::uint16_t port);
  ~Impl();

  void start_accepting();
  void shutdown_on_signals();
  void do_shutdown();
  // crash_after ran out: every connection is dropped unanswered and run() returns.
  void crash();
  Time now() const { return SteadyClock::now() - started_; }
  bool shutting_down() const { return model_.shutting_down(); }

  // Work admission and slots (the model decides; queue_ holds the sessions it counts as queued).
  void admit(const std::shared_ptr<Session>& session, Arrival arrival);
  Completion finish_service();

  // Declared before ioc_ so that sessions destroyed with the io_context can still unregister.
  std::unordered_set<Session*> sessions_;
  bool tearing_down_ = false;
  std::atomic<bool> crashed_{false};

  const WorkerProfile profile_;
  const std::string worker_id_;
  const std::string host_;
  std::uint16_t port_ = 0;
  const SteadyClock::time_point started_;
  ServiceTimeSampler sampler_;
  WorkerModel model_;

  asio::io_context ioc_{1};
  tcp::acceptor acceptor_{ioc_};
  AcceptBackoff accept_backoff_{ioc_};
  asio::steady_timer drain_timer_{ioc_};
  std::optional<asio::signal_set> signals_;
  std::deque<std::shared_ptr<Session>> queue_;
  std::thread thread_;
};

// One connection: read a request, answer it (at once, or after a slot's service time), repeat
// while keep-alive holds. The next request is read only after the response is written.
class WorkerServer::Impl::Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Impl& server, tcp::socket socket) : server_(server), socket_(std::move(socket)) {
    server_.sessions_.insert(this);
  }
  ~Session() {
    server_.sessions_.erase(this);
    // The drain timer exists only to close stuck readers; with none left it must not hold run().
    if (!server_.tearing_down_ && server_.shutting_down() && server_.sessions_.empty())
      server_.drain_timer_.cancel();
  }

  void start() { do_read(); }

  // At shutdown: idle keep-alive connections close; one mid-request may finish its request,
  // which then counts as work that arrived before the shutdown.
  void close_if_idle() {
    if (state_ != State::kReading) return;
    if (control_parser_ || (parser_ && parser_->got_some()))
      caught_by_shutdown_ = true;
    else
      close();
  }
  void close_if_reading() {
    if (state_ == State::kReading) close();
  }

  void serve_for(Duration service_time) {
    service_timer_.expires_after(service_time);
    service_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      const Completion done = self->server_.finish_service();
      if (ec) return self->close();
      self->crash_after_write_ = done.crash;
      if (done.status == 500)
        return self->answer(http::status::internal_server_error, "error\n", "text/plain");
      self->answer(http::status::ok, "ok\n", "text/plain");
    });
  }

  // An answer to work or to a health check: it waits for the latency fault's delay first.
  void answer(http::status status, std::string_view body, std::string_view content_type) {
    prepare(status, body, content_type);
    const Duration delay = server_.model_.answer_delay();
    if (delay <= Duration::zero()) return write();
    state_ = State::kWaiting;
    service_timer_.expires_after(delay);
    service_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec) return self->close();
      self->write();
    });
  }

  // Any other answer, at once.
  void respond(http::status status, std::string_view body, std::string_view content_type) {
    prepare(status, body, content_type);
    write();
  }

  // Drops the connection unanswered (a crashed process's sockets).
  void abort() { close(); }

 private:
  enum class State { kReading, kWaiting, kWriting };

  void do_read() {
    state_ = State::kReading;
    head_ = false;
    control_parser_.reset();
    parser_.emplace();
    parser_->body_limit(kMaxRequestBody);
    http::async_read_header(
        socket_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_header(ec); });
  }

  // Clients such as curl send "Expect: 100-continue" with larger bodies and wait for the
  // interim response before sending the body.
  void on_header(beast::error_code ec) {
    if (ec) return on_read(ec);
    // A control request's body is kept (it is the message); work's is dropped.
    if (is_control_target(parser_->get().target())) {
      control_parser_.emplace(std::move(*parser_));
      control_parser_->body_limit(kMaxControlBody);
      parser_.reset();
    }
    if (beast::iequals(header()[http::field::expect], "100-continue")) {
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      return asio::async_write(socket_, asio::buffer(kContinue.data(), kContinue.size()),
                               [self = shared_from_this()](beast::error_code e, std::size_t) {
                                 if (e) return self->on_read(e);
                                 self->read_body();
                               });
    }
    read_body();
  }

  void read_body() {
    auto on_body = [self = shared_from_this()](beast::error_code ec, std::size_t) {
      self->on_read(ec);
    };
    if (control_parser_) return http::async_read(socket_, buffer_, *control_parser_, on_body);
    http::async_read(socket_, buffer_, *parser_, on_body);
  }

  const http::request_header<>& header() const {
    return control_parser_ ? control_parser_->get().base() : parser_->get().base();
  }

  void on_read(beast::error_code ec) {
    state_ = State::kWaiting;
    if (ec) {
      // A malformed request gets a 400 before the close; a closed or reset connection nothing.
      const bool malformed =
          ec.category() == http::make_error_code(http::error::need_more).category() &&
          ec != http::error::end_of_stream && ec != http::error::partial_message;
      if (malformed && socket_.is_open()) {
        keep_alive_ = false;
        return respond(http::status::bad_request, "bad request\n", "text/plain");
      }
      return close();
    }
    const auto& req = header();
    version_ = req.version();
    keep_alive_ = control_parser_ ? control_parser_->keep_alive() : parser_->keep_alive();
    head_ = req.method() == http::verb::head;
    std::string_view path = req.target();
    path = path.substr(0, path.find('?'));
    if (control_parser_) {
      const ControlAnswer a =
          control_request(req.method_string(), req.target(), control_parser_->get().body(),
                          server_.model_, server_.now());
      prepare(static_cast<http::status>(a.status), a.body, "application/json");
      if (!a.allow.empty()) res_.set(http::field::allow, a.allow);
      self_signal_after_write_ = a.then;
      write();
    } else if (path == "/health") {
      const WorkerHealth health = server_.model_.health(server_.now());
      answer(
          health == WorkerHealth::kHealthy ? http::status::ok : http::status::service_unavailable,
          std::string(to_string(health)) + "\n", "text/plain");
    } else if (path == "/metrics") {
      respond(http::status::ok,
              worker_status_json(server_.worker_id_, server_.model_.status(server_.now())),
              "application/json");
    } else {
      server_.admit(shared_from_this(),
                    caught_by_shutdown_ ? Arrival::kBeforeShutdown : Arrival::kNew);
    }
  }

  void prepare(http::status status, std::string_view body, std::string_view content_type) {
    res_.clear();
    res_.result(status);
    res_.version(version_);
    res_.set(kWorkerHeader, server_.worker_id_);
    res_.set(http::field::content_type, content_type);
    res_.body().assign(body.data(), body.size());
    res_.prepare_payload();
    // A response to HEAD announces the body's length but carries none.
    if (head_) res_.body().clear();
  }

  void write() {
    res_.keep_alive(keep_alive_ && !server_.shutting_down());
    state_ = State::kWriting;
    http::async_write(
        socket_, res_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_write(ec); });
  }

  void on_write(beast::error_code ec) {
    // The last answer before a crash is sent (or its connection failed): then nothing more.
    if (crash_after_write_) return server_.crash();
    if (self_signal_after_write_) suffer_self_signal(*std::exchange(self_signal_after_write_, {}));
    // Once shutting down a connection is not read again: the response said, or should have
    // said, Connection: close.
    if (ec || !res_.keep_alive() || server_.shutting_down()) return close();
    do_read();
  }

  void close() {
    beast::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

  Impl& server_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<DiscardBody>> parser_;
  std::optional<http::request_parser<http::string_body>> control_parser_;
  http::response<http::string_body> res_;
  asio::steady_timer service_timer_{socket_.get_executor()};
  State state_ = State::kReading;
  unsigned version_ = 11;
  bool keep_alive_ = true;
  bool head_ = false;
  bool caught_by_shutdown_ = false;
  bool crash_after_write_ = false;
  std::optional<SelfSignal> self_signal_after_write_;
};

WorkerServer::Impl::Impl(WorkerProfile profile, std::string worker_id, std::uint64_t seed,
                         std::string host, std::uint16_t port)
    : profile_(std::move(profile)),
      worker_id_(std::move(worker_id)),
      host_(std::move(host)),
      started_(SteadyClock::now()),
      sampler_(profile_.service_time, seed),
      model_(profile_, Time::zero(), WorkerModel::CpuWindow::kProfile, seed) {
  beast::error_code ec;
  const auto address = asio::ip::make_address(host_, ec);
  if (ec)
    throw UserError("host \"" + host_ +
                    "\" is not usable: expected an IP address such as 127.0.0.1");
  const tcp::endpoint endpoint(address, port);
  const std::string where = host_ + ":" + std::to_string(port);
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (ec == asio::error::address_in_use) throw UserError(where + " is already in use");
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec == asio::error::address_in_use) throw UserError(where + " is already in use");
  if (ec) throw UserError(where + ": cannot listen (" + ec.message() + ")");
  port_ = acceptor_.local_endpoint().port();
  start_accepting();
}

WorkerServer::Impl::~Impl() {
  if (thread_.joinable()) thread_.join();
  tearing_down_ = true;
}

void WorkerServer::Impl::start_accepting() {
  acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (shutting_down() || ec == asio::error::operation_aborted) return;
    if (!ec) {
      socket.set_option(tcp::no_delay(true), ec);
      std::make_shared<Session>(*this, std::move(socket))->start();
    }
    accept_backoff_.next(ec, [this] {
      if (!shutting_down() && !crashed_) start_accepting();
    });
  });
}

void WorkerServer::Impl::shutdown_on_signals() {
  signals_.emplace(ioc_, SIGINT, SIGTERM);
  signals_->async_wait([this](beast::error_code ec, int) {
    if (!ec) do_shutdown();
  });
}

void WorkerServer::Impl::do_shutdown() {
  if (shutting_down()) return;
  model_.begin_shutdown();
  beast::error_code ignored;
  acceptor_.close(ignored);
  accept_backoff_.cancel();
  if (signals_) {
    signals_->clear(ignored);  // restores the default action: a second signal ends the process
    signals_->cancel(ignored);
  }
  for (Session* s : sessions_) s->close_if_idle();
  if (!sessions_.empty()) {
    drain_timer_.expires_after(kShutdownReadGrace);
    drain_timer_.async_wait([this](beast::error_code ec) {
      if (ec) return;
      for (Session* s : sessions_) s->close_if_reading();
    });
  }
}

void WorkerServer::Impl::admit(const std::shared_ptr<Session>& session, Arrival arrival) {
  const Admission admission = model_.admit(now(), arrival);
  if (admission == Admission::kServe)
    return session->serve_for(model_.service_time(sampler_.next()));
  if (admission == Admission::kQueued) return queue_.push_back(session);
  session->answer(http::status::service_unavailable, std::string(to_string(admission)) + "\n",
                  "text/plain");
}

Completion WorkerServer::Impl::finish_service() {
  const Completion done = model_.complete(now());
  if (done.starts_next) {
    assert(!queue_.empty());
    auto next = std::move(queue_.front());
    queue_.pop_front();
    next->serve_for(model_.service_time(sampler_.next()));
  }
  assert(queue_.size() == static_cast<std::size_t>(model_.queued()));
  return done;
}

void WorkerServer::Impl::crash() {
  crashed_ = true;
  beast::error_code ignored;
  acceptor_.close(ignored);
  accept_backoff_.cancel();
  for (Session* s : sessions_) s->abort();
  ioc_.stop();
}

WorkerServer::WorkerServer(WorkerProfile profile, std::string worker_id, std::uint64_t seed,
                           std::string host, std::uint16_t port)
    : impl_(std::make_unique<Impl>(std::move(profile), std::move(worker_id), seed, std::move(host),
                                   port)) {}

WorkerServer::~WorkerServer() {
  if (impl_->thread_.joinable()) {
    begin_shutdown();
    join();
  }
}

std::uint16_t WorkerServer::port() const { return impl_->port_; }
const std::string& WorkerServer::host() const { return impl_->host_; }

void WorkerServer::shutdown_on_signals() { impl_->shutdown_on_signals(); }

void WorkerServer::run() { impl_->ioc_.run(); }

bool WorkerServer::crashed() const { return impl_->crashed_; }

void WorkerServer::start_in_thread() {
  assert(!impl_->thread_.joinable());
  impl_->thread_ = std::thread([this] { run(); });
}

void WorkerServer::join() {
  if (impl_->thread_.joinable()) impl_->thread_.join();
}

void WorkerServer::begin_shutdown() {
  asio::post(impl_->ioc_, [impl = impl_.get()] { impl->do_shutdown(); });
}

}  // namespace flotilla
