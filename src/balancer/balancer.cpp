// The proxy. One IoThread per configured thread: its own io_context, picker, view of the
// targets, upstream pools and counters, so the request path takes no lock shared with another
// thread. Thread 0 also owns the listener and hands accepted sockets to the threads in turn.
//
// A Session is one client connection. It handles one exchange at a time:
//   read request header -> (read the rest of the body while it fits) -> pick a target ->
//   take a pooled connection or connect -> write the request as received (one gather write) ->
//   read the response header -> write it and what body arrived with it -> stream the rest.
// Deadlines are checked by one sweep per thread, not by a timer per operation.
#include "balancer/balancer.h"

#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/error.hpp>
#include <cassert>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <optional>
#include <thread>

#include "balancer/picker.h"
#include "balancer/proxy_http.h"
#include "core/errors.h"
#include "core/random.h"

namespace flotilla {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using SteadyClock = std::chrono::steady_clock;
using proxy::HeaderInfo;
using proxy::RequestParser;
using proxy::ResponseParser;

// A whole request up to this size is kept until its response starts, so it can be replayed on
// another target; larger bodies are streamed and cannot be retried once streaming began.
constexpr std::size_t kClientBufferSize = 32 * 1024;
constexpr std::size_t kUpstreamBufferSize = 16 * 1024;
constexpr std::uint32_t kHeaderLimit = 16 * 1024;
constexpr std::size_t kMaxIdlePerTarget = 256;  // per IO thread
constexpr Duration kUpstreamIdleTimeout = 30s;

// Single writer (the owning IO thread), any reader: a relaxed load+store is enough and avoids a
// locked read-modify-write on the hot path.
template <typename T>
void bump(std::atomic<T>& counter, T delta = 1) {
  counter.store(counter.load(std::memory_order_relaxed) + delta, std::memory_order_relaxed);
}
template <typename T>
T read(const std::atomic<T>& counter) {
  return counter.load(std::memory_order_relaxed);
}

struct alignas(64) ThreadCounters {
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> responses_2xx{0};
  std::atomic<std::uint64_t> responses_3xx{0};
  std::atomic<std::uint64_t> responses_4xx{0};
  std::atomic<std::uint64_t> responses_5xx{0};
  std::atomic<std::uint64_t> elb_400{0};
  std::atomic<std::uint64_t> elb_502{0};
  std::atomic<std::uint64_t> elb_503{0};
  std::atomic<std::uint64_t> elb_504{0};
  std::atomic<std::uint64_t> target_connection_errors{0};
  std::atomic<std::uint64_t> retries{0};
  std::atomic<std::int64_t> active_connections{0};
  std::atomic<std::uint64_t> new_connections{0};
};

// One target's counters, one cache line per IO thread.
struct TargetCounters {
  struct alignas(64) Slot {
    std::atomic<std::uint64_t> requests{0};
    std::atomic<std::int64_t> outstanding{0};
    std::atomic<std::uint64_t> errors{0};
  };
  explicit TargetCounters(int threads) : slots(new Slot[threads]) {}
  std::unique_ptr<Slot[]> slots;
};

// What set_targets() publishes: immutable, shared by every IO thread.
struct TargetSpec {
  std::string id;
  tcp::endpoint address;
  std::shared_ptr<TargetCounters> counters;
};
using TargetSnapshot = std::vector<TargetSpec>;

// A bounded byte buffer that never reallocates. Data moves to the front only on compact(), so
// pointers into it stay valid while an exchange is using them.
class ByteBuffer {
 public:
  explicit ByteBuffer(std::size_t capacity) : storage_(new char[capacity]), capacity_(capacity) {}
  const char* data() const { return storage_.get() + begin_; }
  std::size_t size() const { return end_ - begin_; }
  std::size_t space() const { return capacity_ - end_; }
  asio::mutable_buffer prepare() { return {storage_.get() + end_, capacity_ - end_}; }
  void commit(std::size_t n) { end_ += n; }
  void consume(std::size_t n) {
    begin_ += n;
    if (begin_ == end_) begin_ = end_ = 0;
  }
  void compact() {
    if (begin_ == 0) return;
    std::memmove(storage_.get(), storage_.get() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  void clear() { begin_ = end_ = 0; }

 private:
  std::unique_ptr<char[]> storage_;
  std::size_t capacity_;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
};

struct UpstreamConn {
  explicit UpstreamConn(asio::io_context& io) : socket(io), in(kUpstreamBufferSize) {}
  tcp::socket socket;
  ByteBuffer in;
  SteadyClock::time_point idle_since{};
};

// A pooled connection the target closed (or wrote to unasked) while idle is dead: the peek reads
// the EOF without consuming anything and without blocking.
bool idle_connection_usable(tcp::socket& socket) {
  char byte;
  const ssize_t n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n >= 0) return false;
  return errno == EAGAIN || errno == EWOULDBLOCK;
}

void close_quietly(tcp::socket& socket) {
  error_code ignored;
  socket.close(ignored);
}

// One IO thread's view of a target. `outstanding` counts this thread's requests only: with N
// threads, least_outstanding_requests balances each thread's share of the traffic on its own,
// which needs no state shared between threads.
struct LocalTarget {
  std::string id;
  tcp::endpoint address;
  std::shared_ptr<TargetCounters> counters;
  std::uint32_t outstanding = 0;
  std::vector<std::unique_ptr<UpstreamConn>> idle;
  bool removed = false;
};

class Session;

// The balancer's own responses. ALB-like bodies; never a target's address.
struct CannedResponse {
  std::string head_keep_alive;
  std::string head_close;
  std::string body;
};

CannedResponse make_canned(int status, std::string_view reason) {
  CannedResponse r;
  r.body = "<html>\r\n<head><title>" + std::to_string(status) + " " + std::string(reason) +
           "</title></head>\r\n<body>\r\n<center><h1>" + std::to_string(status) + " " +
           std::string(reason) + "</h1></center>\r\n</body>\r\n</html>\r\n";
  const std::string head = "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) +
                           "\r\nServer: flotilla\r\nContent-Type: text/html\r\nContent-Length: " +
                           std::to_string(r.body.size()) + "\r\n";
  r.head_keep_alive = head + "Connection: keep-alive\r\n\r\n";
  r.head_close = head + "Connection: close\r\n\r\n";
  return r;
}

enum class Canned { k400, k502, k503, k504 };

const CannedResponse& canned(Canned which) {
  static const CannedResponse k400 = make_canned(400, "Bad Request");
  static const CannedResponse k502 = make_canned(502, "Bad Gateway");
  static const CannedResponse k503 = make_canned(503, "Service Temporarily Unavailable");
  static const CannedResponse k504 = make_canned(504, "Gateway Time-out");
  switch (which) {
    case Canned::k400:
      return k400;
    case Canned::k502:
      return k502;
    case Canned::k503:
      return k503;
    case Canned::k504:
      return k504;
  }
  return k502;
}

constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

// Keeps an io_context's run() going while it has nothing to do (the TS work guard is disabled
// by BOOST_ASIO_NO_TS_EXECUTORS).
using WorkGuard = decltype(asio::prefer(std::declval<asio::io_context::executor_type>(),
                                        asio::execution::outstanding_work.tracked));

struct IoThread {
  IoThread(int index_, const BalancerConfig& config_, std::uint64_t seed)
      : index(index_),
        config(config_),
        io(1),
        picker(make_picker(config_.algorithm, seed)),
        sweep_timer(io) {}

