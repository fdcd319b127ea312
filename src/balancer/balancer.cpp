// The proxy. One IoThread per configured thread: its own io_context, pickers, view of the
// target groups, upstream pools and counters, so the request path takes no lock shared with
// another thread. Thread 0 also owns the listener and hands accepted sockets to the threads in
// turn. The one lock an IO thread takes on the request path is its own histogram lock, which
// only stats() readers share.
//
// A Session is one client connection. It handles one exchange at a time:
//   read request header -> route it (to a group, or a fixed response) -> (read the rest of the
//   body while it fits) -> pick a target -> take a pooled connection or connect -> write the
//   request as received (one gather write) -> read the response header -> write it and what
//   body arrived with it -> stream the rest.
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
#include <limits>
#include <mutex>
#include <optional>
#include <thread>

#include "balancer/picker.h"
#include "balancer/proxy_http.h"
#include "balancer/routing.h"
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
using verb = proxy::http::verb;

// A whole request up to this size is kept until its response starts, so it can be replayed on
// another target; larger bodies are streamed and cannot be retried once streaming began. A
// larger max_header_bytes makes the buffer that large.
constexpr std::size_t kClientBufferSize = 32 * 1024;
constexpr std::size_t kUpstreamBufferSize = 16 * 1024;
constexpr std::uint32_t kResponseHeaderLimit = 16 * 1024;
constexpr std::size_t kMaxIdlePerTarget = 256;  // per IO thread
constexpr Duration kUpstreamIdleTimeout = 30s;
// After an answer that ends the connection, what the client still sends is read and dropped
// for at most this long: closing with unread input would reset the connection, and a reset can
// destroy the answer before the client reads it (a 413 to a client still uploading).
constexpr Duration kLingerTimeout = 1s;

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
using Counter = std::atomic<std::uint64_t>;

// Guards an IO thread's histograms against stats() readers: the IO thread takes it once per
// response, uncontended but for the rare read, where a pthread mutex would cost several times
// the instructions. A reader holds it only while merging a few histograms.
class SpinLock {
 public:
  void lock() {
    while (flag_.test_and_set(std::memory_order_acquire)) std::this_thread::yield();
  }
  void unlock() { flag_.clear(std::memory_order_release); }

 private:
  std::atomic_flag flag_ = ATOMIC_FLAG_INIT;
};

// HTTPCode_Target_*XX_Count by class.
struct alignas(64) ResponseClasses {
  Counter c2xx{0};
  Counter c3xx{0};
  Counter c4xx{0};
  Counter c5xx{0};
  void count(int status) {
    switch (status / 100) {
      case 2:
        return bump(c2xx);
      case 3:
        return bump(c3xx);
      case 4:
        return bump(c4xx);
      default:
        return bump(c5xx);
    }
  }
  template <typename Stats>
  void add_to(Stats& s) const {
    s.responses_2xx += read(c2xx);
    s.responses_3xx += read(c3xx);
    s.responses_4xx += read(c4xx);
    s.responses_5xx += read(c5xx);
  }
};

struct alignas(64) ThreadCounters {
  Counter requests{0};
  ResponseClasses responses;
  Counter elb_2xx{0};
  Counter elb_3xx{0};
  Counter elb_4xx{0};
  Counter elb_5xx{0};
  Counter elb_400{0};
  Counter elb_408{0};
  Counter elb_413{0};
  Counter elb_431{0};
  Counter elb_502{0};
  Counter elb_503{0};
  Counter elb_504{0};
  Counter target_connection_errors{0};
  Counter retries{0};
  Counter retry_budget_exhausted{0};
  std::atomic<std::int64_t> active_connections{0};
  Counter new_connections{0};
};

// One group's counters on one IO thread.
struct alignas(64) GroupCounters {
  Counter requests{0};
  ResponseClasses responses;
  Counter elb_502{0};
  Counter elb_503{0};
  Counter elb_504{0};
  Counter target_connection_errors{0};
  Counter retries{0};
};

// One target's counters, one slot (cache-line aligned) per IO thread.
struct TargetCounters {
  struct alignas(64) Slot {
    Counter requests{0};
    std::atomic<std::int64_t> outstanding{0};
    Counter errors{0};
    Counter target_connection_errors{0};
    Counter consecutive_failures{0};
    Counter response_time_ns{0};
    Counter response_time_count{0};
    ResponseClasses responses;
  };
  explicit TargetCounters(int threads) : slots(new Slot[threads]) {}
  std::unique_ptr<Slot[]> slots;
};

