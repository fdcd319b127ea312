#pragma once
// Target tracking on the group's average CPUUtilization (AWS: a TargetTrackingScaling policy with
// the predefined metric ASGAverageCPUUtilization). AWS hides two alarms behind such a policy; their
// defaults are kept: scale out when the last 3 of 3 periods are above the target, scale in when
// the last 15 of 15 are below 90% of it.
//
// The new capacity is ceil(n x metric / target), n being the in-service workers past warm-up (the
// ones the metric was averaged over), with the metric of the latest period. Rounding up adds
// capacity generously and removes it conservatively, as AWS does.
//
// Scale-in is held (no change) while any worker that counts toward desired capacity is pending
// or warming up: until then the metric does not reflect the capacity being paid for.
// The scale-in cooldown counts from the last change of desired capacity in either direction,
// so a group does not shrink right after it grew.
#include <memory>
#include <optional>
#include <string>

#include "core/config.h"
#include "scaling/scaling_policy.h"

namespace flotilla {

inline constexpr const char* kTargetTrackingType = "target_tracking";

struct TargetTrackingConfig {
  std::string name = "target-tracking";
  std::string metric = kAsgAverageCpuUtilization;
  double target_value = 50;
  int scale_out_periods = 3;
  int scale_in_periods = 15;
  double scale_in_ratio = 0.9;  // scale-in fires below target_value x scale_in_ratio
  Duration warmup{};
  bool disable_scale_in = false;
  std::optional<Duration> scale_in_cooldown;
};

class TargetTrackingPolicy final : public ScalingPolicy {
 public:
  explicit TargetTrackingPolicy(TargetTrackingConfig config);

  const std::string& name() const override { return config_.name; }
  const std::string& type() const override;
  std::vector<MetricRequest> metrics() const override;
  Decision decide(const MetricsSnapshot& metrics, const GroupState& group, Time now) override;

  const TargetTrackingConfig& config() const { return config_; }

 private:
  TargetTrackingConfig config_;
};

// The native JSON form (policies/*.json):
//   { "name": "cpu-target-50", "type": "target_tracking", "metric": "ASGAverageCPUUtilization",
//     "target_value": 50, "scale_out_periods": 3, "scale_in_periods": 15,
//     "scale_in_ratio": 0.9, "warmup": "4s", "disable_scale_in": false,
//     "scale_in_cooldown": "30s", "description": "..." }
// Only "type" and "target_value" are required; "name" defaults to the file's stem.
TargetTrackingConfig parse_target_tracking_config(const ConfigNode& node);
std::unique_ptr<ScalingPolicy> parse_target_tracking(const ConfigNode& node);

// "78.2", "50", "0.05": at most two decimals, no trailing zeros (for decision reasons).


}  // namespace flotilla