  void apply(std::shared_ptr<const TargetSnapshot> snapshot);
  void start_sweep(Duration period);
  void sweep();
  void close_idle(LocalTarget& target);
  void shutdown();

  const int index;
  const BalancerConfig& config;
  std::uint16_t listener_port = 0;
  asio::io_context io;
  std::optional<WorkGuard> guard;
  std::thread thread;
  ThreadCounters counters;
  std::unique_ptr<Picker> picker;
  std::vector<std::shared_ptr<LocalTarget>> targets;
  std::vector<PickCandidate> candidates;
  std::vector<Session*> sessions;
  asio::steady_timer sweep_timer;
  Duration sweep_period{1s};
  bool stopping = false;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(IoThread& thread, tcp::socket socket)
      : t_(thread), client_(std::move(socket)), in_(kClientBufferSize) {
    index_ = t_.sessions.size();
    t_.sessions.push_back(this);
    bump(t_.counters.active_connections);
    bump(t_.counters.new_connections);
    tried_.reserve(4);
    out_.reserve(16);
    forwarded_.reserve(128);
  }

  ~Session() {
    release_target(false);
    Session* last = t_.sessions.back();
    t_.sessions[index_] = last;
    last->index_ = index_;
    t_.sessions.pop_back();
    bump<std::int64_t>(t_.counters.active_connections, -1);
  }