// What set_target_group() publishes: immutable, shared by every IO thread.
struct TargetSpec {
  std::string id;
  tcp::endpoint address;
  std::uint32_t weight = 1;
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

// RFC 9110 section 9.2.2, less the unsafe-but-idempotent distinction that does not matter here.
bool idempotent(verb method) {
  switch (method) {
    case verb::get:
    case verb::head:
    case verb::options:
    case verb::put:
    case verb::delete_:
    case verb::trace:
      return true;
    default:
      return false;
  }
}

// One IO thread's view of a target. `outstanding` counts this thread's requests only: with N
// threads, least_outstanding_requests balances each thread's share of the traffic on its own,
// which needs no state shared between threads.
struct LocalTarget {
  std::string id;
  tcp::endpoint address;
  std::uint32_t weight = 1;
  std::shared_ptr<TargetCounters> counters;
  std::uint32_t outstanding = 0;
  std::vector<std::unique_ptr<UpstreamConn>> idle;
  bool removed = false;
};

// One IO thread's view of a target group.
struct LocalGroup {
  std::unique_ptr<Picker> picker;
  std::vector<std::shared_ptr<LocalTarget>> targets;
  GroupCounters counters;
  LatencyHistogram response_time;  // guarded by IoThread::histogram_lock
};

// The balancer's own responses. ALB-like bodies; never a target's address.
struct CannedResponse {
  int status = 0;
  std::string head_keep_alive;
  std::string head_close;
  std::string body;
};

CannedResponse make_response(int status, std::string_view reason, std::string_view content_type,
                             std::string body) {
  CannedResponse r;
  r.status = status;
  r.body = std::move(body);
  const std::string head = "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) +
                           "\r\nServer: flotilla\r\nContent-Type: " + std::string(content_type) +
                           "\r\nContent-Length: " + std::to_string(r.body.size()) + "\r\n";
  r.head_keep_alive = head + "Connection: keep-alive\r\n\r\n";
  r.head_close = head + "Connection: close\r\n\r\n";
  return r;
}

CannedResponse make_error(int status, std::string_view reason) {
  const std::string title = std::to_string(status) + " " + std::string(reason);
  return make_response(status, reason, "text/html",
                       "<html>\r\n<head><title>" + title +
                           "</title></head>\r\n<body>\r\n<center><h1>" + title +
                           "</h1></center>\r\n</body>\r\n</html>\r\n");
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Time-out";
    case 410:
      return "Gone";
    case 413:
      return "Request Entity Too Large";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Temporarily Unavailable";
    case 504:
      return "Gateway Time-out";
    default:
      return status < 300 ? "OK" : status < 500 ? "Client Error" : "Server Error";
  }
}

const CannedResponse& error_response(int status) {
  static const CannedResponse k400 = make_error(400, reason_phrase(400));
  static const CannedResponse k408 = make_error(408, reason_phrase(408));
  static const CannedResponse k413 = make_error(413, reason_phrase(413));
  static const CannedResponse k431 = make_error(431, reason_phrase(431));
  static const CannedResponse k502 = make_error(502, reason_phrase(502));
  static const CannedResponse k503 = make_error(503, reason_phrase(503));
  static const CannedResponse k504 = make_error(504, reason_phrase(504));
  switch (status) {
    case 400:
      return k400;
    case 408:
      return k408;
    case 413:
      return k413;
    case 431:
      return k431;
    case 503:
      return k503;
    case 504:
      return k504;
    default:
      return k502;
  }
}

constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

// A routing action with group names resolved to indices and fixed responses pre-rendered.
struct CompiledAction {
  std::vector<WeightedTargetGroup> forward;
  std::vector<std::size_t> group_indices;  // parallel to `forward`
  std::optional<CannedResponse> fixed;
};

// The routing table, immutable after construction and shared by every IO thread.
struct Router {
  std::vector<RoutingRule> rules;       // by ascending priority
  std::vector<CompiledAction> actions;  // parallel to `rules`
  CompiledAction default_action;
  bool uses_headers = false;
};

// Keeps an io_context's run() going while it has nothing to do (the TS work guard is disabled
// by BOOST_ASIO_NO_TS_EXECUTORS).
using WorkGuard = decltype(asio::prefer(std::declval<asio::io_context::executor_type>(),
                                        asio::execution::outstanding_work.tracked));

class Session;

struct IoThread {
  IoThread(int index_, const BalancerConfig& config_, const Router& router_,
           const std::vector<std::string>& algorithms, std::uint64_t seed)
      : index(index_),
        config(config_),
        router(router_),
        io(1),
        random(seed),
        groups(algorithms.size()),
        sweep_timer(io) {
    for (std::size_t g = 0; g < algorithms.size(); ++g) {
      groups[g].picker = make_picker(algorithms[g], random.next_u64());
    }
  }

