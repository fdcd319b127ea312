#pragma once
// ScalingPolicy: decides the group's desired capacity from recent metrics (AWS: a scaling
// policy; Kubernetes: the HPA's replica calculation).
//
// Contract:
// - decide() is a pure function of its arguments (and the policy's configuration): no IO, no
//   clock reads, no randomness. `now` is the evaluation time; the snapshot's last period ends at
//   or before it.
// - metrics() says what the loop must gather into the snapshot; it does not change over the
//   policy's life.
// - A Decision without `desired` means "no change"; `reason` always says why, in words a user
//   can check against the numbers ("CPUUtilization 78.2 > 50 for 3 periods: desired 2 -> 4
//   (ceil(2 x 78.2 / 50))"). `desired`, when set, already lies within [group.min, group.max].
//
// Threading: control plane only.
#include <optional>
#include <string>
#include <vector>

#include "core/time.h"
#include "scaling/group_state.h"
#include "scaling/metrics_snapshot.h"

namespace flotilla {

struct Decision {
  std::optional<int> desired;  // nullopt: no change
  std::string reason;
  // The capacity the policy's formula asked for before clamping to [min, max], when it computed
  // one (for the decision log).
  std::optional<int> unclamped;
};

class ScalingPolicy {
 public:
  virtual ~ScalingPolicy() = default;

  virtual const std::string& name() const = 0;
  // The registry name of the policy's type, e.g. "target_tracking".
  virtual const std::string& type() const = 0;
  virtual std::vector<MetricRequest> metrics() const = 0;
  virtual Decision decide(const MetricsSnapshot& metrics, const GroupState& group, Time now) = 0;
};

}  // namespace flotilla