  void start() {
    error_code ec;
    client_.set_option(tcp::no_delay(true), ec);
    const auto remote = client_.remote_endpoint(ec);
    client_address_ = ec ? "unknown" : remote.address().to_string();
    do_read_request();
  }

  // Called by the sweep: acts on a passed deadline by closing the socket the pending operation
  // waits on; that operation's handler sees timed_out_ and decides what the client gets.
  void check_deadline(SteadyClock::time_point now) {
    if (phase_ == Phase::kClosed || now < deadline_) return;
    timed_out_ = true;
    switch (phase_) {
      case Phase::kConnecting:
      case Phase::kSendingRequest:
      case Phase::kAwaitingResponse:
      case Phase::kReadingResponseBody:
        if (up_) close_quietly(up_->socket);
        break;
      default:
        close();
        break;
    }
  }

  void close() {
    if (phase_ == Phase::kClosed) return;
    phase_ = Phase::kClosed;
    release_target(false);
    error_code ignored;
    client_.shutdown(tcp::socket::shutdown_both, ignored);
    client_.close(ignored);
  }

 private:
  enum class Phase {
    kReadingRequest,  // also: idle between requests
    kReadingRequestBody,
    kWritingContinue,
    kConnecting,
    kSendingRequest,
    kAwaitingResponse,
    kWritingResponse,
    kReadingResponseBody,
    kWritingError,
    kClosed,
  };
  enum class Failure { kNone, kConnect, kDeadConnection };

  void set_phase(Phase phase, Duration timeout) {
    phase_ = phase;
    deadline_ = SteadyClock::now() + timeout;
  }

  // ---- request ----

  void do_read_request() {
    set_phase(Phase::kReadingRequest, t_.config.client_idle_timeout);
    in_.compact();  // the request starts at in_.data() and stays there until it is finished
    request_parser_.emplace(request_info_, kHeaderLimit);
    request_size_ = 0;
    continue_sent_ = false;
    if (in_.size() > 0) {
      parse_request_header();
    } else {
      read_client(&Session::on_request_read);
    }
  }

  void read_client(void (Session::*handler)(const error_code&, std::size_t)) {
    client_.async_read_some(
        in_.prepare(), [self = shared_from_this(), handler](const error_code& ec, std::size_t n) {
          ((*self).*handler)(ec, n);
        });
  }

  void on_request_read(const error_code& ec, std::size_t n) {
    if (phase_ == Phase::kClosed) return;
    if (ec) return close();
    in_.commit(n);
    parse_request_header();
  }

  void parse_request_header() {
    error_code ec;
    const std::size_t used = request_parser_->feed(in_.data(), in_.size(), ec);
    if (ec == proxy::http::error::need_more) {
      if (in_.space() == 0) return send_error(Canned::k400, true);
      return read_client(&Session::on_request_read);
    }
    if (ec) return send_error(Canned::k400, true);
    request_size_ = used;
    bump(t_.counters.requests);
    on_request_header();
  }

  void on_request_header() {
    const char* message = in_.data();
    if (request_info_.method == proxy::http::verb::connect) return send_error(Canned::k400, true);
    client_keep_alive_ = request_parser_->keep_alive();
    proxy::mark_unforwarded(request_info_, message, true);
    proxy::write_forwarded_fields(request_info_, client_address_, t_.listener_port, forwarded_);
    forwarded_ += "\r\n";
    if (request_parser_->is_done()) return start_forwarding();
    // Read the rest of the body while it fits, so that the request can be replayed.
    if (request_info_.expect_continue && !continue_sent_) {
      continue_sent_ = true;
      set_phase(Phase::kWritingContinue, t_.config.client_idle_timeout);
      asio::async_write(client_, asio::buffer(kContinue.data(), kContinue.size()),
                        [self = shared_from_this()](const error_code& ec, std::size_t) {
                          if (self->phase_ == Phase::kClosed) return;
                          if (ec) return self->close();
                          self->read_request_body();
                        });
      return;
    }
    read_request_body();
  }

  void read_request_body() {
    if (in_.space() == 0) return start_forwarding();  // too big to keep: stream it
    set_phase(Phase::kReadingRequestBody, t_.config.client_idle_timeout);
    read_client(&Session::on_request_body_read);
  }

  void on_request_body_read(const error_code& ec, std::size_t n) {
    if (phase_ == Phase::kClosed) return;
    if (ec) return close();
    in_.commit(n);
    if (!feed_request_body()) return send_error(Canned::k400, true);
    if (request_parser_->is_done()) return start_forwarding();
    read_request_body();
  }