  void apply(std::size_t group, std::shared_ptr<const TargetSnapshot> snapshot);
  void start_sweep(Duration period);
  void sweep();
  void close_idle(LocalTarget& target);
  void shutdown();
  // Whether one more retry fits the retry budget.
  bool retry_allowed() const {
    const double share = config.retry_budget_percent / 100.0 * active_requests;
    return active_retries <
           std::max(static_cast<double>(config.retry_budget_min_concurrency), share);
  }

  const int index;
  const BalancerConfig& config;
  const Router& router;
  std::string listener_port;  // as written into X-Forwarded-Port
  asio::io_context io;
  std::optional<WorkGuard> guard;
  std::thread thread;
  SeededRandom random;
  ThreadCounters counters;
  std::vector<LocalGroup> groups;  // fixed at construction, by group index
  SpinLock histogram_lock;         // guards groups[*].response_time
  std::vector<PickCandidate> candidates;
  std::vector<Session*> sessions;
  int active_requests = 0;  // exchanges in progress (the retry budget's base)
  int active_retries = 0;   // of which are being retried
  asio::steady_timer sweep_timer;
  Duration sweep_period{1s};
  bool stopping = false;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(IoThread& thread, tcp::socket socket)
      : t_(thread),
        client_(std::move(socket)),
        in_(std::max<std::size_t>(kClientBufferSize, thread.config.max_header_bytes)) {
    index_ = t_.sessions.size();
    t_.sessions.push_back(this);
    bump<std::int64_t>(t_.counters.active_connections);
    bump(t_.counters.new_connections);
    tried_.reserve(4);
    out_.reserve(16);
    forwarded_.reserve(128);
  }

  ~Session() {
    release_target(false);
    end_exchange();
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
      case Phase::kReadingRequest:
        // Part of a request header and no more within request_header_timeout: tell the client
        // (the read still pending is ignored). Nothing at all: an idle connection, just closed.
        if (in_.size() > 0) return send_error(408, true);
        close();
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
    end_exchange();
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
    kLingering,  // answered, write side shut; draining the client until EOF
    kClosed,
  };
  enum class Failure { kNone, kConnect, kDeadConnection };

  void set_phase(Phase phase, Duration timeout) {
    phase_ = phase;
    now_ = SteadyClock::now();
    deadline_ = now_ + timeout;
  }

  // ---- request ----

  void do_read_request() {
    const auto& config = t_.config;
    // A new connection must send its first request header within request_header_timeout; a
    // kept-alive one may then idle for client_idle_timeout before the next request starts.
    Duration wait = config.client_idle_timeout;
    if (in_.size() > 0) {
      wait = config.request_header_timeout;
    } else if (!served_) {
      wait = std::min(wait, config.request_header_timeout);
    }
    set_phase(Phase::kReadingRequest, wait);
    in_.compact();  // the request starts at in_.data() and stays there until it is finished
    request_parser_.emplace(request_info_, header_limit(), body_limit());
    request_size_ = 0;
    continue_sent_ = false;
    group_ = kNoGroup;
    if (in_.size() > 0) {
      parse_request_header();
    } else {
      read_client(&Session::on_request_read);
    }
  }

  std::uint32_t header_limit() const { return t_.config.max_header_bytes; }
  std::uint64_t body_limit() const {
    return t_.config.max_body_bytes == 0 ? std::numeric_limits<std::uint64_t>::max()
                                         : t_.config.max_body_bytes;
  }

  void read_client(void (Session::*handler)(const error_code&, std::size_t)) {
    client_reading_ = true;
    client_.async_read_some(
        in_.prepare(), [self = shared_from_this(), handler](const error_code& ec, std::size_t n) {
          self->client_reading_ = false;
          if (self->phase_ == Phase::kLingering) return self->on_linger_read(ec);
          ((*self).*handler)(ec, n);
        });
  }

  // Shuts the write side (the client reads EOF after the answer) and drains what it still
  // sends; closes on its EOF, an error or kLingerTimeout.
  void linger() {
    set_phase(Phase::kLingering, kLingerTimeout);
    error_code ignored;
    client_.shutdown(tcp::socket::shutdown_send, ignored);
    in_.clear();
    // A read still pending (the request header's, when the sweep answered 408) drains too.
    if (!client_reading_) read_client(&Session::on_request_read);
  }

  void on_linger_read(const error_code& ec) {
    if (ec) return close();
    in_.clear();
    read_client(&Session::on_request_read);
  }

