#include "scenario/load_generator.h"

#include <algorithm>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <condition_variable>
#include <limits>
#include <mutex>
#include <thread>
#include <unordered_set>

#include "core/errors.h"
#include "scenario/second_series.h"

namespace flotilla {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::uint64_t kBodyLimit = 64ULL << 20;
// Arrivals handled in one timer wake-up before yielding to the reads and writes: a late wake-up
// after a stall must not starve the responses that are being measured.
constexpr int kMaxIssuesPerWake = 256;

std::int64_t second_of(Duration scheduled) {
  return std::chrono::duration_cast<std::chrono::seconds>(scheduled).count();
}

// Every thread's figures, under one mutex that the IO threads take for each update (uncontended
// but for the once-a-second snapshot), so that snapshot() sees consistent figures.
struct Figures {
  Figures(int threads, std::size_t entries, std::size_t keep_seconds)
      : seconds(keep_seconds), requests(entries), open(static_cast<std::size_t>(threads), 0) {}

  mutable std::mutex mu;
  SecondSeries seconds;
  std::uint64_t sent = 0;
  std::uint64_t ok = 0;
  ErrorCounts by_kind;
  std::vector<RequestStats> requests;  // per entry of the mix
  std::uint64_t in_flight = 0;
  std::vector<std::size_t> open;  // connections, per thread

  void on_sent(Duration scheduled, std::size_t entry) {
    std::lock_guard lock(mu);
    ++sent;
    ++in_flight;
    ++requests[entry].sent;
    seconds.on_sent(second_of(scheduled));
  }
  void on_ok(Duration scheduled, std::size_t entry, Duration latency_value) {
    std::lock_guard lock(mu);
    ++ok;
    --in_flight;
    ++requests[entry].ok;
    requests[entry].latency.record(latency_value);
    seconds.on_ok(second_of(scheduled), latency_value);
  }
  void on_error(Duration scheduled, std::size_t entry, LoadErrorKind kind) {
    std::lock_guard lock(mu);
    ++by_kind[kind];
    --in_flight;
    ++requests[entry].errors;
    seconds.on_error(second_of(scheduled), kind);
  }
  void on_abandoned(Duration scheduled) {
    std::lock_guard lock(mu);
    --in_flight;
    seconds.on_abandoned(second_of(scheduled));
  }
  void set_open(int thread, std::size_t n) {
    std::lock_guard lock(mu);
    open[static_cast<std::size_t>(thread)] = n;
  }
};

class IoWorker;

// One client connection; it carries at most one request at a time.
struct Connection {
  explicit Connection(IoWorker& owner);
  ~Connection();

  IoWorker& worker;
  beast::tcp_stream stream;
  beast::flat_buffer buffer;
  std::optional<http::response_parser<http::string_body>> parser;
  Duration scheduled{};  // of the request in flight
  std::size_t entry = 0;  // of the mix, of the request in flight
  bool reused = false;   // the request in flight went out on a kept-alive connection
  bool closed = false;
};

// What is written for each entry of the mix, built once.
struct Requests {
  Requests(const LoadConfig& config, const std::string& host)
      : mix(config.requests, config.seed) {
    for (const RequestSpec& r : config.requests) {
      std::string text = r.method + " " + r.path + " HTTP/1.1\r\nHost: " + host +
                         "\r\nUser-Agent: flotilla-load\r\nAccept: */*\r\n";
      if (r.body_bytes > 0)
        text += "Content-Type: application/octet-stream\r\nContent-Length: " +
                std::to_string(r.body_bytes) + "\r\n";
      if (config.connections == Connections::kNew) text += "Connection: close\r\n";
      text += "\r\n";
      text.append(r.body_bytes, 'x');
      bytes.push_back(std::move(text));
      head.push_back(r.method == "HEAD");
      // RFC 9110 9.2.2: a request that may have reached the server is sent again only if its
      // method is idempotent.
      idempotent.push_back(r.method != "POST" && r.method != "PATCH");
    }
  }

  RequestMix mix;
  std::vector<std::string> bytes;
  std::vector<bool> head;  // the response has no body, whatever its Content-Length says
  std::vector<bool> idempotent;
};

// One IO thread: its io_context, its share of the schedule, its connections, its figures.
class IoWorker {
 public:
  IoWorker(const LoadConfig& config, int index, int count, tcp::endpoint endpoint,
           std::size_t max_connections, const Requests& requests, Clock::time_point epoch,
           const std::atomic<bool>& stopping, Figures& figures)
      : config_(config),
        index_(index),
        count_(count),
        endpoint_(endpoint),
        max_connections_(max_connections),
        requests_(requests),
        epoch_(epoch),
        stopping_(stopping),
        figures_(figures),
        ioc_(1),
        timer_(ioc_),
        arrivals_(config.schedule, config.arrivals, config.seed) {}