  // Frames the body bytes after request_size_; false on a malformed body.
  bool feed_request_body() {
    error_code ec;
    const std::size_t used =
        request_parser_->feed(in_.data() + request_size_, in_.size() - request_size_, ec);
    request_size_ += used;
    return !ec || ec == proxy::http::error::need_more;
  }

  void start_forwarding() {
    // Everything received so far is still in in_; it stops being replayable only once a
    // streamed body has been partly discarded (on_request_sent).
    replayable_ = true;
    attempts_ = 0;
    last_failure_ = Failure::kNone;
    tried_.clear();
    attempt();
  }

  // ---- choosing a target and a connection ----

  void attempt() {
    if (t_.stopping) return close();
    const int max_attempts = 1 + std::max(0, t_.config.max_retries);
    if (attempts_ >= max_attempts) return fail_exhausted();
    auto& candidates = t_.candidates;
    candidates.clear();
    for (const auto& target : t_.targets) {
      const bool tried = std::find(tried_.begin(), tried_.end(), target.get()) != tried_.end();
      candidates.push_back(PickCandidate{target->outstanding, 1, tried});
    }
    const auto pick = t_.picker->pick(candidates);
    if (!pick) return fail_exhausted();
    if (attempts_ > 0) bump(t_.counters.retries);
    ++attempts_;
    target_ = t_.targets[*pick];
    tried_.push_back(target_.get());
    ++target_->outstanding;
    auto& slot = target_->counters->slots[t_.index];
    bump(slot.requests);
    bump<std::int64_t>(slot.outstanding);
    timed_out_ = false;
    response_started_ = false;

    while (!target_->idle.empty()) {
      auto conn = std::move(target_->idle.back());
      target_->idle.pop_back();
      if (idle_connection_usable(conn->socket)) {
        up_ = std::move(conn);
        return send_request();
      }
      close_quietly(conn->socket);
    }
    up_ = std::make_unique<UpstreamConn>(t_.io);
    set_phase(Phase::kConnecting, t_.config.connect_timeout);
    up_->socket.async_connect(target_->address, [self = shared_from_this()](const error_code& ec) {
      self->on_connect(ec);
    });
  }

  void on_connect(const error_code& ec) {
    if (phase_ == Phase::kClosed) return;
    if (ec) {
      bump(t_.counters.target_connection_errors);
      return retry(Failure::kConnect);
    }
    error_code ignored;
    up_->socket.set_option(tcp::no_delay(true), ignored);
    send_request();
  }

  // The attempt failed before any response byte: try another target if the request is whole.
  void retry(Failure failure) {
    last_failure_ = failure;
    release_target(true);
    if (!replayable_) return send_error(Canned::k502, true);
    attempt();
  }

  void fail_exhausted() {
    // No target, or every one tried: 503 when none could be reached, 502 when one accepted the
    // request and then vanished.
    send_error(last_failure_ == Failure::kDeadConnection ? Canned::k502 : Canned::k503,
               !request_parser_->is_done());
  }

  // Ends the current attempt: the target's in-flight count drops, the connection is closed
  // (a healthy connection is returned to the pool by finish_exchange() instead).
  void release_target(bool failed) {
    if (up_) {
      close_quietly(up_->socket);
      up_.reset();
    }
    if (!target_) return;
    --target_->outstanding;
    auto& slot = target_->counters->slots[t_.index];
    bump<std::int64_t>(slot.outstanding, -1);
    if (failed) bump(slot.errors);
    target_.reset();
  }

  // ---- request to the target ----

  void send_request() {
    set_phase(Phase::kSendingRequest, t_.config.response_timeout);
    const char* message = in_.data();
    out_.clear();
    proxy::append_kept_header(request_info_, message, out_);
    out_.emplace_back(forwarded_.data(), forwarded_.size());
    if (request_size_ > request_info_.header_size) {
      out_.emplace_back(message + request_info_.header_size,
                        request_size_ - request_info_.header_size);
    }
    asio::async_write(up_->socket, out_,
                      [self = shared_from_this()](const error_code& ec, std::size_t) {
                        self->on_request_sent(ec);
                      });
  }

  void on_request_sent(const error_code& ec) {
    if (phase_ == Phase::kClosed) return;
    if (ec) {
      if (timed_out_) return fail_timeout();
      return retry(Failure::kDeadConnection);
    }
    if (!request_parser_->is_done()) {
      // Streaming a body too big to keep: from here on the request cannot be replayed.
      replayable_ = false;
      in_.consume(request_size_);
      in_.compact();
      request_size_ = 0;
      set_phase(Phase::kReadingRequestBody, t_.config.client_idle_timeout);
      return read_client(&Session::on_streamed_body_read);
    }
    await_response();
  }

