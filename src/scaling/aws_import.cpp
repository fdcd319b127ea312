#include "scaling/aws_import.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "core/duration.h"
#include "core/errors.h"
#include "metrics/alarm_file.h"
#include "scaling/step_scaling.h"
#include "scaling/target_tracking.h"

namespace flotilla {

namespace fs = std::filesystem;

namespace {

// AWS's default cooldown, also the default instance warm-up of its policies.
constexpr double kAwsDefaultCooldownSeconds = 300;

std::string seconds_field(const ConfigNode& node, double time_scale) {
  return format_duration(scaled_seconds(node.as_number(0, kAwsMaxSeconds), time_scale));
}

nlohmann::json target_tracking(const ConfigNode& node, const PolicyLoadOptions& options) {
  node.only_keys({"AutoScalingGroupName", "PolicyName", "PolicyType", "Enabled",
                  "EstimatedInstanceWarmup", "TargetTrackingConfiguration"});
  const ConfigNode ttc = node.at("TargetTrackingConfiguration");
  ttc.only_keys({"PredefinedMetricSpecification", "CustomizedMetricSpecification", "TargetValue",
                 "DisableScaleIn"});
  nlohmann::json out = {{"name", policy_name(node, "policy", "PolicyName")},
                        {"type", kTargetTrackingType}};
  const auto predefined = ttc.get("PredefinedMetricSpecification");
  const auto customized = ttc.get("CustomizedMetricSpecification");
  if (predefined && customized)
    customized->fail(
        "either PredefinedMetricSpecification or CustomizedMetricSpecification, "
        "not both");
  if (predefined) {
    predefined->only_keys({"PredefinedMetricType", "ResourceLabel"});
    const ConfigNode type = predefined->at("PredefinedMetricType");
    const std::string t = type.as_string();
    if (t == "ASGAverageNetworkIn" || t == "ASGAverageNetworkOut")
      type.fail(
          "ASGAverageCPUUtilization or ALBRequestCountPerTarget (Flotilla's workers "
          "publish no network metrics)");
    out["metric"] = type.as_enum({kAsgAverageCpuUtilization, kAlbRequestCountPerTarget});
    if (auto label = predefined->get("ResourceLabel")) label->as_string();
  } else if (customized) {
    if (customized->has("Metrics"))
      customized->at("Metrics").fail("a single metric (metric math is not supported)");
    customized->only_keys({"MetricName", "Namespace", "Dimensions", "Statistic", "Unit"});
    nlohmann::json dims = nlohmann::json::object();
    if (auto d = customized->get("Dimensions")) {
      for (const ConfigNode& item : d->items()) {
        item.only_keys({"Name", "Value"});
        dims[item.at("Name").as_nonempty_string()] = item.at("Value").as_string();
      }
    }
    std::string statistic = "Average";
    if (auto s = customized->get("Statistic"))
      statistic = s->as_enum({"Average", "Minimum", "Maximum", "SampleCount", "Sum"});
    if (auto u = customized->get("Unit")) u->as_string();
    out["metric"] = {{"namespace", customized->at("Namespace").as_nonempty_string()},
                     {"name", customized->at("MetricName").as_nonempty_string()},
                     {"dimensions", dims},
                     {"statistic", statistic}};
  } else {
    ttc.child_pointer_only("PredefinedMetricSpecification")
        .fail("PredefinedMetricSpecification or CustomizedMetricSpecification");
  }
  out["target_value"] = ttc.at("TargetValue").as_number(0.01, 1e12);
  out["scale_out_periods"] = 3;
  out["scale_in_periods"] = 15;
  out["scale_in_ratio"] = 0.9;
  out["warmup"] = format_duration(scaled_seconds(kAwsDefaultCooldownSeconds, options.time_scale));
  if (auto w = node.get("EstimatedInstanceWarmup"))
    out["warmup"] = seconds_field(*w, options.time_scale);
  out["disable_scale_in"] = false;
  if (auto d = ttc.get("DisableScaleIn")) out["disable_scale_in"] = d->as_bool();
  return out;
}

nlohmann::json alarm_for(const ConfigNode& node, const std::string& name,
                         const PolicyLoadOptions& options) {
  const auto file = find_alarm_file(node.file(), name, options);
  if (!file) {
    node.child_pointer_only("PolicyType")
        .fail(
            "the alarm of this policy: pass --alarm FILE (the JSON of `aws cloudwatch "
            "put-metric-alarm --cli-input-json`), or put it beside the policy as " +
            fs::path(node.file()).stem().string() + ".alarm.json");
  }
  // Parsed here so that its mistakes name its own file.
  load_alarm_file(*file);
  return load_json_file(*file);
}

void adjustment_fields(const ConfigNode& node, nlohmann::json& out) {
  out["adjustment_type"] =
      node.at("AdjustmentType")
          .as_enum({"ChangeInCapacity", "ExactCapacity", "PercentChangeInCapacity"});
  if (auto m = node.get("MinAdjustmentMagnitude")) {
    if (out["adjustment_type"] != "PercentChangeInCapacity")
      m->fail("no MinAdjustmentMagnitude (AWS accepts it only with PercentChangeInCapacity)");
    out["min_adjustment_magnitude"] = m->as_int(1, 100000);
  }
}

nlohmann::json step_scaling(const ConfigNode& node, const PolicyLoadOptions& options) {
  node.only_keys({"AutoScalingGroupName", "PolicyName", "PolicyType", "Enabled", "AdjustmentType",
                  "MinAdjustmentMagnitude", "MetricAggregationType", "StepAdjustments",
                  "EstimatedInstanceWarmup"});
  const std::string name = policy_name(node, "policy", "PolicyName");
  nlohmann::json out = {{"name", name}, {"type", kStepScalingType}};
  adjustment_fields(node, out);
  if (auto a = node.get("MetricAggregationType"))
    out["metric_aggregation"] = a->as_enum({"Average", "Minimum", "Maximum"});
  out["warmup"] = format_duration(scaled_seconds(kAwsDefaultCooldownSeconds, options.time_scale));
  if (auto w = node.get("EstimatedInstanceWarmup"))
    out["warmup"] = seconds_field(*w, options.time_scale);
  const ConfigNode steps_node = node.at("StepAdjustments");
  std::vector<StepAdjustment> steps;
  nlohmann::json steps_json = nlohmann::json::array();
  for (const ConfigNode& item : steps_node.items()) {
    item.only_keys({"MetricIntervalLowerBound", "MetricIntervalUpperBound", "ScalingAdjustment"});
    StepAdjustment s;
    nlohmann::json j;
    if (auto l = item.get("MetricIntervalLowerBound")) j["lower"] = *(s.lower = l->as_number());
    if (auto u = item.get("MetricIntervalUpperBound")) j["upper"] = *(s.upper = u->as_number());
    j["adjustment"] = s.adjustment =
        static_cast<int>(item.at("ScalingAdjustment").as_int(-100000, 100000));
    steps.push_back(s);
    steps_json.push_back(j);
  }
  for (const StepProblem& p : check_steps(steps)) {
    const ConfigNode step = steps.empty() ? steps_node : steps_node.items()[p.step];
    if (p.field == "lower") step.child_pointer_only("MetricIntervalLowerBound").fail(p.message);
    if (p.field == "upper") step.child_pointer_only("MetricIntervalUpperBound").fail(p.message);
    step.fail(p.message);
  }
  out["steps"] = steps_json;
  out["alarm"] = alarm_for(node, name, options);
  return out;
}

nlohmann::json simple_scaling(const ConfigNode& node, const PolicyLoadOptions& options) {
  node.only_keys({"AutoScalingGroupName", "PolicyName", "PolicyType", "Enabled", "AdjustmentType",
                  "MinAdjustmentMagnitude", "ScalingAdjustment", "Cooldown"});
  const std::string name = policy_name(node, "policy", "PolicyName");
  nlohmann::json out = {{"name", name}, {"type", kSimpleScalingType}};
  adjustment_fields(node, out);
  out["adjustment"] = node.at("ScalingAdjustment").as_int(-100000, 100000);
  out["cooldown"] = format_duration(scaled_seconds(kAwsDefaultCooldownSeconds, options.time_scale));
  if (auto c = node.get("Cooldown")) out["cooldown"] = seconds_field(*c, options.time_scale);
  out["alarm"] = alarm_for(node, name, options);
  return out;
}

// "arn:aws:autoscaling:...:scalingPolicy:...:autoScalingGroupName/web:policyName/scale-out".
bool actions_name_policy(const nlohmann::json& alarm, const std::string& policy) {
  auto it = alarm.find("AlarmActions");
  if (it == alarm.end() || !it->is_array()) return false;
  const std::string suffix = ":policyName/" + policy;
  for (const auto& a : *it) {
    if (!a.is_string()) continue;
    const std::string s = a.get<std::string>();
    if (s.size() >= suffix.size() &&
        s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0)
      return true;
  }
  return false;
}

}  // namespace

std::optional<std::string> find_alarm_file(const std::string& policy_path,
                                           const std::string& policy_name,
                                           const PolicyLoadOptions& options) {
  if (!options.alarm_file.empty()) return options.alarm_file;
  const fs::path p(policy_path);
  const fs::path sibling = p.parent_path() / (p.stem().string() + ".alarm.json");
  std::error_code ec;
  if (fs::is_regular_file(sibling, ec)) return sibling.string();
  const fs::path dir = p.parent_path().empty() ? fs::path(".") : p.parent_path();
  std::vector<fs::path> candidates;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().extension() != ".json" || entry.path() == p) continue;
    candidates.push_back(entry.path());
  }
  std::sort(candidates.begin(), candidates.end());
  for (const auto& c : candidates) {
    const auto doc = nlohmann::json::parse(std::ifstream(c), nullptr, /*allow_exceptions=*/false);
    if (doc.is_object() && actions_name_policy(doc, policy_name)) return c.string();
  }
  return std::nullopt;
}

nlohmann::json import_aws_scaling_policy(const ConfigNode& node, const PolicyLoadOptions& options) {
  if (!node.is_object()) node.fail("a put-scaling-policy object");
  if (auto e = node.get("Enabled"); e && !e->as_bool())
    e->fail("true (a disabled policy never acts: leave it out of the scenario instead)");
  if (node.has("PredictiveScalingConfiguration"))
    node.at("PredictiveScalingConfiguration").fail("no predictive scaling (not simulated)");
  std::string type = "SimpleScaling";
  if (auto t = node.get("PolicyType"))
    type = t->as_enum({"TargetTrackingScaling", "StepScaling", "SimpleScaling"});
  if (type == "TargetTrackingScaling") return target_tracking(node, options);
  if (type == "StepScaling") return step_scaling(node, options);
  return simple_scaling(node, options);
}

}  // namespace flotilla