  // On the worker's own thread; returns when its share is done or it was stopped.
  void run() {
    advance();
    if (next_) {
      schedule_next();
    } else {
      arrivals_done_ = true;
    }
    ioc_.run();
    idle_.clear();
  }

  // From any thread.
  void stop() {
    net::post(ioc_, [this] {
      timer_.cancel();
      arrivals_done_ = true;
      next_.reset();
      std::vector<Connection*> all(live_.begin(), live_.end());
      for (auto* c : all) close(*c);
      idle_.clear();
    });
  }

  net::io_context& io_context() { return ioc_; }

  void on_connection_created(Connection* c) { live_.insert(c); }
  void on_connection_destroyed(Connection* c) { live_.erase(c); }

 private:
  using ConnPtr = std::shared_ptr<Connection>;

  void advance() {
    while (auto t = arrivals_.next()) {
      const std::uint64_t n = counter_++;
      if (static_cast<int>(n % static_cast<std::uint64_t>(count_)) == index_) {
        next_ = *t;
        next_entry_ = requests_.mix.pick(n);
        return;
      }
    }
    next_.reset();
  }

  Clock::time_point at(Duration offset) const {
    return epoch_ + std::chrono::duration_cast<Clock::duration>(offset);
  }

  void schedule_next() {
    timer_.expires_at(at(*next_));
    timer_.async_wait([this](boost::system::error_code ec) { on_timer(ec); });
  }

  void on_timer(boost::system::error_code ec) {
    if (ec || stopping_) return;
    const auto now = Clock::now();
    int issued = 0;
    while (next_ && at(*next_) <= now && issued < kMaxIssuesPerWake) {
      issue(*next_, next_entry_);
      advance();
      ++issued;
    }
    if (next_) {
      schedule_next();
    } else {
      arrivals_done_ = true;
      maybe_finish();
    }
  }

  void issue(Duration scheduled, std::size_t entry) {
    figures_.on_sent(scheduled, entry);
    ++in_flight_;
    if (!idle_.empty()) {
      ConnPtr c = std::move(idle_.back());
      idle_.pop_back();
      c->scheduled = scheduled;
      c->entry = entry;
      c->reused = true;
      c->stream.expires_after(config_.request_timeout);
      write(c);
      return;
    }
    open_and_send(scheduled, entry);
  }

  void open_and_send(Duration scheduled, std::size_t entry) {
    if (open_ >= max_connections_) {
      complete_error(scheduled, entry, LoadErrorKind::kOverload);
      return;
    }
    auto c = std::make_shared<Connection>(*this);
    ++open_;
    figures_.set_open(index_, open_);
    c->scheduled = scheduled;
    c->entry = entry;
    c->reused = false;
    c->stream.expires_after(config_.request_timeout);
    c->stream.async_connect(endpoint_, [this, c](beast::error_code ec) { on_connect(c, ec); });
  }

  void on_connect(const ConnPtr& c, beast::error_code ec) {
    if (ec) {
      close(*c);
      if (stopping_) {
        abandon(c->scheduled);
      } else {
        complete_error(c->scheduled, c->entry, LoadErrorKind::kConnectError);
      }
      return;
    }
    beast::error_code ignored;
    c->stream.socket().set_option(tcp::no_delay(true), ignored);
    write(c);
  }

  void write(const ConnPtr& c) {
    net::async_write(c->stream, net::buffer(requests_.bytes[c->entry]),
                     [this, c](beast::error_code ec, std::size_t) { on_write(c, ec); });
  }

  void on_write(const ConnPtr& c, beast::error_code ec) {
    if (ec) {
      on_failure(c, ec, /*nothing_received=*/true);
      return;
    }
    c->buffer.clear();
    c->parser.emplace();
    c->parser->body_limit(kBodyLimit);
    if (requests_.head[c->entry]) c->parser->skip(true);
    http::async_read(c->stream, c->buffer, *c->parser,
                     [this, c](beast::error_code ec, std::size_t) { on_read(c, ec); });
  }

