#pragma once
// The way back to production: a policy tested in Flotilla, written as AWS or Kubernetes takes it.
// Export is the exact inverse of the importers (aws_import.h, hpa.h): importing what it writes
// gives the policy it was given, and an AWS or HPA document imported and exported again is the
// document (key order aside; defaults that the import filled in are then written out).
//
// To AWS (the JSON of `aws autoscaling put-scaling-policy --cli-input-json`):
//   target_tracking -> TargetTrackingScaling: PredefinedMetricSpecification or
//     CustomizedMetricSpecification, TargetValue, DisableScaleIn, EstimatedInstanceWarmup.
//     Refused: scale_out_periods other than 3, scale_in_periods other than 15, scale_in_ratio
//     other than 0.9 (AWS's hidden alarms are fixed), and a non-zero scale_in_cooldown (AWS's
//     target tracking has none).
//   step_scaling -> StepScaling: AdjustmentType, MinAdjustmentMagnitude, MetricAggregationType
//     (when the native file gives one), StepAdjustments, EstimatedInstanceWarmup.
//   simple_scaling -> SimpleScaling: AdjustmentType, MinAdjustmentMagnitude, ScalingAdjustment,
//     Cooldown.
//   A step or simple policy's alarm is also exported: the put-metric-alarm JSON as it was
//   written (an alarm is AWS's format wherever it appears, so nothing in it is converted).
//   Refused: hpa (export it to HPA) and scheduled (AWS schedules with
//   put-scheduled-update-group-action, which is not a scaling policy).
// To Kubernetes (an autoscaling/v2 HorizontalPodAutoscaler manifest, YAML):
//   hpa -> minReplicas, maxReplicas, metrics (Resource cpu Utilization; Pods AverageValue; Object
//     and External Value or AverageValue; an External metric's namespace and name as
//     "<Namespace>/<MetricName>", its dimensions and statistic as the selector's matchLabels),
//     behavior (both directions, every field written). Quantities are integers, else "<n>m"
//     when whole in thousandths, else decimal numbers.
//   Refused: every other type (step adjustments, a fixed adjustment, target tracking's N-of-N
//     alarms and scheduled actions have no HPA equivalent), a missing min_replicas or
//     max_replicas (Flotilla then uses the group's; Kubernetes defaults minReplicas to 1 and
//     requires maxReplicas), a tolerance other than 0.1 (Kubernetes' is a controller flag), a
//     statistic on a Resource, Pods or Object metric, a non-integer averageUtilization, and
//     dimensions that are not Kubernetes label keys and values (or a dimension named
//     "statistic", which the import reads as the statistic).
//
// Fields the importers read past are carried over from an AWS or HPA input document, so that
// nothing of the original is lost: AutoScalingGroupName, Enabled, ResourceLabel and a
// customized metric's Unit; an HPA's metadata, scaleTargetRef, Pods and Object metric selectors
// and describedObject. A native input has none of these: the AWS JSON then has no
// AutoScalingGroupName (pass --auto-scaling-group-name to the AWS CLI) and the manifest's
// scaleTargetRef is the Deployment named after the policy (an Object metric's describedObject
// the Ingress of that name), to be edited for the cluster.
//
// Durations: a native duration d is written as d / time_scale whole seconds (AWS's own scale),
// the inverse of the import's multiplication; a result that is not whole seconds (within 1 ms)
// or lies outside what the importer accepts is refused. A native file's description and
// "$schema" are not exported.
//
// Errors are UserError naming the input file and the field as a JSON pointer in the input (the
// native document for a native file, the original for an AWS or HPA one) and why.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "scaling/policy_file.h"

namespace flotilla {

enum class ExportTarget { aws, hpa };
// "aws" or "hpa"; nullopt otherwise.
std::optional<ExportTarget> parse_export_target(std::string_view text);

struct PolicyExportInput {
  // The document as its file holds it (any policy format but an alarm); `file` names it.
  nlohmann::json original;
  std::string file;
  PolicyFormat format = PolicyFormat::native;
  // native_policy_document(original) at time_scale, a step or simple policy's alarm inline.
  nlohmann::json native;
  // The time scale `native` is at: its durations are divided by it.
  double time_scale = 1;
};

// Reads and imports the policy file at `path` (the one function here that does IO): a native
// step or simple policy's alarm path is replaced by the put-metric-alarm JSON it names.
PolicyExportInput load_policy_export_input(const std::string& path,
                                           const PolicyLoadOptions& options);

struct ExportedPolicy {
  // aws: the put-scaling-policy JSON; hpa: the manifest as YAML. Ends in a newline.
  std::string policy;
  // aws, step and simple policies: the put-metric-alarm JSON of their alarm.
  std::optional<std::string> alarm;
  std::string alarm_name;
  // What the output lacks that the target needs, or names without knowing it (a native policy
  // has no AutoScalingGroupName; ALBRequestCountPerTarget without a ResourceLabel; the
  // Deployment a native HPA policy's manifest names): one sentence each, for the user.
  std::vector<std::string> notes;
};

// Pure. UserError as above.
ExportedPolicy export_policy(const PolicyExportInput& input, ExportTarget to);

}  // namespace flotilla
