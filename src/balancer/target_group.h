#pragma once
// Target group: the registered targets, their health, and which of them the balancer may route
// to (AWS: an ELBv2 target group with its health check settings).
//
// - register_target() starts a target in `initial`; health checks every `interval` move it to
//   `healthy` after healthy_threshold consecutive passes and to `unhealthy` after
//   unhealthy_threshold consecutive failures (from `initial` or `healthy`).
// - deregister_target() takes it out of routing at once (draining -> unused, then dropped; a
//   connection-draining delay comes later).
// - Routable = the healthy targets; when none is healthy but some are registered, every
//   registered target that is not draining (fail open, as an ALB does). Callbacks::publish gets
//   the routable set each time it changes; the orchestrator connects it to Balancer::set_targets.
//
// Threading: single-threaded control plane. Every call and every callback happens on the thread
// that runs the scheduler (and, for real health checks, the io_context they use).
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "balancer/balancer.h"
#include "balancer/http_client.h"
#include "core/scheduler.h"
#include "fleet/provider.h"

namespace boost::asio {
class io_context;
}

namespace flotilla {

enum class TargetState { kInitial, kHealthy, kUnhealthy, kDraining, kUnused };

// "initial", "healthy", "unhealthy", "draining", "unused"
std::string_view to_string(TargetState state);

// AWS's TargetHealth reason codes.
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

// Shorter than AWS's defaults (interval 30 s, timeout 5 s, healthy 5, unhealthy 2) on purpose:
// local workers start in well under a second, and scenarios that kill workers should see the
// group react within a couple of seconds, not minutes.
struct HealthCheckConfig {
  std::string path = "/health";
  Duration interval = 1s;
  Duration timeout = 500ms;
  int healthy_threshold = 2;
  int unhealthy_threshold = 2;
};

// ---- the threshold state machine, a pure function (table-tested) ----

enum class CheckOutcome { kPassed, kResponseCodeMismatch, kTimeout, kFailed };

// Status 200 passes (the only matcher for now); another status is a mismatch; a timeout is a
// timeout; anything else (refused, reset, malformed) failed.
CheckOutcome classify(const HttpGetResult& result);

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

// ---- the group ----

struct TargetInfo {
  std::string id;
  Endpoint endpoint;
  TargetState state = TargetState::kInitial;
  std::string reason;
  HealthCounters counters;
  int last_status = 0;     // of the last check that got a response, else 0
  std::string last_error;  // of the last failed check, else empty
};

class TargetGroup {
 public:
  // Performs one health check and calls `done` once with its result (inline or later).
  using Probe = std::function<void(const Endpoint& endpoint, const std::string& path,
                                   Duration timeout, std::function<void(HttpGetResult)> done)>;
  struct Callbacks {
    std::function<void(const std::string& id, TargetState old_state, TargetState new_state,
                       std::string_view reason)>
        on_state_change;
    std::function<void(std::vector<BalancerTarget>)> publish;
  };

  // Health checks with http_get on `io` (the io_context that runs `scheduler`).
  TargetGroup(Scheduler& scheduler, boost::asio::io_context& io, HealthCheckConfig config = {});
  // Health checks by `probe`: for tests and the simulator.
  TargetGroup(Scheduler& scheduler, Probe probe, HealthCheckConfig config = {});
  ~TargetGroup();
  TargetGroup(const TargetGroup&) = delete;
  TargetGroup& operator=(const TargetGroup&) = delete;

  void set_callbacks(Callbacks callbacks);

  // A new id starts in `initial` and is checked at once, then every interval. Registering a
  // registered id with the same endpoint does nothing; with another endpoint it replaces it.
  void register_target(const std::string& id, const Endpoint& endpoint);
  // Unknown ids are ignored.
  void deregister_target(const std::string& id);

  std::vector<TargetInfo> targets() const;  // in registration order
  std::optional<TargetInfo> target(const std::string& id) const;
  std::vector<BalancerTarget> routable() const;
  std::size_t healthy_host_count() const;
  std::size_t unhealthy_host_count() const;
  const HealthCheckConfig& config() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace flotilla