  void on_request_read(const error_code& ec, std::size_t n) {
    // Not kReadingRequest: the sweep answered 408 meanwhile.
    if (phase_ != Phase::kReadingRequest) return;
    if (ec) return close();
    if (in_.size() == 0 && n > 0) {
      // The request's first bytes: its header must be complete within request_header_timeout,
      // however slowly the rest trickles in.
      deadline_ = SteadyClock::now() + t_.config.request_header_timeout;
    }
    in_.commit(n);
    parse_request_header();
  }

  void parse_request_header() {
    error_code ec;
    const std::size_t used = request_parser_->feed(in_.data(), in_.size(), ec);
    if (ec == proxy::http::error::need_more) {
      if (in_.space() == 0) return send_error(431, true);
      return read_client(&Session::on_request_read);
    }
    if (ec) return send_error(proxy::status_for(ec), true);
    request_size_ = used;
    served_ = true;
    bump(t_.counters.requests);
    on_request_header();
  }

  void on_request_header() {
    const char* message = in_.data();
    if (request_info_.method == verb::connect) return send_error(400, true);
    client_keep_alive_ = request_parser_->keep_alive();
    const CompiledAction& action = route();
    if (action.fixed) return send_fixed(*action.fixed);
    const std::size_t choice =
        action.forward.size() == 1 ? 0 : choose_weighted(action.forward, t_.random.next_u64());
    group_ = action.group_indices[choice];
    bump(t_.groups[group_].counters.requests);

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

  const CompiledAction& route() {
    const Router& router = t_.router;
    if (router.rules.empty()) return router.default_action;
    std::string_view authority = request_info_.host;
    RequestView view;
    view.method = request_info_.method_name;
    view.path = target_path(request_info_.target, authority);
    view.host = host_without_port(authority);
    if (router.uses_headers) {
      header_lines_.clear();
      for (const auto& field : request_info_.fields) {
        header_lines_.push_back({std::string_view(in_.data() + field.begin, field.name_size),
                                 proxy::field_value(field, in_.data())});
      }
      view.headers = header_lines_;
    }
    const auto rule = matching_rule(router.rules, view);
    return rule ? router.actions[*rule] : router.default_action;
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
    error_code parse_ec;
    if (!feed_request_body(parse_ec)) return send_error(proxy::status_for(parse_ec), true);
    if (request_parser_->is_done()) return start_forwarding();
    read_request_body();
  }

  // Frames the body bytes after request_size_; false on a malformed or too large body.
  bool feed_request_body(error_code& ec) {
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
    if (!in_exchange_) {
      in_exchange_ = true;
      ++t_.active_requests;
    }
    attempt();
  }

  // Ends the retry-budget bookkeeping of the current request.
  void end_exchange() {
    if (retrying_) {
      retrying_ = false;
      --t_.active_retries;
    }
    if (in_exchange_) {
      in_exchange_ = false;
      --t_.active_requests;
    }
  }

  // ---- choosing a target and a connection ----

  void attempt() {
    if (t_.stopping) return close();
    const int max_attempts = 1 + std::max(0, t_.config.max_retries);
    if (attempts_ >= max_attempts) return fail_exhausted();
    LocalGroup& group = t_.groups[group_];
    // The budget bounds the load that retries add: a retry after a failed connect replaces a
    // request no target received, so only retries after a request may have reached a target
    // count. It is asked before the picker, so that a retry refused does not move its rotation.
    if (attempts_ > 0 && last_failure_ == Failure::kDeadConnection && !retrying_) {
      if (!t_.retry_allowed()) {
        bump(t_.counters.retry_budget_exhausted);
        return fail_exhausted();
      }
      retrying_ = true;
      ++t_.active_retries;
    }
    auto& candidates = t_.candidates;
    candidates.clear();
    for (const auto& target : group.targets) {
      const bool tried = std::find(tried_.begin(), tried_.end(), target.get()) != tried_.end();
      candidates.push_back(PickCandidate{
          .outstanding = target->outstanding, .weight = target->weight, .excluded = tried});
    }
    const auto pick = group.picker->pick(candidates);
    if (!pick) return fail_exhausted();
    if (attempts_ > 0) {
      bump(t_.counters.retries);
      bump(group.counters.retries);
    }
    ++attempts_;
    target_ = group.targets[*pick];
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
      bump(t_.groups[group_].counters.target_connection_errors);
      bump(target_->counters->slots[t_.index].target_connection_errors);
      return retry(Failure::kConnect);
    }
    error_code ignored;
    up_->socket.set_option(tcp::no_delay(true), ignored);
    send_request();
  }

