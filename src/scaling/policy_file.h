#pragma once
// Policy files and the registry of policy types.
//
// A policy file is one of (detected by content, not by name):
// - native: Flotilla's JSON, {"type": "<registered type>", ...}; the type picks the factory
//   registered under that name, which parses the rest and rejects unknown fields. Built in:
//   "target_tracking" (target_tracking.h), "step_scaling" and "simple_scaling"
//   (step_scaling.h), "scheduled" (scheduled.h), "hpa" (hpa.h).
// - AWS: the JSON of `aws autoscaling put-scaling-policy --cli-input-json` (aws_import.h).
// - Kubernetes: a HorizontalPodAutoscaler manifest, autoscaling/v2, YAML or JSON (hpa.h).
// - An alarm (`aws cloudwatch put-metric-alarm --cli-input-json`) is not a policy: load_policy_file
//   rejects it, naming the policy that would use it; describe_policy_file() accepts it.
// AWS and Kubernetes files are converted to the native JSON (native_policy_json, what `flotilla
// policy import` prints) and parsed from it.
//
// Time scale: every duration that comes from an AWS or Kubernetes document (a number of
// seconds: EstimatedInstanceWarmup, Cooldown, an alarm's Period, stabilizationWindowSeconds,
// periodSeconds) is multiplied by PolicyLoadOptions::time_scale, so that a scenario whose
// metrics period stands in for CloudWatch's minute runs AWS's 300 s at the same pace. Durations
// written in the native format ("warmup": "4s") are taken as written, never scaled; an alarm is
// always in AWS's format, so its Period scales wherever it appears.
//
// Errors in a file are UserError naming the file and the field as a JSON pointer.
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/time.h"
#include "scaling/scaling_policy.h"

namespace flotilla {

struct PolicyLoadOptions {
  // Multiplies durations from AWS and Kubernetes documents (see above). 1: as written.
  double time_scale = 1;
  // The put-metric-alarm JSON of an AWS StepScaling or SimpleScaling policy. Empty: the file
  // <stem>.alarm.json beside the policy, else the put-metric-alarm JSON in the policy's folder
  // whose AlarmActions name the policy (an ARN ending in ":policyName/<PolicyName>").
  std::string alarm_file;
};

inline PolicyLoadOptions time_scaled(double time_scale) {
  PolicyLoadOptions options;
  options.time_scale = time_scale;
  return options;
}

// The scale at which a scenario runs AWS's minute-based semantics: metrics_period / 60 s.
double default_time_scale(Duration metrics_period);
// seconds x time_scale, rounded to the microsecond.
Duration scaled_seconds(double seconds, double time_scale);

enum class PolicyFormat { native, aws_scaling_policy, aws_alarm, hpa };
// "native", "aws-scaling-policy", "aws-alarm", "hpa".
std::string to_string(PolicyFormat format);
// By content: {"type"} native; {"PolicyType"} or {"PolicyName"} or {"TargetTrackingConfiguration"}
// or {"StepAdjustments"} AWS policy; {"AlarmName"} or {"ComparisonOperator"} alarm;
// {"kind": "HorizontalPodAutoscaler"} HPA. Anything else: UserError naming the file.
PolicyFormat detect_policy_format(const nlohmann::json& doc, const std::string& file);

// Reads a JSON or YAML file (JSON first; YAML when that fails). UserError if it is neither.
nlohmann::json read_policy_document(const std::string& path);
// The same for a file's text: JSON, else YAML (a ".json" `file` gets its JSON syntax error).
nlohmann::json parse_policy_document(const std::string& text, const std::string& file);

using PolicyFactory = std::function<std::unique_ptr<ScalingPolicy>(const ConfigNode&)>;
using PolicyFactoryWithOptions =
    std::function<std::unique_ptr<ScalingPolicy>(const ConfigNode&, const PolicyLoadOptions&)>;

// Adds (or replaces) a policy type. Call at startup, before policies are parsed.
void register_policy_type(const std::string& type, PolicyFactory factory);
void register_policy_type(const std::string& type, PolicyFactoryWithOptions factory);
// Registered type names, sorted.
std::vector<std::string> policy_types();

// A policy's name: its "name" field (key `key`), else the file's stem, else `fallback`.
std::string policy_name(const ConfigNode& node, const std::string& fallback,
                        std::string_view key = "name");

// A native policy object.
std::unique_ptr<ScalingPolicy> parse_policy(const ConfigNode& node,
                                            const PolicyLoadOptions& options = {});
// The native JSON equivalent of a parsed policy document (a native one: as it is); an alarm is a
// UserError. `file` as for policy_from_document.
nlohmann::json native_policy_document(const nlohmann::json& doc, const std::string& file,
                                      const PolicyLoadOptions& options = {});
// The native JSON equivalent of the policy file at `path` (a native file: as it is).
nlohmann::json native_policy_json(const std::string& path, const PolicyLoadOptions& options = {});
// The policy a parsed policy document describes (any format but an alarm); `file` names it in
// errors and anchors relative paths (an AWS policy's alarm file).
std::unique_ptr<ScalingPolicy> policy_from_document(const nlohmann::json& doc,
                                                    const std::string& file,
                                                    const PolicyLoadOptions& options = {});
std::unique_ptr<ScalingPolicy> load_policy_file(const std::string& path,
                                                const PolicyLoadOptions& options = {});
// For `flotilla validate`: loads a policy or alarm file and says what it is
// ("scaling policy cpu-steps (step_scaling, from AWS JSON)", "alarm cpu-high: ...").
std::string describe_policy_file(const std::string& path, const PolicyLoadOptions& options = {});

}  // namespace flotilla
