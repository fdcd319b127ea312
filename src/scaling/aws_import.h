#pragma once
// AWS's own policy input: the JSON of `aws autoscaling put-scaling-policy --cli-input-json`,
// converted to Flotilla's native policy JSON (policy_file.h says where it is accepted).
//
//   TargetTrackingScaling -> "target_tracking": PredefinedMetricType ASGAverageCPUUtilization or
//     ALBRequestCountPerTarget (ResourceLabel accepted and ignored: there is one target group),
//     or a CustomizedMetricSpecification (Namespace, MetricName, Dimensions, Statistic; Unit
//     ignored; metric math is not supported); TargetValue; DisableScaleIn; the hidden alarms'
//     defaults (3 of 3 above, 15 of 15 below 90%).
//   StepScaling -> "step_scaling": AdjustmentType, MinAdjustmentMagnitude, MetricAggregationType,
//     StepAdjustments (checked for gaps and overlaps), and the alarm (see below).
//   SimpleScaling (AWS's default PolicyType) -> "simple_scaling": AdjustmentType,
//     ScalingAdjustment, Cooldown (default 300), MinAdjustmentMagnitude, and the alarm.
// EstimatedInstanceWarmup defaults to 300 s (AWS uses the group's DefaultCooldown, 300 s by
// default). Seconds are multiplied by the time scale. AutoScalingGroupName is accepted and
// ignored (the policy applies to the scenario's group); PolicyName becomes the name (default: the
// file's stem). Enabled must be true if present. Unknown fields are mistakes.
//
// The alarm of a step or simple policy is the put-metric-alarm JSON named by
// PolicyLoadOptions::alarm_file or found beside the policy (policy_file.h); it is inlined into
// the native JSON as it was written.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "core/config.h"
#include "scaling/policy_file.h"

namespace flotilla {

// The longest duration AWS's policy fields take (Cooldown, EstimatedInstanceWarmup), in seconds;
// the importer and the export share it.
inline constexpr double kAwsMaxSeconds = 86400;

nlohmann::json import_aws_scaling_policy(const ConfigNode& node, const PolicyLoadOptions& options);

// The alarm file for the AWS policy named `policy_name` in `policy_path` (see
// PolicyLoadOptions::alarm_file); nullopt if none is found.
std::optional<std::string> find_alarm_file(const std::string& policy_path,
                                           const std::string& policy_name,
                                           const PolicyLoadOptions& options);

}  // namespace flotilla