  // The attempt failed before any response byte: try another target if the request is whole
  // and (for a non-idempotent one) none of it can have reached the target.
  void retry(Failure failure) {
    last_failure_ = failure;
    release_target(true);
    if (!replayable_) return send_error(502, true);
    if (failure != Failure::kConnect && !idempotent(request_info_.method)) {
      return fail_exhausted();
    }
    attempt();
  }

  void fail_exhausted() {
    // No target, or every one tried: 503 when none could be reached, 502 when one accepted the
    // request and then vanished.
    send_error(last_failure_ == Failure::kDeadConnection ? 502 : 503, !request_parser_->is_done());
  }

  // Ends the current attempt: the target's in-flight count drops, the connection is closed
  // (a healthy connection is returned to the pool by finish_exchange() instead). `failed`
  // counts an error against the target.
  void release_target(bool failed) {
    if (up_) {
      close_quietly(up_->socket);
      up_.reset();
    }
    if (!target_) return;
    --target_->outstanding;
    auto& slot = target_->counters->slots[t_.index];
    bump<std::int64_t>(slot.outstanding, -1);
    if (failed) {
      bump(slot.errors);
      bump(slot.consecutive_failures);
    }
    target_.reset();
  }

  // ---- request to the target ----

  void send_request() {
    set_phase(Phase::kSendingRequest, t_.config.response_timeout);
    sent_at_ = now_;
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
    error_code parse_ec;
    if (!feed_request_body(parse_ec)) return send_error(proxy::status_for(parse_ec), true);
    if (request_size_ == 0 && in_.space() == 0) return send_error(400, true);
    set_phase(Phase::kSendingRequest, t_.config.response_timeout);
    sent_at_ = now_;
    asio::async_write(up_->socket, asio::buffer(in_.data(), request_size_),
                      [self = shared_from_this()](const error_code& ec, std::size_t) {
                        self->on_request_sent(ec);
                      });
  }

  // ---- response ----

  void await_response() {
    set_phase(Phase::kAwaitingResponse, t_.config.response_timeout);
    up_->in.compact();
    response_parser_.emplace(response_info_, kResponseHeaderLimit);
    if (request_info_.method == verb::head) response_parser_->skip(true);
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
    set_phase(Phase::kWritingResponse, t_.config.client_idle_timeout);
    count_response(status);
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
    write_response_now(used);
  }

  // A final response header from the target: counters, response time, failure streak.
  void count_response(int status) {
    const Duration elapsed = now_ - sent_at_;  // now_: set as the response header arrived
    t_.counters.responses.count(status);
    LocalGroup& group = t_.groups[group_];
    group.counters.responses.count(status);
    auto& slot = target_->counters->slots[t_.index];
    slot.responses.count(status);
    bump<std::uint64_t>(slot.response_time_ns, static_cast<std::uint64_t>(elapsed.count()));
    bump(slot.response_time_count);
    if (status >= 500) {
      bump(slot.consecutive_failures);
    } else if (read(slot.consecutive_failures) != 0) {
      slot.consecutive_failures.store(0, std::memory_order_relaxed);
    }
    std::lock_guard lock(t_.histogram_lock);
    group.response_time.record(elapsed);
  }

  void write_response(std::size_t used) {
    set_phase(Phase::kWritingResponse, t_.config.client_idle_timeout);
    write_response_now(used);
  }

