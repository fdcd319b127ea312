#pragma once
// Target group: the registered targets, their health, and which of them the balancer may route
// to, with what weight (AWS: an ELBv2 target group with its health check settings and
// attributes).
//
// - register_target() starts a target in `initial`; health checks every `interval` move it to
//   `healthy` after healthy_threshold consecutive passes and to `unhealthy` after
//   unhealthy_threshold consecutive failures (from `initial` or `healthy`). A check passes when
//   the response status matches the matcher ("200", "200,202", "200-299").
// - deregister_target() moves it to `draining` at once (out of routing: no new requests); it is
//   released (`unused`, callback on_released, then dropped) when the data plane reports nothing
//   in flight to it, or after deregistration_delay, whichever comes first.
// - Passive checks (outlier_detection.h): targets whose real requests fail in a row are ejected
//   for a while; an ejected target keeps its health state but is not routed to.
// - Slow start: a target that becomes healthy while another healthy target is not in slow start
//   (AWS's rule) gets a weight that ramps linearly from kSlowStartInitialPercent% to full over
//   `slow_start`; the routable set is republished with new weights (and share_percent, the ramp
//   as a percent, for the pickers that ignore weight) every slow_start_update.
// - Routable = the healthy targets that are not ejected. When there is none: with fail_open
//   (AWS's behaviour), every registered target that is not draining; without, none (the
//   balancer answers 503). Callbacks::publish gets the routable set each time it changes (ids,
//   endpoints or weights); the orchestrator connects it to DataPlane::set_targets.
// - The data plane's view (per-target in-flight requests and failure streaks) comes from a
//   LoadSource asked for the targets it matters to every load_poll_interval; without one,
//   draining lasts deregistration_delay and nothing is ejected. Each published target carries
//   outlier_detection.consecutive_5xx as its failure_streak, the streak length the data plane
//   counts.
//
// Threading: single-threaded control plane. Every call and every callback happens on the thread
// that runs the scheduler (and, for real health checks, the io_context they use).
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "balancer/data_plane.h"
#include "balancer/http_client.h"
#include "balancer/outlier_detection.h"
#include "core/endpoint.h"
#include "core/scheduler.h"

namespace boost::asio {
class io_context;
}