  void on_streamed_body_read(const error_code& ec, std::size_t n) {
    if (phase_ == Phase::kClosed) return;
    if (ec) return close();
    in_.commit(n);
    if (!feed_request_body() || (request_size_ == 0 && in_.space() == 0)) {
      return send_error(Canned::k400, true);
    }
    set_phase(Phase::kSendingRequest, t_.config.response_timeout);
    asio::async_write(up_->socket, asio::buffer(in_.data(), request_size_),
                      [self = shared_from_this()](const error_code& ec, std::size_t) {
                        self->on_request_sent(ec);
                      });
  }

  // ---- response ----

  void await_response() {
    set_phase(Phase::kAwaitingResponse, t_.config.response_timeout);
    up_->in.compact();
    response_parser_.emplace(response_info_, kHeaderLimit);
    if (request_info_.method == proxy::http::verb::head) response_parser_->skip(true);
    if (up_->in.size() > 0) return parse_response_header();
    read_upstream(&Session::on_response_read);
  }

  void read_upstream(void (Session::*handler)(const error_code&, std::size_t)) {
    up_->socket.async_read_some(
        up_->in.prepare(), [self = shared_from_this(), handler](
                               const error_code& ec, std::size_t n) { ((*self).*handler)(ec, n); });
  }

  void on_response_read(const error_code& ec, std::size_t n) {
    if (phase_ == Phase::kClosed) return;
    if (ec) {
      if (timed_out_) return fail_timeout();
      if (!response_started_ && up_->in.size() == 0) return retry(Failure::kDeadConnection);
      return fail_bad_response();
    }
    up_->in.commit(n);
    parse_response_header();
  }

  void parse_response_header() {
    error_code ec;
    const std::size_t used = response_parser_->feed(up_->in.data(), up_->in.size(), ec);
    if (ec == proxy::http::error::need_more) {
      if (up_->in.space() == 0) return fail_bad_response();
      return read_upstream(&Session::on_response_read);
    }
    if (ec) return fail_bad_response();
    const int status = response_info_.status;
    if (status == 101) return fail_bad_response();  // Upgrade is never forwarded, so never agreed
    if (status / 100 == 1) {
      // Interim response (103 Early Hints, ...): pass it on and wait for the final one.
      response_started_ = true;
      set_phase(Phase::kWritingResponse, t_.config.client_idle_timeout);
      asio::async_write(client_, asio::buffer(up_->in.data(), used),
                        [self = shared_from_this(), used](const error_code& ec, std::size_t) {
                          if (self->phase_ == Phase::kClosed) return;
                          if (ec) return self->close();
                          self->up_->in.consume(used);
                          self->await_response();
                        });
      return;
    }
    response_started_ = true;
    auto& c = t_.counters;
    switch (status / 100) {
      case 2:
        bump(c.responses_2xx);
        break;
      case 3:
        bump(c.responses_3xx);
        break;
      case 4:
        bump(c.responses_4xx);
        break;
      default:
        bump(c.responses_5xx);
        break;
    }
    // The request will not be replayed any more: its bytes can go.
    in_.consume(request_size_);
    request_size_ = 0;

    const char* message = up_->in.data();
    proxy::mark_unforwarded(response_info_, message, false);
    close_after_ = !client_keep_alive_ || response_parser_->need_eof() || t_.stopping;
    if (close_after_) {
      response_extra_ = "Connection: close\r\n\r\n";
    } else if (request_info_.version < 11) {
      response_extra_ = "Connection: keep-alive\r\n\r\n";
    } else {
      response_extra_ = "\r\n";
    }
    out_.clear();
    proxy::append_kept_header(response_info_, message, out_);
    out_.emplace_back(asio::buffer(response_extra_.data(), response_extra_.size()));
    if (used > response_info_.header_size) {
      out_.emplace_back(message + response_info_.header_size, used - response_info_.header_size);
    }
    write_response(used);
  }

  void write_response(std::size_t used) {
    set_phase(Phase::kWritingResponse, t_.config.client_idle_timeout);
    asio::async_write(client_, out_,
                      [self = shared_from_this(), used](const error_code& ec, std::size_t) {
                        self->on_response_written(ec, used);
                      });
  }