  void on_read(const ConnPtr& c, beast::error_code ec) {
    if (ec) {
      on_failure(c, ec, !c->parser->got_some() && c->buffer.size() == 0);
      return;
    }
    const Duration latency = Clock::now() - at(c->scheduled);
    const unsigned status = c->parser->get().result_int();
    const bool keep_alive = c->parser->keep_alive();
    c->parser.reset();
    if (keep_alive && config_.connections == Connections::kKeepAlive && !stopping_ &&
        !arrivals_done_) {
      idle_.push_back(c);
    } else {
      close(*c);
    }
    if (status >= 500) {
      complete_error(c->scheduled, c->entry, LoadErrorKind::kHttp5xx);
    } else if (status >= 400) {
      complete_error(c->scheduled, c->entry, LoadErrorKind::kHttp4xx);
    } else {
      --in_flight_;
      figures_.on_ok(c->scheduled, c->entry, latency);
      maybe_finish();
    }
  }

  static bool is_stale_connection_error(beast::error_code ec) {
    return ec == http::error::end_of_stream || ec == net::error::eof ||
           ec == net::error::connection_reset || ec == net::error::broken_pipe ||
           ec == net::error::connection_aborted;
  }

  void on_failure(const ConnPtr& c, beast::error_code ec, bool nothing_received) {
    close(*c);
    if (stopping_) {
      abandon(c->scheduled);
      return;
    }
    // The server closed an idle kept-alive connection, most likely before our request reached
    // it: a well-behaved client retries once on a new connection, if the method is idempotent.
    if (c->reused && nothing_received && is_stale_connection_error(ec) &&
        requests_.idempotent[c->entry]) {
      open_and_send(c->scheduled, c->entry);
      return;
    }
    complete_error(c->scheduled, c->entry,
                   ec == beast::error::timeout ? LoadErrorKind::kTimeout : LoadErrorKind::kReset);
  }

  void complete_error(Duration scheduled, std::size_t entry, LoadErrorKind kind) {
    --in_flight_;
    figures_.on_error(scheduled, entry, kind);
    maybe_finish();
  }

  void abandon(Duration scheduled) {
    --in_flight_;
    figures_.on_abandoned(scheduled);
    maybe_finish();
  }

  void close(Connection& c) {
    if (c.closed) return;
    c.closed = true;
    c.stream.close();
    --open_;
    figures_.set_open(index_, open_);
  }

  // Once everything is sent and answered, idle connections are the only thing left: closing
  // them lets run() return.
  void maybe_finish() {
    if (!arrivals_done_ || in_flight_ > 0) return;
    for (auto& c : idle_) close(*c);
    idle_.clear();
  }

  const LoadConfig& config_;
  const int index_;
  const int count_;
  const tcp::endpoint endpoint_;
  const std::size_t max_connections_;
  const Requests& requests_;
  const Clock::time_point epoch_;
  const std::atomic<bool>& stopping_;
  Figures& figures_;

  // Declared before the io_context and the idle list: connections still referenced by either
  // unregister themselves here when destroyed.
  std::unordered_set<Connection*> live_;
  net::io_context ioc_;
  net::steady_timer timer_;
  ArrivalIterator arrivals_;
  std::uint64_t counter_ = 0;  // arrivals seen, of all threads
  std::optional<Duration> next_;
  std::size_t next_entry_ = 0;  // of the mix, for next_
  bool arrivals_done_ = false;
  std::uint64_t in_flight_ = 0;
  std::size_t open_ = 0;
  std::vector<ConnPtr> idle_;
};

Connection::Connection(IoWorker& owner) : worker(owner), stream(owner.io_context()) {
  worker.on_connection_created(this);
}
Connection::~Connection() { worker.on_connection_destroyed(this); }

tcp::endpoint resolve(const Endpoint& target) {
  boost::system::error_code ec;
  const auto address = net::ip::make_address(target.host, ec);
  if (!ec) return tcp::endpoint(address, target.port);
  net::io_context ioc;
  tcp::resolver resolver(ioc);
  const auto results = resolver.resolve(target.host, std::to_string(target.port), ec);
  if (ec || results.empty())
    throw UserError("cannot resolve the load generator's target host \"" + target.host +
                    "\": " + ec.message());
  return results.begin()->endpoint();
}

}  // namespace

