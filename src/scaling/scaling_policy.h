#pragma once
// ScalingPolicy: decides the group's desired capacity from recent metrics (AWS: a scaling
// policy; Kubernetes: the HPA's replica calculation).
//
// Contract:
// - decide() is a function of its arguments, the policy's configuration and, for policies whose
//   semantics need memory (the HPA's recommendation history, a schedule's last evaluation), the
//   earlier calls to decide(): no IO, no clock reads, no randomness. `now` is the evaluation
//   time; the snapshot's last period ends at or before it. The pure core of every policy is a
//   free function with its state passed in, so tables can test it.
// - metrics() says what the loop must gather into the snapshot; it does not change over the
//   policy's life.
// - A Decision without `desired` means "no change"; `reason` always says why, in words a user
//   can check against the numbers ("CPUUtilization 78.2 > 50 for 3 periods: desired 2 -> 4
//   (ceil(2 x 78.2 / 50))"). `desired`, when set, already lies within [group.min, group.max].
// - role() and may_scale_in() say how the decision counts among several policies on one group
//   (scaling/combine.h); like metrics(), they do not change over the policy's life.
//
// Threading: control plane only.
#include <optional>
#include <string>
#include <vector>

#include "core/time.h"
#include "scaling/group_state.h"
#include "scaling/metrics_snapshot.h"

namespace flotilla {

// What held a result back or cut it (Decision::clamped_by, the decision log's `clamped_by`).
inline constexpr const char* kClampMin = "min";
inline constexpr const char* kClampMax = "max";
inline constexpr const char* kClampCooldown = "cooldown";
inline constexpr const char* kClampWarmup = "warmup";
inline constexpr const char* kClampStabilization = "stabilization_window";
inline constexpr const char* kClampDisableScaleIn = "disable_scale_in";
// The HPA's scaling policies (Pods/Percent per periodSeconds) or selectPolicy Disabled.
inline constexpr const char* kClampRate = "rate_limit";
// Combining several policies (scaling/combine.h): a tracking policy's scale-in that another
// tracking policy that may scale in did not agree to.
inline constexpr const char* kClampOtherPolicies = "other_policies";

// What kind of say a policy's decision has when several policies act on one group.
enum class PolicyRole {
  // Target tracking and the Kubernetes HPA: a scale-out counts on its own, a scale-in only when
  // every tracking policy that may scale in asks for less capacity too.
  tracking,
  // Step and simple scaling: counts, in either direction, when its own alarm fires.
  alarm,
  // Scheduled actions: applied as they are, with their limits, before the other policies.
  scheduled,
};

struct Decision {
  std::optional<int> desired;  // nullopt: no change
  std::string reason;
  // The capacity the policy's rule asked for before anything clamped or held it (for the
  // decision log). Set whenever the rule computed one.
  std::optional<int> unclamped;
  // The rule or step that matched, e.g. "3 of 3 periods > 50", "step [10, +inf): +2",
  // "cron 0 9 * * *". Empty when none matched.
  std::string rule;
  // The datapoints the rule looked at, oldest first, and what they are
  // ("AWS/EC2 CPUUtilization{AutoScalingGroupName=g} Average").
  std::string metric;
  std::vector<PeriodValue> datapoints;
  // Why `desired` differs from `unclamped` (or why there is no change although the rule asked
  // for one): kClampMin, kClampMax, kClampCooldown, ... in the order they applied.
  std::vector<std::string> clamped_by;
  // Scheduled actions change the limits too (applied before `desired`).
  std::optional<int> min;
  std::optional<int> max;
  // Set by scheduled actions: `desired` is applied as is, not combined with other policies
  // (AWS applies a scheduled action's DesiredCapacity directly).
  bool overrides = false;

  // The rule asked for a capacity other than `current` (whether or not it was granted).
  bool wanted_change(int current) const {
    return desired.has_value() || (unclamped && *unclamped != current) || !clamped_by.empty() ||
           min || max;
  }
};

class ScalingPolicy {
 public:
  virtual ~ScalingPolicy() = default;

  virtual const std::string& name() const = 0;
  // The registry name of the policy's type, e.g. "target_tracking".
  virtual const std::string& type() const = 0;
  virtual std::vector<MetricRequest> metrics() const = 0;
  // The alarms the loop must evaluate every tick and put into the snapshot (step and simple
  // scaling). Alarms are shared by name: two policies naming the same alarm see one alarm.
  virtual std::vector<AlarmConfig> alarms() const { return {}; }
  // Scenario time 0 (when traffic started), for policies that read a schedule.
  virtual void set_origin(Time /*origin*/) {}
  virtual PolicyRole role() const = 0;
  // False when the configuration forbids the policy to remove capacity on its own metric
  // (target tracking's disable_scale_in, an HPA whose scale-down selectPolicy is Disabled): such
  // a tracking policy has no say in another tracking policy's scale-in.
  virtual bool may_scale_in() const { return true; }
  virtual Decision decide(const MetricsSnapshot& metrics, const GroupState& group, Time now) = 0;
};

}  // namespace flotilla
