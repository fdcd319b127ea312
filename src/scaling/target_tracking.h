#pragma once
// Target tracking (AWS: a TargetTrackingScaling policy). The metric is one of AWS's predefined
// metrics for a group, ASGAverageCPUUtilization or ALBRequestCountPerTarget, or a customized
// metric (namespace, name, dimensions, statistic). AWS hides two alarms behind such a policy;
// their defaults are kept and, unlike AWS, can be changed: scale out when the last 3 of 3
// periods are above the target, scale in when the last 15 of 15 are below 90% of it.
//
// The new capacity is ceil(n x metric / target) with the metric of the latest period. n is the
// number of workers the metric is spread over: for ASGAverageCPUUtilization the in-service
// workers past warm-up (the ones averaged), otherwise every in-service worker. Rounding up adds
// capacity generously and removes it conservatively, as AWS does.
//
// Warm-up (AWS's instance warmup): workers still warming are left out of the CPU average (the
// loop gathers it so), and scale-in is held while any worker that counts toward desired capacity
// is pending or warming up: until then the metric does not reflect the capacity being paid for.
// The scale-in cooldown (a Flotilla extension; EC2 Auto Scaling has none for target tracking)
// counts from the last change of desired capacity in either direction.
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/config.h"
#include "scaling/scaling_policy.h"

namespace flotilla {

inline constexpr const char* kTargetTrackingType = "target_tracking";

// AWS's CustomizedMetricSpecification (without metric math).
struct CustomMetric {
  std::string ns;
  std::string name;
  std::vector<std::pair<std::string, std::string>> dimensions;
  Statistic statistic = Statistic::average;
};

struct TargetTrackingConfig {
  std::string name = "target-tracking";
  // kAsgAverageCpuUtilization, kAlbRequestCountPerTarget, or empty when `custom` is set.
  std::string metric = kAsgAverageCpuUtilization;
  std::optional<CustomMetric> custom;
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
  PolicyRole role() const override { return PolicyRole::tracking; }
  bool may_scale_in() const override { return !config_.disable_scale_in; }
  Decision decide(const MetricsSnapshot& metrics, const GroupState& group, Time now) override;

  const TargetTrackingConfig& config() const { return config_; }
  // The key of its series in the snapshot and the name reasons use ("CPUUtilization").
  std::string metric_key() const;
  std::string metric_display_name() const;

 private:
  TargetTrackingConfig config_;
};

// The native JSON form (policies/*.json):
//   { "name": "cpu-target-50", "type": "target_tracking", "metric": "ASGAverageCPUUtilization",
//     "target_value": 50, "scale_out_periods": 3, "scale_in_periods": 15,
//     "scale_in_ratio": 0.9, "warmup": "4s", "disable_scale_in": false,
//     "scale_in_cooldown": "30s", "description": "..." }
// "metric" is "ASGAverageCPUUtilization", "ALBRequestCountPerTarget" (requests per target per
// minute) or {"namespace": "...", "name": "...", "dimensions": {"K": "V"}, "statistic":
// "Average"}. Only "type" and "target_value" are required; "name" defaults to the file's stem.
TargetTrackingConfig parse_target_tracking_config(const ConfigNode& node);
std::unique_ptr<ScalingPolicy> parse_target_tracking(const ConfigNode& node);
// The native JSON of a config (what `flotilla policy import` prints).
nlohmann::json target_tracking_to_json(const TargetTrackingConfig& config);

}  // namespace flotilla
