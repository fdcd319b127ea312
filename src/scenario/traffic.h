#pragma once
// Traffic: the open-loop load a scenario offers (k6's arrival-rate executors, wrk2) and what it
// measured, in the words both worlds share. Live, a LoadGenerator sends real HTTP requests on
// its own threads (load_generator.h); simulated, the requests are events in virtual time
// (src/sim). The orchestrator reads both through this interface.
//
// Outcomes: a response with status < 400 is ok; 4xx and 5xx responses, connection failures,
// resets and timeouts are errors, counted by kind. Latency runs from the SCHEDULED send time to
// the end of the response, and latency figures hold successful requests only (k6:
// http_req_duration with expected_response:true), so a fast 503 does not make latency look good.
//
// A request mix: every request picks one entry of LoadConfig::requests, with probability
// weight / total, by RequestMix::pick of its place in the schedule and the seed, so the same
// schedule sends the same requests live and simulated, on any number of threads. Figures are
// kept per entry too (LoadSnapshot::requests).
//
// Figures are kept per scheduled second: a request scheduled in [s, s+1) counts in second s
// whenever it completes (second_series.h says how long a second's percentiles can still change).
//
// Threading: start() and stop() from one controlling thread; snapshot() as the implementation
// says (live: any thread; simulated: the simulator's).
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/endpoint.h"
#include "core/histogram.h"
#include "core/time.h"
#include "scenario/rate_schedule.h"

namespace flotilla {

inline constexpr std::array<std::string_view, 6> kRequestMethods = {"GET",    "POST", "PUT",
                                                                   "DELETE", "PATCH", "HEAD"};

// One entry of a request mix (a scenario's traffic "requests").
struct RequestSpec {
  std::string method = "GET";  // one of kRequestMethods
  std::string path = "/";      // the request target: starts with '/', no spaces
  double weight = 1;           // > 0; the share is weight / the mix's total
  std::size_t body_bytes = 0;  // a body of this size, sent with Content-Length
  bool operator==(const RequestSpec&) const = default;
};

// Which entry of a mix the n-th request of a schedule sends: a pure function of n and the seed
// (n-th draw of a stateless hash against the cumulative weights), so that the choice does not
// depend on which thread sends the request or in what order requests are handled.
class RequestMix {
 public:
  // `mix` non-empty, every weight > 0 (asserts: the parser checked them).
  RequestMix(const std::vector<RequestSpec>& mix, std::uint64_t seed);
  std::size_t pick(std::uint64_t n) const;
  std::size_t size() const { return cumulative_.size(); }

 private:
  std::vector<double> cumulative_;  // running totals of the weights, divided by the total
  std::uint64_t seed_;
};

// How the load generator uses connections, as k6 and wrk can: kKeepAlive reuses an idle
// connection for the next request (the default); kNew opens one connection per request and
// closes it after the response (k6's noConnectionReuse; wrk with "Connection: close").
enum class Connections { kKeepAlive, kNew };

struct LoadConfig {
  // Where requests go (live: the balancer's address; the simulated world sends them to its own
  // data plane and ignores this). Host: an IP address or a resolvable name.
  Endpoint target;
  // The mix; a single entry sends every request alike. Non-empty.
  std::vector<RequestSpec> requests = {RequestSpec{}};
  Connections connections = Connections::kKeepAlive;
  RateSchedule schedule;
  Arrivals arrivals = Arrivals::kUniform;
  std::uint64_t seed = 1;              // for Poisson arrivals
  std::size_t max_connections = 2000;  // open at once, over all threads
  // Connect + send + response, measured from when the request is handled.
  Duration request_timeout = std::chrono::seconds(10);
  int threads = 1;
  // Seconds whose figures are kept (SecondSeries): snapshots report at most the newest this
  // many. 0 keeps every second (`run`, whose report needs them all); a long-lived generator
  // (serve) bounds its memory with it. Whole-run totals and latency are kept either way.
  std::size_t keep_seconds = 0;
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

// A few order statistics of one second's successful requests: what is kept of a second once
// its histogram is gone (see SecondSeries).
struct SecondLatency {
  std::uint64_t count = 0;
  Duration min{};
  Duration p50{};
  Duration p90{};
  Duration p99{};
  Duration max{};
  bool operator==(const SecondLatency&) const = default;
};
SecondLatency summarize(const LatencyHistogram& histogram);

struct SecondStats {
  std::int64_t second = 0;  // requests scheduled in [second, second + 1) s after start
  double offered = 0;       // what the schedule asks for in that second
  std::uint64_t sent = 0;   // scheduled and handled (includes those that failed)
  std::uint64_t ok = 0;
  std::uint64_t errors = 0;
  ErrorCounts by_kind;
  SecondLatency latency;  // successful requests
};

// The figures of one entry of the mix, whole run.
struct RequestStats {
  std::uint64_t sent = 0;
  std::uint64_t ok = 0;
  std::uint64_t errors = 0;
  LatencyHistogram latency;  // successful requests
};

struct LoadSnapshot {
  bool started = false;
  bool finished = false;  // every request sent and completed
  Duration elapsed{};     // since start() (until the end if finished), at most the schedule
  std::uint64_t sent = 0;
  std::uint64_t ok = 0;
  std::uint64_t errors = 0;
  ErrorCounts by_kind;
  std::uint64_t in_flight = 0;
  std::size_t open_connections = 0;
  // Whole run, successful requests; left empty in a snapshot of only the recent seconds (the
  // progress line's), which does not need it.
  LatencyHistogram latency;
  // Per entry of LoadConfig::requests, in its order; left empty in a snapshot of only the
  // recent seconds, as `latency`.
  std::vector<RequestStats> requests;
  // Consecutive seconds up to the current one (elapsed), oldest first; all of them or only the
  // most recent ones, as asked, and at most LoadConfig::keep_seconds of them. Each says which
  // second it is (SecondStats::second).
  std::vector<SecondStats> seconds;
};

class Traffic {
 public:
  virtual ~Traffic() = default;
  // Second 0 is now. Once only.
  virtual void start() = 0;
  // Stops sending at once; requests in flight are abandoned (counted neither ok nor error).
  // Idempotent.
  virtual void stop() = 0;
  // Figures so far. recent_seconds: only the last N seconds in `seconds` (the live progress
  // line needs 2; the report needs all).
  virtual LoadSnapshot snapshot(std::optional<std::size_t> recent_seconds = std::nullopt) const = 0;
};

}  // namespace flotilla
