#pragma once
// DataPlane: what the control plane sees of the proxy that carries the traffic (AWS: an
// Application Load Balancer as its target groups and CloudWatch see it). The control plane
// publishes each target group's routable targets and reads counters back; it never sees a
// connection. Implementations: Balancer (balancer.h: real sockets, IO threads) and a simulated
// data plane (no sockets, virtual time).
//
// Contract:
// - start() begins serving, once; stop() ends it and is idempotent: whatever is still open is
//   closed at once.
// - stop_accepting() begins a graceful stop (nginx's graceful shutdown, HAProxy's soft-stop): no
//   new client connection is accepted from then on (the listening socket closes, so a connect is
//   refused), idle keep-alive client connections are closed, and a request in flight finishes:
//   its response carries `Connection: close` (when its header has not left yet) and its
//   connection then closes. The caller waits, with a deadline of its own, for
//   BalancerStats::active_connections to reach 0 and then calls stop(). Idempotent; after
//   start(), before stop().
// - set_target_group() replaces a group's routable set. It takes effect asynchronously: a
//   request may still land on a removed target for a short while, and requests in flight on a
//   removed target finish. A target is the same one if its id and endpoint are (its weight may
//   change). An unknown group is a UserError. set_targets() fills the group "default".
// - stats() is a pure read: counters since start(), with no side effect on what later calls
//   return. Its per-target entries cover the targets of the current sets and removed targets
//   that still have requests in flight.
// - target_load() is the cheap per-target read that draining and outlier detection poll: a
//   target the data plane does not know (never published, or removed and idle) reads as
//   TargetLoad{} (nothing in flight, no failures).
// - Failure streaks: per target, failures in a row (connect errors, resets, timeouts, bad
//   responses, 5xx; any other response ends the run) are counted into streaks of the
//   published BalancerTarget::failure_streak by failure_makes_streak(). TargetLoad::
//   failure_streaks only grows while the data plane knows the target, so a poller that compares
//   it with what it read last sees every streak made in between, however short the run that
//   made it and whatever came after it.
//
// Threading: every call on one control thread (an implementation may allow more; Balancer
// says where).
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/endpoint.h"
#include "core/histogram.h"
#include "core/time.h"