  void on_response_written(const error_code& ec, std::size_t used) {
    if (phase_ == Phase::kClosed) return;
    if (ec) return close();
    up_->in.consume(used);
    if (response_parser_->is_done()) return finish_exchange();
    up_->in.compact();
    if (up_->in.space() == 0) {
      // A chunk header longer than the buffer: not something a target sends on purpose.
      release_target(true);
      return close();
    }
    set_phase(Phase::kReadingResponseBody, t_.config.response_timeout);
    read_upstream(&Session::on_response_body_read);
  }

  void on_response_body_read(const error_code& ec, std::size_t n) {
    if (phase_ == Phase::kClosed) return;
    if (ec) {
      if (ec == asio::error::eof && response_parser_->need_eof()) {
        error_code eof_ec;
        response_parser_->put_eof(eof_ec);
        if (!eof_ec) return finish_exchange();
      }
      // Cut off mid-body: the client already has part of the response, so it can only be told
      // by closing its connection.
      release_target(true);
      return close();
    }
    up_->in.commit(n);
    error_code parse_ec;
    const std::size_t used = response_parser_->feed(up_->in.data(), up_->in.size(), parse_ec);
    if (parse_ec && parse_ec != proxy::http::error::need_more) {
      release_target(true);
      return close();
    }
    out_.clear();
    out_.emplace_back(up_->in.data(), used);
    write_response(used);
  }

  void finish_exchange() {
    const bool reusable = response_parser_->keep_alive() && !response_parser_->need_eof() &&
                          up_->in.size() == 0 && !target_->removed && !t_.stopping &&
                          target_->idle.size() < kMaxIdlePerTarget;
    if (reusable) {
      up_->idle_since = SteadyClock::now();
      target_->idle.push_back(std::move(up_));
    }
    release_target(false);
    if (close_after_) return close();
    do_read_request();
  }

  // ---- the balancer's own responses ----

  void fail_timeout() {
    release_target(true);
    if (response_started_) return close();
    send_error(Canned::k504, !request_parser_->is_done());
  }

  void fail_bad_response() {
    release_target(true);
    if (response_started_) return close();
    send_error(Canned::k502, !request_parser_->is_done());
  }

  // `close_after`: the request's framing is unknown or its body unread, so the connection
  // cannot carry another request.
  void send_error(Canned which, bool close_after) {
    release_target(false);
    auto& c = t_.counters;
    switch (which) {
      case Canned::k400:
        bump(c.elb_400);
        break;
      case Canned::k502:
        bump(c.elb_502);
        break;
      case Canned::k503:
        bump(c.elb_503);
        break;
      case Canned::k504:
        bump(c.elb_504);
        break;
    }
    close_after_ = close_after || !client_keep_alive_ || t_.stopping;
    if (!close_after_) {
      in_.consume(request_size_);
      request_size_ = 0;
    }
    const CannedResponse& r = canned(which);
    const std::string& head = close_after_ ? r.head_close : r.head_keep_alive;
    out_.clear();
    out_.emplace_back(head.data(), head.size());
    if (request_info_.method != proxy::http::verb::head) {
      out_.emplace_back(r.body.data(), r.body.size());
    }
    set_phase(Phase::kWritingError, t_.config.client_idle_timeout);
    asio::async_write(client_, out_,
                      [self = shared_from_this()](const error_code& ec, std::size_t) {
                        if (self->phase_ == Phase::kClosed) return;
                        if (ec || self->close_after_) return self->close();
                        self->do_read_request();
                      });
  }

  IoThread& t_;
  tcp::socket client_;
  std::size_t index_ = 0;  // in t_.sessions
  std::string client_address_;
  ByteBuffer in_;
  HeaderInfo request_info_;
  std::optional<RequestParser> request_parser_;
  std::size_t request_size_ = 0;  // bytes of the current request at the front of in_
  bool client_keep_alive_ = true;
  bool continue_sent_ = false;
  bool replayable_ = false;
  std::string forwarded_;

  std::shared_ptr<LocalTarget> target_;
  std::unique_ptr<UpstreamConn> up_;
  std::vector<const LocalTarget*> tried_;
  int attempts_ = 0;
  Failure last_failure_ = Failure::kNone;
  bool response_started_ = false;

  HeaderInfo response_info_;
  std::optional<ResponseParser> response_parser_;
  std::string response_extra_;
  bool close_after_ = false;