namespace flotilla {

enum class TargetState { kInitial, kHealthy, kUnhealthy, kDraining, kUnused };

// "initial", "healthy", "unhealthy", "draining", "unused"
std::string_view to_string(TargetState state);

// AWS's TargetHealth reason codes, by state: initial (RegistrationInProgress,
// InitialHealthChecking), healthy (none), unhealthy (ResponseCodeMismatch, Timeout,
// FailedHealthChecks), draining (DeregistrationInProgress), unused (NotRegistered).
namespace target_reason {
inline constexpr std::string_view kNone = "";
inline constexpr std::string_view kRegistrationInProgress = "Elb.RegistrationInProgress";
inline constexpr std::string_view kInitialHealthChecking = "Elb.InitialHealthChecking";
inline constexpr std::string_view kResponseCodeMismatch = "Target.ResponseCodeMismatch";
inline constexpr std::string_view kTimeout = "Target.Timeout";
inline constexpr std::string_view kFailedHealthChecks = "Target.FailedHealthChecks";
inline constexpr std::string_view kDeregistrationInProgress = "Target.DeregistrationInProgress";
inline constexpr std::string_view kNotRegistered = "Target.NotRegistered";
}  // namespace target_reason

// A health check response's expected status codes, as ALB's Matcher.HttpCode spells them: one
// code "200", a list "200,202", a range "200-299", or a mix "200,300-399". Codes from 200 to 499
// (ALB's limits for HTTP).
struct StatusMatcher {
  // Not `= {{200, 200}}`: GCC 12 warns (falsely) about the initializer_list at -O2.
  StatusMatcher() : ranges(1, {200, 200}) {}
  std::vector<std::pair<int, int>> ranges;  // inclusive
  bool matches(int status) const;
  std::string to_string() const;  // "200,300-399"
  bool operator==(const StatusMatcher&) const = default;
};
// nullopt when malformed (empty, not numbers, a code outside 200-499, a range that ends first).
std::optional<StatusMatcher> parse_status_matcher(std::string_view text);

// Shorter than AWS's defaults (interval 30 s, timeout 5 s, healthy 5, unhealthy 2) on purpose:
// local workers start in well under a second, and scenarios that kill workers should see the
// group react within a couple of seconds, not minutes. AWS's path default is "/"; Flotilla's
// workers answer "/health".
struct HealthCheckConfig {
  std::string path = "/health";
  Duration interval = 1s;
  Duration timeout = 500ms;
  int healthy_threshold = 2;
  int unhealthy_threshold = 2;
  StatusMatcher matcher;
  bool operator==(const HealthCheckConfig&) const = default;
};

// Published weights with slow start on are the target's weight times this, so that a ramp has
// steps even for weight 1.
inline constexpr std::uint32_t kSlowStartWeightScale = 100;
// Where a slow-start ramp begins (Envoy's min_weight_percent default; AWS does not say).
inline constexpr int kSlowStartInitialPercent = 10;

// The weight of a target `elapsed` into a slow start of `window`: from kSlowStartInitialPercent%
// of `full` at 0 linearly to `full` at `window`, never below 1 (a weight 0 target is not
// routable). `full` when the window is over or zero.
std::uint32_t slow_start_weight(std::uint32_t full, Duration elapsed, Duration window);

// The target group's attributes (AWS: target group attributes and health check settings).
// Flotilla's defaults differ from AWS's where noted.
struct TargetGroupConfig {
  HealthCheckConfig health_check;
  // AWS's deregistration_delay.timeout_seconds is 300 s; Flotilla's 5 s: a local worker's
  // requests finish in milliseconds, and scale-in should be visible within a scenario.
  Duration deregistration_delay = 5s;
  // AWS's slow_start.duration_seconds: 0 (off, the default) or 30 s to 900 s; Flotilla accepts
  // 0 to 900 s. The ramp acts under every algorithm: weighted ones see the ramped weight, the
  // others BalancerTarget::share_percent.
  Duration slow_start = Duration::zero();
  // AWS routes to every target when none is healthy; false: route to none (503).
  bool fail_open = true;
  OutlierDetectionConfig outlier_detection;
  // How often the data plane's per-target counts are read (draining, outlier detection).
  Duration load_poll_interval = 250ms;
  // How often weights are republished during a slow-start ramp.
  Duration slow_start_update = 500ms;
};

// ---- the threshold state machine, a pure function (table-tested) ----

enum class CheckOutcome { kPassed, kResponseCodeMismatch, kTimeout, kFailed };

// A status the matcher accepts passes; another status is a mismatch; a timeout is a timeout;
// anything else (refused, reset, malformed) failed.
CheckOutcome classify(const HttpGetResult& result, const StatusMatcher& matcher = {});

struct HealthCounters {
  int consecutive_passes = 0;
  int consecutive_failures = 0;
  bool operator==(const HealthCounters&) const = default;
};

struct HealthStep {
  TargetState state;
  std::string_view reason;  // one of target_reason
  HealthCounters counters;
};

// The state after one check. Only initial, healthy and unhealthy targets change; draining and
// unused ones keep their state and reason whatever the outcome.
HealthStep next_health(TargetState state, std::string_view reason, HealthCounters counters,
                       CheckOutcome outcome, const HealthCheckConfig& config);

// ---- routing, a pure function (table-tested) ----

struct TargetInfo {
  std::string id;
  Endpoint endpoint;
  TargetState state = TargetState::kInitial;
  std::string reason;
  HealthCounters counters;
  int last_status = 0;                 // of the last check that got a response, else 0
  std::string last_error;              // of the last failed check, else empty
  std::optional<Time> last_check_at;   // when the last check's answer (or failure) came
  std::uint32_t weight = 1;            // as registered
  std::uint32_t published_weight = 1;  // what the balancer gets now (slow start, scale)
  bool ejected = false;                // by outlier detection
  Time ejected_until{};                // when ejected
  int ejections = 0;                   // the outlier multiplier
  std::optional<Time> slow_start_until;
  std::optional<Time> release_by;  // when draining: the deregistration delay's end
};

// The set to publish: healthy targets that are not ejected, with their published weights; if
// there is none, with fail_open every target that is neither draining nor unused, at full
// weight (`full_scale` x weight); without fail_open, nothing.
std::vector<BalancerTarget> routable_targets(const std::vector<TargetInfo>& targets, bool fail_open,
                                             std::uint32_t full_scale);

// HealthyHostCount and UnHealthyHostCount as an ALB reports them (by health check state;
// an ejected target still counts as healthy and is also counted in `ejected`).
struct TargetHealthCounts {
  std::size_t healthy = 0;
  std::size_t unhealthy = 0;
  std::size_t initial = 0;
  std::size_t draining = 0;
  std::size_t ejected = 0;
  bool operator==(const TargetHealthCounts&) const = default;
};
TargetHealthCounts count_targets(const std::vector<TargetInfo>& targets);

// ---- the group ----

class TargetGroup {
 public:
  // Performs one health check and calls `done` once with its result (inline or later).
  using Probe = std::function<void(const Endpoint& endpoint, const std::string& path,
                                   Duration timeout, std::function<void(HttpGetResult)> done)>;
  // The data plane's counts for one target id (DataPlane::target_load); a target it does not
  // know reads as TargetLoad{}: nothing in flight and no failure streaks. Asked on each load
  // poll for each target that is draining (after its first poll) or, with outlier detection,
  // in the group (not draining).
  using LoadSource = std::function<TargetLoad(const std::string& id)>;
  struct Callbacks {
    std::function<void(const std::string& id, TargetState old_state, TargetState new_state,
                       std::string_view reason)>
        on_state_change;
    std::function<void(std::vector<BalancerTarget>)> publish;
    // A draining target was let go (idle, or its deregistration delay passed): the worker
    // behind it may be stopped now. Called once per deregistration, after the change to unused.
    std::function<void(const std::string& id)> on_released;
    // Outlier detection ejected a target (ejected = true, until when) or let it back.
    std::function<void(const std::string& id, bool ejected, Time until)> on_ejection;
  };