  // write_response() once the phase is set.
  void write_response_now(std::size_t used) {
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
      up_->idle_since = now_;
      target_->idle.push_back(std::move(up_));
    }
    release_target(false);
    end_exchange();
    if (close_after_) return close();
    do_read_request();
  }

  // ---- the balancer's own responses ----

  void fail_timeout() {
    release_target(true);
    if (response_started_) return close();
    send_error(504, !request_parser_->is_done());
  }

  void fail_bad_response() {
    release_target(true);
    if (response_started_) return close();
    send_error(502, !request_parser_->is_done());
  }

  // `close_after`: the request's framing is unknown or its body unread, so the connection
  // cannot carry another request.
  void send_error(int status, bool close_after) {
    auto& c = t_.counters;
    switch (status) {
      case 400:
        bump(c.elb_400);
        break;
      case 408:
        bump(c.elb_408);
        break;
      case 413:
        bump(c.elb_413);
        break;
      case 431:
        bump(c.elb_431);
        break;
      case 502:
        bump(c.elb_502);
        break;
      case 503:
        bump(c.elb_503);
        break;
      case 504:
        bump(c.elb_504);
        break;
      default:
        break;
    }
    if (group_ != kNoGroup && status >= 500) {
      auto& g = t_.groups[group_].counters;
      bump(status == 502 ? g.elb_502 : status == 503 ? g.elb_503 : g.elb_504);
    }
    write_own_response(error_response(status), close_after);
  }

  void send_fixed(const CannedResponse& response) {
    // The body of a request answered at once is not read: the connection cannot go on.
    write_own_response(response, !request_parser_->is_done());
  }

  void write_own_response(const CannedResponse& response, bool close_after) {
    release_target(false);
    end_exchange();
    auto& c = t_.counters;
    switch (response.status / 100) {
      case 2:
        bump(c.elb_2xx);
        break;
      case 3:
        bump(c.elb_3xx);
        break;
      case 4:
        bump(c.elb_4xx);
        break;
      default:
        bump(c.elb_5xx);
        break;
    }
    close_after_ = close_after || !client_keep_alive_ || t_.stopping;
    if (!close_after_) {
      in_.consume(request_size_);
      request_size_ = 0;
    }
    const std::string& head = close_after_ ? response.head_close : response.head_keep_alive;
    out_.clear();
    out_.emplace_back(head.data(), head.size());
    if (request_info_.method != verb::head) {
      out_.emplace_back(response.body.data(), response.body.size());
    }
    set_phase(Phase::kWritingError, t_.config.client_idle_timeout);
    asio::async_write(client_, out_,
                      [self = shared_from_this()](const error_code& ec, std::size_t) {
                        if (self->phase_ == Phase::kClosed) return;
                        if (ec) return self->close();
                        if (self->close_after_) return self->linger();
                        self->do_read_request();
                      });
  }

  static constexpr std::size_t kNoGroup = std::numeric_limits<std::size_t>::max();

  IoThread& t_;
  tcp::socket client_;
  std::size_t index_ = 0;  // in t_.sessions
  std::string client_address_;
  ByteBuffer in_;
  HeaderInfo request_info_;
  std::optional<RequestParser> request_parser_;
  std::size_t request_size_ = 0;  // bytes of the current request at the front of in_
  bool served_ = false;           // a request header arrived on this connection
  bool client_keep_alive_ = true;
  bool continue_sent_ = false;
  bool replayable_ = false;
  std::string forwarded_;
  std::vector<HeaderLine> header_lines_;  // for http_header routing conditions
  std::size_t group_ = kNoGroup;          // the current request's target group

  std::shared_ptr<LocalTarget> target_;
  std::unique_ptr<UpstreamConn> up_;
  std::vector<const LocalTarget*> tried_;
  int attempts_ = 0;
  Failure last_failure_ = Failure::kNone;
  bool response_started_ = false;
  bool in_exchange_ = false;  // counted in t_.active_requests
  bool retrying_ = false;     // counted in t_.active_retries
  SteadyClock::time_point sent_at_{};

  HeaderInfo response_info_;
  std::optional<ResponseParser> response_parser_;
  std::string response_extra_;
  bool close_after_ = false;

  std::vector<asio::const_buffer> out_;
  bool client_reading_ = false;  // a read on client_ is pending
  Phase phase_ = Phase::kReadingRequest;
  SteadyClock::time_point now_{};  // when the phase began
  SteadyClock::time_point deadline_{};
  bool timed_out_ = false;
};

