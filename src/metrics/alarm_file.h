#pragma once
// The alarm JSON of `aws cloudwatch put-metric-alarm --cli-input-json`, as an AlarmConfig:
//
//   { "AlarmName": "cpu-high", "Namespace": "AWS/EC2", "MetricName": "CPUUtilization",
//     "Dimensions": [{"Name": "AutoScalingGroupName", "Value": "web"}],
//     "Statistic": "Average",               // or "ExtendedStatistic": "p99.9"
//     "Period": 60, "EvaluationPeriods": 3, "DatapointsToAlarm": 2, "Threshold": 70,
//     "ComparisonOperator": "GreaterThanThreshold", "TreatMissingData": "missing",
//     "AlarmActions": ["arn:..."] }
//
// Required: AlarmName, Namespace, MetricName, Period (whole seconds >= 1), EvaluationPeriods,
// Threshold, ComparisonOperator, and exactly one of Statistic / ExtendedStatistic.
// DatapointsToAlarm defaults to EvaluationPeriods; TreatMissingData to "missing".
// Accepted and ignored: AlarmDescription, ActionsEnabled, OKActions, AlarmActions,
// InsufficientDataActions, Unit, EvaluateLowSampleCountPercentile, Tags.
// Not supported (UserError): Metrics (metric math), ThresholdMetricId, the anomaly-detection
// operators. Unknown fields are mistakes.
//
// Period stays in the file's seconds; the caller applies a scenario's time scale.
// Mistakes throw UserError(file, JSON pointer, what was expected).
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/config.h"
#include "metrics/alarm.h"

namespace flotilla {

// Every field put-metric-alarm's JSON may hold, in the order AWS documents them.
inline constexpr std::string_view kAwsAlarmKeys[] = {"AlarmName",
                                                     "AlarmDescription",
                                                     "ActionsEnabled",
                                                     "OKActions",
                                                     "AlarmActions",
                                                     "InsufficientDataActions",
                                                     "MetricName",
                                                     "Namespace",
                                                     "Statistic",
                                                     "ExtendedStatistic",
                                                     "Dimensions",
                                                     "Period",
                                                     "Unit",
                                                     "EvaluationPeriods",
                                                     "DatapointsToAlarm",
                                                     "Threshold",
                                                     "ComparisonOperator",
                                                     "TreatMissingData",
                                                     "EvaluateLowSampleCountPercentile",
                                                     "Metrics",
                                                     "Tags",
                                                     "ThresholdMetricId"};

AlarmConfig parse_alarm(const ConfigNode& node);
AlarmConfig load_alarm_file(const std::string& path);
// The inverse of parse_alarm (evaluation_range is not part of AWS's format and is left out).
nlohmann::json to_aws_alarm_json(const AlarmConfig& config);

}  // namespace flotilla
