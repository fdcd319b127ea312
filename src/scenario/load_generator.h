#pragma once
// LoadGenerator: an open-loop HTTP/1.1 load generator (k6's arrival-rate executors, wrk2).
//
// Requests leave on schedule whatever the responses do: each scheduled request takes an idle
// keep-alive connection or opens a new one, up to max_connections; when none can be had it is
// an "overload" error at once, never a wait. Latency runs from the SCHEDULED send time to the
// last byte of the response, so a stalled server or a late client shows up as latency instead of
// as requests that were never sent (no coordinated omission).
//
// Outcomes: a response with status < 400 is ok; 4xx and 5xx responses, connection failures,
// resets (also a connection closed before the whole response) and timeouts are errors, counted
// by kind. A request that fails on a reused keep-alive connection before any byte of a response
// arrives (the server had closed the idle connection) is retried once on a new connection and
// counts only once. Latency histograms hold successful requests only (k6: http_req_duration with
// expected_response:true), so a fast 503 does not make latency look good.
//
// Figures are kept per scheduled second: a request scheduled in [s, s+1) counts in second s
// whenever it completes, so a second's figures can still grow after it has passed (for up to
// request_timeout). After the run, sent == ok + errors (unless stop() cut it short).
//
// Threading: start(), wait(), stop() from one controlling thread; snapshot() from any thread at
// any time. The IO runs on `threads` threads of its own, each with its own io_context, its own
// connections and every `threads`-th request of the schedule.
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/endpoint.h"
#include "core/histogram.h"
#include "core/time.h"
#include "scenario/rate_schedule.h"

namespace flotilla {

struct LoadConfig {
  Endpoint target;         // host: an IP address or a resolvable name
  std::string path = "/";  // request target
  RateSchedule schedule;
  Arrivals arrivals = Arrivals::kUniform;
  std::uint64_t seed = 1;              // for Poisson arrivals
  std::size_t max_connections = 2000;  // open at once, over all threads
  // Connect + send + response, measured from when the request is handled.
  Duration request_timeout = std::chrono::seconds(10);
  int threads = 1;
};

enum class LoadErrorKind : std::size_t {
  kHttp5xx,
  kHttp4xx,
  kConnectError,
  kReset,
  kTimeout,
  kOverload,  // no idle connection and max_connections open
};
inline constexpr std::size_t kLoadErrorKindCount = 6;
// "http_5xx", "http_4xx", "connect_error", "reset", "timeout", "overload"
std::string_view to_string(LoadErrorKind kind);

struct ErrorCounts {
  std::array<std::uint64_t, kLoadErrorKindCount> counts{};

  std::uint64_t& operator[](LoadErrorKind k) { return counts[static_cast<std::size_t>(k)]; }
  std::uint64_t operator[](LoadErrorKind k) const { return counts[static_cast<std::size_t>(k)]; }
  std::uint64_t total() const;
  void add(const ErrorCounts& other);
};

struct SecondStats {
  std::int64_t second = 0;  // requests scheduled in [second, second + 1) s after start
  double offered = 0;       // what the schedule asks for in that second
  std::uint64_t sent = 0;   // scheduled and handled (includes those that failed)
  std::uint64_t ok = 0;
  std::uint64_t errors = 0;
  ErrorCounts by_kind;
  LatencyHistogram latency;  // successful requests
};

struct LoadSnapshot {
  bool started = false;
  bool finished = false;  // every thread is done
  Duration elapsed{};     // since start() (until the end if finished), at most the schedule
  std::uint64_t sent = 0;
  std::uint64_t ok = 0;
  std::uint64_t errors = 0;
  ErrorCounts by_kind;
  std::uint64_t in_flight = 0;
  std::size_t open_connections = 0;
  LatencyHistogram latency;  // whole run, successful requests
  // Consecutive seconds up to the current one (elapsed), oldest first; all of them or only the
  // most recent ones, as asked.
  std::vector<SecondStats> seconds;
};

class LoadGenerator {
 public:
  explicit LoadGenerator(LoadConfig config);
  // Stops (as stop()) if still running.
  ~LoadGenerator();
  LoadGenerator(const LoadGenerator&) = delete;
  LoadGenerator& operator=(const LoadGenerator&) = delete;

  // Starts the clock (second 0 is now) and the IO threads. Throws UserError if the target's host
  // cannot be resolved. Once only.
  void start();
  // Blocks until the schedule has been sent and every request has completed or timed out: at
  // most about duration + request_timeout after start().
  void wait();
  // Like wait(), for at most `timeout`; true if finished.
  bool wait_for(Duration timeout);
  // Stops sending at once, abandons in-flight requests (counted neither ok nor error) and joins
  // the threads. Idempotent.
  void stop();

  // Figures so far. recent_seconds: only the last N seconds in `seconds` (the live progress
  // line needs 2; the report needs all). Copies ~16 KB per second returned.
  LoadSnapshot snapshot(std::optional<std::size_t> recent_seconds = std::nullopt) const;
  const LoadConfig& config() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace flotilla