void IoThread::apply(std::size_t group_index, std::shared_ptr<const TargetSnapshot> snapshot) {
  LocalGroup& group = groups[group_index];
  auto& targets = group.targets;
  std::vector<std::shared_ptr<LocalTarget>> next;
  next.reserve(snapshot->size());
  for (const auto& spec : *snapshot) {
    auto it = std::find_if(targets.begin(), targets.end(), [&](const auto& t) {
      return t && t->id == spec.id && t->address == spec.address;
    });
    if (it != targets.end()) {
      (*it)->weight = spec.weight;
      next.push_back(std::move(*it));
      continue;
    }
    auto target = std::make_shared<LocalTarget>();
    target->id = spec.id;
    target->address = spec.address;
    target->weight = spec.weight;
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
  std::size_t most = 0;
  for (const auto& g : groups) most = std::max(most, g.targets.size());
  candidates.reserve(most);
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
  for (auto& group : groups) {
    for (auto& target : group.targets) {
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
}

void IoThread::shutdown() {
  stopping = true;
  error_code ignored;
  sweep_timer.cancel(ignored);
  const std::vector<Session*> open = sessions;
  for (Session* s : open) s->close();
  for (auto& group : groups) {
    for (auto& target : group.targets) close_idle(*target);
  }
}

void add_target_stats(BalancerTargetStats& into, const BalancerTargetStats& from) {
  into.requests += from.requests;
  into.outstanding += from.outstanding;
  into.errors += from.errors;
  into.responses_2xx += from.responses_2xx;
  into.responses_3xx += from.responses_3xx;
  into.responses_4xx += from.responses_4xx;
  into.responses_5xx += from.responses_5xx;
  into.target_connection_errors += from.target_connection_errors;
  into.consecutive_failures = std::max(into.consecutive_failures, from.consecutive_failures);
  into.response_time_sum += from.response_time_sum;
  into.response_time_count += from.response_time_count;
}

}  // namespace

struct Balancer::Impl {
  explicit Impl(BalancerConfig c) : config(std::move(c)) {
    if (config.threads < 1) throw UserError("balancer: threads must be at least 1");
    if (config.max_retries < 0) throw UserError("balancer: max_retries must be at least 0");
    if (!(config.retry_budget_percent >= 0 && config.retry_budget_percent <= 100)) {
      throw UserError("balancer: retry_budget_percent must be 0-100");
    }
    if (config.retry_budget_min_concurrency < 0) {
      throw UserError("balancer: retry_budget_min_concurrency must be at least 0");
    }
    if (config.max_header_bytes < 1024) {
      throw UserError("balancer: max_header_bytes must be at least 1024");
    }
    // Group 0 is "default"; its algorithm may be overridden by a target_groups entry.
    group_names.emplace_back(kDefaultTargetGroup);
    std::vector<std::string> algorithms = {config.algorithm};
    for (const auto& g : config.target_groups) {
      if (g.name.empty()) throw UserError("balancer: a target group needs a name");
      if (g.name == kDefaultTargetGroup) {
        algorithms[0] = g.algorithm;
        continue;
      }
      if (std::find(group_names.begin(), group_names.end(), g.name) != group_names.end()) {
        throw UserError("balancer: target group \"" + g.name + "\" is configured twice");
      }
      group_names.push_back(g.name);
      algorithms.push_back(g.algorithm);
    }
    for (const auto& algorithm : algorithms) make_picker(algorithm, 0);  // UserError if unknown

    RoutingConfig routing = config.routing;
    validate_routing(routing, group_names, "balancer routing");
    sort_by_priority(routing);
    router.uses_headers = uses_headers(routing);
    for (const auto& rule : routing.rules) router.actions.push_back(compile(rule.action));
    router.default_action = compile(routing.default_action);
    router.rules = std::move(routing.rules);

    SeededRandom seeds(config.seed);
    for (int i = 0; i < config.threads; ++i) {
      threads.push_back(
          std::make_unique<IoThread>(i, config, router, algorithms, seeds.next_u64()));
    }
    current_ids.resize(group_names.size());
  }

  CompiledAction compile(const RuleAction& action) const {
    CompiledAction out;
    if (action.type == RuleAction::Type::kFixedResponse) {
      const auto& f = action.fixed_response;
      out.fixed = make_response(f.status, reason_phrase(f.status), f.content_type, f.body);
      return out;
    }
    out.forward = action.forward;
    for (const auto& g : action.forward) {
      out.group_indices.push_back(static_cast<std::size_t>(
          std::find(group_names.begin(), group_names.end(), g.name) - group_names.begin()));
    }
    return out;
  }

  std::size_t group_index(const std::string& name) const {
    const auto it = std::find(group_names.begin(), group_names.end(), name);
    if (it == group_names.end()) {
      throw UserError("balancer: unknown target group \"" + name + "\"");
    }
    return static_cast<std::size_t>(it - group_names.begin());
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
  std::vector<std::string> group_names;  // index = group index
  Router router;
  std::vector<std::unique_ptr<IoThread>> threads;
  std::optional<tcp::acceptor> acceptor;  // on threads[0]
  std::size_t next_thread = 0;
  std::atomic<std::uint16_t> port{0};
  bool started = false;
  bool stopped = false;

  // Control side only; the IO threads never take it.
  mutable std::mutex mu;
  // By (group index, target id).
  mutable std::map<std::pair<std::size_t, std::string>, std::shared_ptr<TargetCounters>> counters;
  std::vector<std::vector<std::string>> current_ids;  // by group index
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
      std::min({m.config.connect_timeout, m.config.response_timeout, m.config.client_idle_timeout,
                m.config.request_header_timeout});
  // About once a second; more often only when a configured timeout is short.
  const Duration sweep = std::clamp<Duration>(shortest / 2, 5ms, 1s);
  for (auto& t : m.threads) {
    t->listener_port = std::to_string(m.port.load());
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
  set_target_group(std::string(kDefaultTargetGroup), std::move(targets));
}

void Balancer::set_target_group(const std::string& name, std::vector<BalancerTarget> targets) {
  Impl& m = *impl_;
  const std::size_t group = m.group_index(name);
  auto snapshot = std::make_shared<TargetSnapshot>();
  {
    std::lock_guard lock(m.mu);
    auto& ids = m.current_ids[group];
    ids.clear();
    for (auto& target : targets) {
      error_code ec;
      const auto address = asio::ip::make_address(target.endpoint.host, ec);
      assert(!ec && "target endpoints are IP addresses");
      if (ec) continue;
      auto& counters = m.counters[{group, target.id}];
      if (!counters) counters = std::make_shared<TargetCounters>(m.config.threads);
      snapshot->push_back(TargetSpec{target.id, tcp::endpoint(address, target.endpoint.port),
                                     target.weight, counters});
      ids.push_back(target.id);
    }
  }
  std::shared_ptr<const TargetSnapshot> shared = std::move(snapshot);
  for (auto& t : m.threads) {
    IoThread* raw = t.get();
    asio::post(t->io, [raw, group, shared] { raw->apply(group, shared); });
  }
}

std::vector<std::string> Balancer::target_group_names() const { return impl_->group_names; }

BalancerStats Balancer::stats() const {
  const Impl& m = *impl_;
  BalancerStats s;
  for (const auto& name : m.group_names) s.groups[name];
  for (const auto& t : m.threads) {
    const ThreadCounters& c = t->counters;
    s.requests += read(c.requests);
    c.responses.add_to(s);
    s.elb_2xx += read(c.elb_2xx);
    s.elb_3xx += read(c.elb_3xx);
    s.elb_4xx += read(c.elb_4xx);
    s.elb_5xx += read(c.elb_5xx);
    s.elb_400 += read(c.elb_400);
    s.elb_408 += read(c.elb_408);
    s.elb_413 += read(c.elb_413);
    s.elb_431 += read(c.elb_431);
    s.elb_502 += read(c.elb_502);
    s.elb_503 += read(c.elb_503);
    s.elb_504 += read(c.elb_504);
    s.target_connection_errors += read(c.target_connection_errors);
    s.retries += read(c.retries);
    s.retry_budget_exhausted += read(c.retry_budget_exhausted);
    s.active_connections += read(c.active_connections);
    s.new_connections += read(c.new_connections);
    for (std::size_t g = 0; g < m.group_names.size(); ++g) {
      const GroupCounters& gc = t->groups[g].counters;
      BalancerGroupStats& gs = s.groups[m.group_names[g]];
      gs.requests += read(gc.requests);
      gc.responses.add_to(gs);
      gs.elb_502 += read(gc.elb_502);
      gs.elb_503 += read(gc.elb_503);
      gs.elb_504 += read(gc.elb_504);
      gs.target_connection_errors += read(gc.target_connection_errors);
      gs.retries += read(gc.retries);
    }
    std::lock_guard lock(t->histogram_lock);
    for (std::size_t g = 0; g < m.group_names.size(); ++g) {
      s.groups[m.group_names[g]].target_response_time.merge(t->groups[g].response_time);
    }
  }
  for (const auto& [name, group] : s.groups)
    s.target_response_time.merge(group.target_response_time);

  std::lock_guard lock(m.mu);
  for (auto it = m.counters.begin(); it != m.counters.end();) {
    const auto& [group, id] = it->first;
    BalancerTargetStats ts;
    for (int i = 0; i < m.config.threads; ++i) {
      const auto& slot = it->second->slots[i];
      BalancerTargetStats one;
      one.requests = read(slot.requests);
      one.outstanding = read(slot.outstanding);
      one.errors = read(slot.errors);
      slot.responses.add_to(one);
      one.target_connection_errors = read(slot.target_connection_errors);
      one.consecutive_failures = read(slot.consecutive_failures);
      one.response_time_sum = Duration(static_cast<Duration::rep>(read(slot.response_time_ns)));
      one.response_time_count = read(slot.response_time_count);
      add_target_stats(ts, one);
    }
    const auto& ids = m.current_ids[group];
    const bool current = std::find(ids.begin(), ids.end(), id) != ids.end();
    if (!current && ts.outstanding == 0) {
      it = m.counters.erase(it);
      continue;
    }
    s.groups[m.group_names[group]].targets.emplace(id, ts);
    add_target_stats(s.targets[id], ts);
    ++it;
  }
  return s;
}

}  // namespace flotilla