struct LoadGenerator::Impl {
  LoadConfig config;
  std::unique_ptr<Figures> figures;
  std::unique_ptr<Requests> requests;
  std::atomic<bool> stopping{false};
  bool started = false;
  Clock::time_point epoch;
  std::vector<std::unique_ptr<IoWorker>> workers;
  std::vector<std::thread> threads;

  mutable std::mutex done_mu;
  std::condition_variable done_cv;
  int running = 0;
  Clock::time_point finished_at;  // when the last thread ended

  void join() {
    for (auto& t : threads)
      if (t.joinable()) t.join();
  }
};

LoadGenerator::LoadGenerator(LoadConfig config) : impl_(std::make_unique<Impl>()) {
  impl_->config = std::move(config);
  if (impl_->config.threads < 1) impl_->config.threads = 1;
  if (impl_->config.max_connections < 1) impl_->config.max_connections = 1;
  impl_->requests = std::make_unique<Requests>(impl_->config, impl_->config.target.to_string());
}

LoadGenerator::~LoadGenerator() { stop(); }

const LoadConfig& LoadGenerator::config() const { return impl_->config; }

void LoadGenerator::start() {
  Impl& m = *impl_;
  if (m.started) return;
  const tcp::endpoint endpoint = resolve(m.config.target);
  m.started = true;
  m.epoch = Clock::now();
  const int n = m.config.threads;
  m.figures = std::make_unique<Figures>(n, m.config.requests.size(), m.config.keep_seconds);
  for (int i = 0; i < n; ++i) {
    // Connections split evenly; the first threads take the remainder.
    std::size_t share = m.config.max_connections / static_cast<std::size_t>(n) +
                        (static_cast<std::size_t>(i) < m.config.max_connections % n ? 1 : 0);
    m.workers.push_back(std::make_unique<IoWorker>(
        m.config, i, n, endpoint, std::max<std::size_t>(share, 1), *m.requests, m.epoch,
        m.stopping, *m.figures));
  }
  {
    std::lock_guard lock(m.done_mu);
    m.running = n;
  }
  for (int i = 0; i < n; ++i) {
    m.threads.emplace_back([&m, i] {
      m.workers[static_cast<std::size_t>(i)]->run();
      std::lock_guard lock(m.done_mu);
      if (--m.running == 0) m.finished_at = Clock::now();
      m.done_cv.notify_all();
    });
  }
}

void LoadGenerator::wait() {
  Impl& m = *impl_;
  if (!m.started) return;
  {
    std::unique_lock lock(m.done_mu);
    m.done_cv.wait(lock, [&] { return m.running == 0; });
  }
  m.join();
}

bool LoadGenerator::wait_for(Duration timeout) {
  Impl& m = *impl_;
  if (!m.started) return true;
  {
    std::unique_lock lock(m.done_mu);
    if (!m.done_cv.wait_for(lock, timeout, [&] { return m.running == 0; })) return false;
  }
  m.join();
  return true;
}

void LoadGenerator::stop() {
  Impl& m = *impl_;
  if (!m.started) return;
  m.stopping = true;
  for (auto& w : m.workers) w->stop();
  wait();
}

LoadSnapshot LoadGenerator::snapshot(std::optional<std::size_t> recent_seconds) const {
  const Impl& m = *impl_;
  LoadSnapshot snap;
  if (!m.started) return snap;
  snap.started = true;
  Clock::time_point until = Clock::now();
  {
    std::lock_guard lock(m.done_mu);
    snap.finished = m.running == 0;
    if (snap.finished) until = m.finished_at;
  }
  const Duration total = m.config.schedule.duration();
  snap.elapsed = std::min<Duration>(until - m.epoch, total);

  Figures& f = *m.figures;
  std::lock_guard lock(f.mu);
  // A second is done once it has nothing in flight and a whole second has passed since its end
  // (its requests have all been handed out by then); all of them once the run is over.
  f.seconds.close_before(snap.finished ? std::numeric_limits<std::int64_t>::max()
                                       : second_of(snap.elapsed) - 1);
  snap.seconds = snapshot_seconds(f.seconds, m.config.schedule, snap.elapsed, recent_seconds);
  snap.sent = f.sent;
  snap.ok = f.ok;
  snap.by_kind = f.by_kind;
  snap.in_flight = f.in_flight;
  for (std::size_t n : f.open) snap.open_connections += n;
  if (!recent_seconds) {
    snap.latency = f.seconds.latency();
    snap.requests = f.requests;
  }
  snap.errors = snap.by_kind.total();
  return snap;
}

}  // namespace flotilla
