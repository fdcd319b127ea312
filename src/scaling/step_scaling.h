#pragma once
// Step scaling and simple scaling (AWS: PolicyType StepScaling and SimpleScaling), both driven by
// a CloudWatch alarm: they act on every evaluation while their alarm is in ALARM (CloudWatch
// invokes Auto Scaling actions every period the alarm stays in ALARM).
//
// Adjustments (AWS's AdjustmentType), from a base capacity b:
// - ChangeInCapacity: b + adjustment.
// - ExactCapacity: adjustment.
// - PercentChangeInCapacity: b + b x adjustment / 100, the change truncated toward zero except
//   that a change strictly between 0 and 1 (or -1 and 0) becomes 1 (-1); then, if its size is
//   below MinAdjustmentMagnitude, that magnitude.
// The result is clamped to [group.min, group.max].
//
// Step bounds (MetricIntervalLowerBound/UpperBound) are relative to the alarm threshold; absent
// (null) means infinity. For a value above the threshold the lower bound is inclusive and the
// upper exclusive; below it, the lower exclusive and the upper inclusive. The value compared is
// the MetricAggregationType (Average, Minimum, Maximum) of the alarm's breaching datapoints.
//
// Step scaling and warm-up (AWS's EstimatedInstanceWarmup): workers pending or still warming count
// toward the capacity being added, so while some warm up the base is desired minus the warming
// workers and the policy only raises desired when the matched step asks for more than that
// (several breaches in the same step make one activity). Scale-in is held until no worker is
// warming. Step scaling has no cooldown.
//
// Simple scaling and cooldown: after a change of desired capacity (any cause: Flotilla's group
// keeps one clock, as AWS's default cooldown does) the policy waits for its cooldown, and while
// workers it added are still pending, before acting again.
//
// Threading: control plane only.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/config.h"
#include "metrics/alarm.h"
#include "scaling/scaling_policy.h"

namespace flotilla {

inline constexpr const char* kStepScalingType = "step_scaling";
inline constexpr const char* kSimpleScalingType = "simple_scaling";

enum class AdjustmentType { change_in_capacity, exact_capacity, percent_change_in_capacity };
// AWS spelling: "ChangeInCapacity", "ExactCapacity", "PercentChangeInCapacity".
std::string to_string(AdjustmentType t);
std::optional<AdjustmentType> parse_adjustment_type(std::string_view text);

enum class MetricAggregation { average, minimum, maximum };

struct StepAdjustment {
  std::optional<double> lower;  // nullopt: -infinity
  std::optional<double> upper;  // nullopt: +infinity
  int adjustment = 0;
};

struct StepScalingConfig {
  std::string name = "step-scaling";
  AdjustmentType adjustment_type = AdjustmentType::change_in_capacity;
  std::vector<StepAdjustment> steps;
  std::optional<int> min_adjustment_magnitude;
  MetricAggregation aggregation = MetricAggregation::average;
  Duration warmup{};
};

struct SimpleScalingConfig {
  std::string name = "simple-scaling";
  AdjustmentType adjustment_type = AdjustmentType::change_in_capacity;
  int adjustment = 1;
  std::optional<int> min_adjustment_magnitude;
  Duration cooldown = std::chrono::seconds(300);
};

// The new capacity an adjustment asks for from base capacity `base` (before clamping).
int adjusted_capacity(AdjustmentType type, int adjustment, int base,
                      std::optional<int> min_adjustment_magnitude);

// AWS's rules for step adjustments: ranges may not overlap or leave a gap; at most one step
// has no lower bound and at most one no upper bound; none has neither; a step's lower bound lies
// below its upper. Each problem names the step by its index in `steps`.
struct StepProblem {
  std::size_t step = 0;
  std::string field;  // "lower", "upper" or "" (the step as a whole)
  std::string message;
};
std::vector<StepProblem> check_steps(const std::vector<StepAdjustment>& steps);
// "[10, 20)" / "(-inf, 0]": the values relative to the threshold that the step matches.
std::string describe_step(const StepAdjustment& step, bool above);

// The pure decisions. `alarm` null: the alarm was never evaluated (no change).
Decision decide_step_scaling(const StepScalingConfig& config, const AlarmSnapshot* alarm,
                             const GroupState& group, Time now);
Decision decide_simple_scaling(const SimpleScalingConfig& config, const AlarmSnapshot* alarm,
                               const GroupState& group, Time now);

}  // namespace flotilla

namespace flotilla {

struct PolicyLoadOptions;

class StepScalingPolicy final : public ScalingPolicy {
 public:
  StepScalingPolicy(StepScalingConfig config, AlarmConfig alarm);
  const std::string& name() const override { return config_.name; }
  const std::string& type() const override;
  std::vector<MetricRequest> metrics() const override { return {}; }
  std::vector<AlarmConfig> alarms() const override { return {alarm_}; }
  PolicyRole role() const override { return PolicyRole::alarm; }
  Decision decide(const MetricsSnapshot& metrics, const GroupState& group, Time now) override;
  const StepScalingConfig& config() const { return config_; }
  const AlarmConfig& alarm() const { return alarm_; }

 private:
  StepScalingConfig config_;
  AlarmConfig alarm_;
};

class SimpleScalingPolicy final : public ScalingPolicy {
 public:
  SimpleScalingPolicy(SimpleScalingConfig config, AlarmConfig alarm);
  const std::string& name() const override { return config_.name; }
  const std::string& type() const override;
  std::vector<MetricRequest> metrics() const override { return {}; }
  std::vector<AlarmConfig> alarms() const override { return {alarm_}; }
  PolicyRole role() const override { return PolicyRole::alarm; }
  Decision decide(const MetricsSnapshot& metrics, const GroupState& group, Time now) override;
  const SimpleScalingConfig& config() const { return config_; }
  const AlarmConfig& alarm() const { return alarm_; }

 private:
  SimpleScalingConfig config_;
  AlarmConfig alarm_;
};

// The native JSON forms (policies/*.json):
//   { "type": "step_scaling", "name": "cpu-steps", "alarm": "cpu-high.alarm.json",
//     "adjustment_type": "ChangeInCapacity", "min_adjustment_magnitude": 1,
//     "metric_aggregation": "Average", "warmup": "60s",
//     "steps": [ {"lower": 0, "upper": 20, "adjustment": 1}, {"lower": 20, "adjustment": 3} ] }
//   { "type": "simple_scaling", "name": "add-two", "alarm": {...}, "adjustment_type":
//     "ChangeInCapacity", "adjustment": 2, "cooldown": "300s" }
// "alarm" is a path to the JSON of `aws cloudwatch put-metric-alarm --cli-input-json` (relative
// to the policy file) or that JSON inline; it is AWS's format wherever it appears, so its Period
// scales by the load options' time_scale. A missing step bound is infinite. Steps are checked
// with check_steps() (errors name the step's field).
std::unique_ptr<ScalingPolicy> parse_step_scaling(const ConfigNode& node,
                                                  const PolicyLoadOptions& options);
std::unique_ptr<ScalingPolicy> parse_simple_scaling(const ConfigNode& node,
                                                    const PolicyLoadOptions& options);
nlohmann::json step_scaling_to_json(const StepScalingConfig& config, const nlohmann::json& alarm);
nlohmann::json simple_scaling_to_json(const SimpleScalingConfig& config,
                                      const nlohmann::json& alarm);

}  // namespace flotilla