  // Health checks with http_get on `io` (the io_context that runs `scheduler`).
  TargetGroup(Scheduler& scheduler, boost::asio::io_context& io, TargetGroupConfig config = {});
  TargetGroup(Scheduler& scheduler, boost::asio::io_context& io, HealthCheckConfig health);
  // Health checks by `probe`: for tests and the simulator.
  TargetGroup(Scheduler& scheduler, Probe probe, TargetGroupConfig config = {});
  TargetGroup(Scheduler& scheduler, Probe probe, HealthCheckConfig health);
  ~TargetGroup();
  TargetGroup(const TargetGroup&) = delete;
  TargetGroup& operator=(const TargetGroup&) = delete;

  void set_callbacks(Callbacks callbacks);
  // Starts polling `source` every load_poll_interval (draining, outlier detection).
  void set_load_source(LoadSource source);

  // A new id starts in `initial` and is checked at once, then every interval. Registering a
  // registered id with the same endpoint updates its weight; with another endpoint, or an id
  // that is draining, it starts over as a new target (a draining one is not released).
  void register_target(const std::string& id, const Endpoint& endpoint, std::uint32_t weight = 1);
  // Takes the target out of routing and drains it. Unknown or already draining ids are ignored.
  void deregister_target(const std::string& id);

  std::vector<TargetInfo> targets() const;  // in registration order, draining ones included
  std::optional<TargetInfo> target(const std::string& id) const;
  std::vector<BalancerTarget> routable() const;
  TargetHealthCounts counts() const;
  std::size_t healthy_host_count() const;
  std::size_t unhealthy_host_count() const;
  const HealthCheckConfig& config() const;
  const TargetGroupConfig& group_config() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace flotilla