  std::vector<asio::const_buffer> out_;
  Phase phase_ = Phase::kReadingRequest;
  SteadyClock::time_point deadline_{};
  bool timed_out_ = false;
};

void IoThread::apply(std::shared_ptr<const TargetSnapshot> snapshot) {
  std::vector<std::shared_ptr<LocalTarget>> next;
  next.reserve(snapshot->size());
  for (const auto& spec : *snapshot) {
    auto it = std::find_if(targets.begin(), targets.end(), [&](const auto& t) {
      return t && t->id == spec.id && t->address == spec.address;
    });
    if (it != targets.end()) {
      next.push_back(std::move(*it));
      continue;
    }
    auto target = std::make_shared<LocalTarget>();
    target->id = spec.id;
    target->address = spec.address;
    target->counters = spec.counters;
    next.push_back(std::move(target));
  }
  for (auto& old : targets) {
    if (!old) continue;
    // Requests in flight keep their own reference and finish; nothing new goes there.
    old->removed = true;
    close_idle(*old);
  }
  targets = std::move(next);
  candidates.reserve(targets.size());
}

void IoThread::close_idle(LocalTarget& target) {
  for (auto& conn : target.idle) close_quietly(conn->socket);
  target.idle.clear();
}

void IoThread::start_sweep(Duration period) {
  sweep_period = period;
  sweep_timer.expires_after(sweep_period);
  sweep_timer.async_wait([this](const error_code& ec) {
    if (ec || stopping) return;
    sweep();
    start_sweep(sweep_period);
  });
}

void IoThread::sweep() {
  const auto now = SteadyClock::now();
  // check_deadline() never destroys a session synchronously (handlers hold references), so the
  // list does not change under this loop.
  for (std::size_t i = 0; i < sessions.size(); ++i) sessions[i]->check_deadline(now);
  for (auto& target : targets) {
    auto& idle = target->idle;
    std::erase_if(idle, [&](std::unique_ptr<UpstreamConn>& conn) {
      if (now - conn->idle_since < kUpstreamIdleTimeout && idle_connection_usable(conn->socket)) {
        return false;
      }
      close_quietly(conn->socket);
      return true;
    });
  }
}

void IoThread::shutdown() {
  stopping = true;
  error_code ignored;
  sweep_timer.cancel(ignored);
  const std::vector<Session*> open = sessions;
  for (Session* s : open) s->close();
  for (auto& target : targets) close_idle(*target);
}

}  // namespace

struct Balancer::Impl {
  explicit Impl(BalancerConfig c) : config(std::move(c)) {
    if (config.threads < 1) throw UserError("balancer: threads must be at least 1");
    if (config.max_retries < 0) throw UserError("balancer: max_retries must be at least 0");
    SeededRandom seeds(config.seed);
    for (int i = 0; i < config.threads; ++i) {
      threads.push_back(std::make_unique<IoThread>(i, config, seeds.next_u64()));
    }
  }

  void do_accept() {
    IoThread& next = *threads[next_thread];
    next_thread = (next_thread + 1) % threads.size();
    acceptor->async_accept(next.io, [this, &next](const error_code& ec, tcp::socket socket) {
      if (threads[0]->stopping || !acceptor->is_open()) return;
      if (!ec) {
        asio::post(next.io, [&next, s = std::move(socket)]() mutable {
          if (next.stopping) return;
          std::make_shared<Session>(next, std::move(s))->start();
        });
      }
      do_accept();
    });
  }

  BalancerConfig config;
  std::vector<std::unique_ptr<IoThread>> threads;
  std::optional<tcp::acceptor> acceptor;  // on threads[0]
  std::size_t next_thread = 0;
  std::atomic<std::uint16_t> port{0};
  bool started = false;
  bool stopped = false;

  // Control side only; the IO threads never take it.
  mutable std::mutex mu;
  mutable std::map<std::string, std::shared_ptr<TargetCounters>> counters;
  std::vector<std::string> current_ids;
};

Balancer::Balancer(BalancerConfig config) : impl_(std::make_unique<Impl>(std::move(config))) {}

Balancer::~Balancer() { stop(); }

void Balancer::start() {
  Impl& m = *impl_;
  assert(!m.started);
  m.started = true;
  const std::string where = m.config.host + ":" + std::to_string(m.config.port);
  error_code ec;
  const auto address = asio::ip::make_address(m.config.host, ec);
  if (ec) throw UserError("balancer: cannot listen on " + where + ": not an IP address");
  const tcp::endpoint endpoint(address, m.config.port);
  IoThread& first = *m.threads[0];
  m.acceptor.emplace(first.io);
  m.acceptor->open(endpoint.protocol(), ec);
  if (!ec) m.acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) m.acceptor->bind(endpoint, ec);
  if (ec == asio::error::address_in_use) {
    throw UserError("balancer: " + where + " is already in use");
  }
  if (!ec) m.acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw UserError("balancer: cannot listen on " + where + ": " + ec.message());
  m.port = m.acceptor->local_endpoint().port();