namespace flotilla {

// The target group that a data plane without routing rules forwards to (set_targets()).
inline constexpr std::string_view kDefaultTargetGroup = "default";

struct BalancerTarget {
  std::string id;
  Endpoint endpoint;
  std::uint32_t weight = 1;  // share for weighted pickers; 0 = no new requests
  // Failures in a row that make one streak in TargetLoad::failure_streaks (the target group's
  // outlier_detection.consecutive_5xx); 0: no streak is counted. May change as weight does.
  std::uint32_t failure_streak = 0;
  // Slow start: the percent (1..100) of a full share this target gets now, under every
  // algorithm (weighted ones also see the ramp in `weight`). 100 outside a ramp.
  std::uint32_t share_percent = 100;
  bool operator==(const BalancerTarget&) const = default;
};

// Per target, with AWS's metric names where there is one.
struct BalancerTargetStats {
  std::uint64_t requests = 0;       // RequestCount: attempts routed here (a retry counts again)
  std::int64_t outstanding = 0;     // requests in flight to it now
  std::uint64_t errors = 0;         // connect failures, dead connections, timeouts, bad responses
  std::uint64_t responses_2xx = 0;  // HTTPCode_Target_2XX_Count ...
  std::uint64_t responses_3xx = 0;
  std::uint64_t responses_4xx = 0;
  std::uint64_t responses_5xx = 0;
  std::uint64_t target_connection_errors = 0;  // TargetConnectionErrorCount
  // Failed attempts here that were tried again on another target (HAProxy's "Retr"); the sum
  // over targets is the balancer's `retries`.
  std::uint64_t retries = 0;
  // Connect errors, resets, timeouts, bad responses or 5xx in a row, reset by any other
  // response. Counted per IO thread; this is the largest thread's count (passive outlier
  // detection polls it).
  std::uint64_t consecutive_failures = 0;
  // TargetResponseTime: request sent -> response header received, summed over responses.
  Duration response_time_sum{};
  std::uint64_t response_time_count = 0;
};

struct BalancerGroupStats {
  std::uint64_t requests = 0;       // RequestCount: requests routed to the group
  std::uint64_t responses_2xx = 0;  // HTTPCode_Target_2XX_Count ...
  std::uint64_t responses_3xx = 0;
  std::uint64_t responses_4xx = 0;
  std::uint64_t responses_5xx = 0;
  std::uint64_t elb_502 = 0;  // the balancer's answers to this group's requests
  std::uint64_t elb_503 = 0;
  std::uint64_t elb_504 = 0;
  std::uint64_t target_connection_errors = 0;
  std::uint64_t retries = 0;
  LatencyHistogram target_response_time;               // TargetResponseTime
  std::map<std::string, BalancerTargetStats> targets;  // current ones, and removed ones in use
};

// Counters since start(). Every field is a sum over IO threads, read without stopping them, so a
// snapshot may be a few requests out of step between fields.
struct BalancerStats {
  std::uint64_t requests = 0;       // RequestCount: complete request headers from clients
  std::uint64_t responses_2xx = 0;  // HTTPCode_Target_2XX_Count: responses from targets ...
  std::uint64_t responses_3xx = 0;
  std::uint64_t responses_4xx = 0;
  std::uint64_t responses_5xx = 0;
  // Answers from the balancer itself. elb_2xx..elb_5xx (HTTPCode_ELB_*XX_Count) count all of
  // them by class, fixed responses included; the others count single statuses.
  std::uint64_t elb_2xx = 0;
  std::uint64_t elb_3xx = 0;
  std::uint64_t elb_4xx = 0;
  std::uint64_t elb_5xx = 0;
  std::uint64_t elb_400 = 0;                   // malformed or ambiguous request
  std::uint64_t elb_408 = 0;                   // request header too slow
  std::uint64_t elb_413 = 0;                   // body too large
  std::uint64_t elb_431 = 0;                   // header too large
  std::uint64_t elb_502 = 0;                   // bad or vanished target response
  std::uint64_t elb_503 = 0;                   // no target could be reached
  std::uint64_t elb_504 = 0;                   // response timeout
  std::uint64_t target_connection_errors = 0;  // TargetConnectionErrorCount
  std::uint64_t retries = 0;
  std::uint64_t retry_budget_exhausted = 0;  // retries not made because of the budget
  // ActiveConnectionCount: client connections now. The simulated data plane, which leaves
  // connections out, counts one per request in progress.
  std::int64_t active_connections = 0;
  std::uint64_t new_connections = 0;      // NewConnectionCount: client connections accepted
  LatencyHistogram target_response_time;  // TargetResponseTime, every group's
  // Times the listener paused accepting because the process or the system was out of file
  // descriptors or memory (core/accept_backoff.h). The simulated data plane has no listener: 0.
  std::uint64_t accept_pauses = 0;
  // Every group's targets by id (an id in several groups: summed, consecutive_failures the max).
  std::map<std::string, BalancerTargetStats> targets;
  std::map<std::string, BalancerGroupStats> groups;  // every configured group, "default" too
};

// `from` added into `into`, as stats() sums one target over IO threads or groups: sums, and the
// larger consecutive_failures.
void add_target_stats(BalancerTargetStats& into, const BalancerTargetStats& from);

// What the data plane knows about one target, over every group it is in.
struct TargetLoad {
  std::int64_t outstanding = 0;            // requests in flight to it now (summed)
  std::uint64_t consecutive_failures = 0;  // failed in a row (the max over IO threads)
  // Streaks of failure_streak failures in a row so far (summed over IO threads and groups).
  // Grows while the target is known; a target forgotten and published again counts from 0.
  std::uint64_t failure_streaks = 0;
  bool operator==(const TargetLoad&) const = default;
};

// The streak rule both data planes count by, per target (and per IO thread). Called on each
// failure: `toward` holds the failures of the current run not yet in a streak; when it reaches
// `threshold` it restarts and the call returns true (one more streak), so a run of k x threshold
// failures makes k streaks and a target that keeps failing after an ejection makes new ones. A
// success sets `toward` to 0. Threshold 0 makes none. One increment and one compare per
// failure: it sits on the proxy's response path.
inline bool failure_makes_streak(std::uint32_t& toward, std::uint32_t threshold) {
  if (++toward < threshold) return false;
  toward = 0;
  return threshold != 0;
}

class DataPlane {
 public:
  virtual ~DataPlane() = default;

  virtual void start() = 0;
  virtual void stop() = 0;
  virtual void stop_accepting() = 0;

  virtual void set_target_group(const std::string& name, std::vector<BalancerTarget> targets) = 0;
  // set_target_group("default", targets).
  void set_targets(std::vector<BalancerTarget> targets) {
    set_target_group(std::string(kDefaultTargetGroup), std::move(targets));
  }

  virtual BalancerStats stats() const = 0;
  virtual TargetLoad target_load(const std::string& id) const = 0;
};

}  // namespace flotilla