  const Duration shortest =
      std::min({m.config.connect_timeout, m.config.response_timeout, m.config.client_idle_timeout});
  // About once a second; more often only when a configured timeout is short.
  const Duration sweep = std::clamp<Duration>(shortest / 2, 5ms, 1s);
  for (auto& t : m.threads) {
    t->listener_port = m.port;
    t->guard.emplace(asio::prefer(t->io.get_executor(), asio::execution::outstanding_work.tracked));
    IoThread* raw = t.get();
    asio::post(t->io, [raw, sweep] { raw->start_sweep(sweep); });
  }
  m.do_accept();
  for (auto& t : m.threads) {
    IoThread* raw = t.get();
    t->thread = std::thread([raw] { raw->io.run(); });
  }
}

std::uint16_t Balancer::port() const { return impl_->port.load(); }

void Balancer::stop() {
  Impl& m = *impl_;
  if (!m.started || m.stopped) return;
  m.stopped = true;
  for (std::size_t i = 0; i < m.threads.size(); ++i) {
    IoThread* raw = m.threads[i].get();
    asio::post(raw->io, [&m, raw, i] {
      if (i == 0) {
        error_code ignored;
        m.acceptor->close(ignored);
      }
      raw->shutdown();
    });
  }
  for (auto& t : m.threads) t->guard.reset();
  for (auto& t : m.threads) {
    if (t->thread.joinable()) t->thread.join();
  }
}

void Balancer::set_targets(std::vector<BalancerTarget> targets) {
  Impl& m = *impl_;
  auto snapshot = std::make_shared<TargetSnapshot>();
  {
    std::lock_guard lock(m.mu);
    m.current_ids.clear();
    for (auto& target : targets) {
      error_code ec;
      const auto address = asio::ip::make_address(target.endpoint.host, ec);
      assert(!ec && "target endpoints are IP addresses");
      if (ec) continue;
      auto& counters = m.counters[target.id];
      if (!counters) counters = std::make_shared<TargetCounters>(m.config.threads);
      snapshot->push_back(
          TargetSpec{target.id, tcp::endpoint(address, target.endpoint.port), counters});
      m.current_ids.push_back(target.id);
    }
  }
  std::shared_ptr<const TargetSnapshot> shared = std::move(snapshot);
  for (auto& t : m.threads) {
    IoThread* raw = t.get();
    asio::post(t->io, [raw, shared] { raw->apply(shared); });
  }
}

BalancerStats Balancer::stats() const {
  const Impl& m = *impl_;
  BalancerStats s;
  for (const auto& t : m.threads) {
    const ThreadCounters& c = t->counters;
    s.requests += read(c.requests);
    s.responses_2xx += read(c.responses_2xx);
    s.responses_3xx += read(c.responses_3xx);
    s.responses_4xx += read(c.responses_4xx);
    s.responses_5xx += read(c.responses_5xx);
    s.elb_400 += read(c.elb_400);
    s.elb_502 += read(c.elb_502);
    s.elb_503 += read(c.elb_503);
    s.elb_504 += read(c.elb_504);
    s.target_connection_errors += read(c.target_connection_errors);
    s.retries += read(c.retries);
    s.active_connections += read(c.active_connections);
    s.new_connections += read(c.new_connections);
  }
  std::lock_guard lock(m.mu);
  for (auto it = m.counters.begin(); it != m.counters.end();) {
    BalancerTargetStats ts;
    for (int i = 0; i < m.config.threads; ++i) {
      const auto& slot = it->second->slots[i];
      ts.requests += read(slot.requests);
      ts.outstanding += read(slot.outstanding);
      ts.errors += read(slot.errors);
    }
    const bool current =
        std::find(m.current_ids.begin(), m.current_ids.end(), it->first) != m.current_ids.end();
    if (!current && ts.outstanding == 0) {
      it = m.counters.erase(it);
      continue;
    }
    s.targets.emplace(it->first, ts);
    ++it;
  }
  return s;
}

}  // namespace flotilla
