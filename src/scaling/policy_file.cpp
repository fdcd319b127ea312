#include "scaling/policy_file.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "core/data_files.h"
#include "core/errors.h"
#include "core/json_text.h"
#include "metrics/alarm_file.h"
#include "scaling/aws_import.h"
#include "scaling/hpa.h"
#include "scaling/scheduled.h"
#include "scaling/step_scaling.h"
#include "scaling/target_tracking.h"
#include "scaling/yaml_document.h"

namespace flotilla {

namespace {

std::unique_ptr<ScalingPolicy> target_tracking_factory(const ConfigNode& node,
                                                       const PolicyLoadOptions&) {
  return parse_target_tracking(node);
}

// Built-in types are listed here rather than self-registered from their own files: a static
// library drops object files nobody references, and their registrations with them.
std::map<std::string, PolicyFactoryWithOptions>& registry() {
  static std::map<std::string, PolicyFactoryWithOptions> types = {
      {kTargetTrackingType, &target_tracking_factory},
      {kStepScalingType, &parse_step_scaling},
      {kSimpleScalingType, &parse_simple_scaling},
      {kScheduledType, &parse_scheduled},
      {kHpaType, &parse_hpa},
  };
  return types;
}

}  // namespace

double default_time_scale(Duration metrics_period) { return to_seconds(metrics_period) / 60.0; }

Duration scaled_seconds(double seconds, double time_scale) {
  return std::chrono::microseconds(std::llround(seconds * time_scale * 1e6));
}

std::string to_string(PolicyFormat format) {
  switch (format) {
    case PolicyFormat::native:
      return "native";
    case PolicyFormat::aws_scaling_policy:
      return "aws-scaling-policy";
    case PolicyFormat::aws_alarm:
      return "aws-alarm";
    case PolicyFormat::hpa:
      return "hpa";
  }
  return "";
}

PolicyFormat detect_policy_format(const nlohmann::json& doc, const std::string& file) {
  if (doc.is_object()) {
    if (doc.contains("type")) return PolicyFormat::native;
    if (doc.contains("kind") && doc["kind"] == "HorizontalPodAutoscaler") return PolicyFormat::hpa;
    for (const char* key :
         {"PolicyType", "PolicyName", "TargetTrackingConfiguration", "StepAdjustments"})
      if (doc.contains(key)) return PolicyFormat::aws_scaling_policy;
    if (doc.contains("AlarmName") || doc.contains("ComparisonOperator"))
      return PolicyFormat::aws_alarm;
  }
  throw UserError(file, "",
                  "a scaling policy: Flotilla's JSON (with \"type\"), the JSON of `aws "
                  "autoscaling put-scaling-policy --cli-input-json`, or a Kubernetes "
                  "HorizontalPodAutoscaler manifest (YAML or JSON)");
}

nlohmann::json read_policy_document(const std::string& path) {
  const std::string text = read_text_file(path, "a scaling policy file");
  if (text.find_first_not_of(" \t\r\n") == std::string::npos)
    throw UserError(path, "", "a scaling policy, got an empty file");
  return parse_policy_document(text, path);
}

nlohmann::json parse_policy_document(const std::string& text, const std::string& file) {
  auto doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_discarded()) return doc;
  // A .json file gets the JSON syntax error, with its position.
  if (std::filesystem::path(file).extension() == ".json") return parse_json_text(text, file);
  return parse_yaml_document(text, file);
}

std::string policy_name(const ConfigNode& node, const std::string& fallback, std::string_view key) {
  if (auto n = node.get(key)) return n->as_nonempty_string();
  if (!node.file().empty()) return std::filesystem::path(node.file()).stem().string();
  return fallback;
}

void register_policy_type(const std::string& type, PolicyFactory factory) {
  registry()[type] = [factory = std::move(factory)](const ConfigNode& node,
                                                    const PolicyLoadOptions&) {
    return factory(node);
  };
}

void register_policy_type(const std::string& type, PolicyFactoryWithOptions factory) {
  registry()[type] = std::move(factory);
}

std::vector<std::string> policy_types() {
  std::vector<std::string> out;
  for (const auto& [name, factory] : registry()) out.push_back(name);
  return out;
}

std::unique_ptr<ScalingPolicy> parse_policy(const ConfigNode& node,
                                            const PolicyLoadOptions& options) {
  if (!node.is_object()) node.fail("a policy object");
  const ConfigNode type = node.at("type");
  const std::string name = type.as_string();
  auto it = registry().find(name);
  if (it == registry().end()) {
    std::string list;
    for (const auto& t : policy_types()) list += (list.empty() ? "" : ", ") + t;
    type.fail("a policy type (one of: " + list + ")");
  }
  return it->second(node, options);
}

nlohmann::json native_policy_document(const nlohmann::json& doc, const std::string& path,
                                      const PolicyLoadOptions& options) {
  const ConfigNode root(doc, path);
  switch (detect_policy_format(doc, path)) {
    case PolicyFormat::native:
      return doc;
    case PolicyFormat::aws_scaling_policy:
      return import_aws_scaling_policy(root, options);
    case PolicyFormat::hpa:
      return import_hpa_manifest(root, options);
    case PolicyFormat::aws_alarm:
      break;
  }
  throw UserError(path, "",
                  "a scaling policy, not an alarm (an alarm drives a step or simple scaling "
                  "policy: name it in that policy's \"alarm\", or pass it with --alarm)");
}

nlohmann::json native_policy_json(const std::string& path, const PolicyLoadOptions& options) {
  return native_policy_document(read_policy_document(path), path, options);
}

std::unique_ptr<ScalingPolicy> policy_from_document(const nlohmann::json& doc,
                                                    const std::string& file,
                                                    const PolicyLoadOptions& options) {
  if (detect_policy_format(doc, file) == PolicyFormat::native)
    return parse_policy(ConfigNode(doc, file), options);
  // Converted documents keep the original file's name (and folder, for relative paths); their
  // own mistakes were reported against the original fields during the conversion.
  const nlohmann::json native = native_policy_document(doc, file, options);
  return parse_policy(ConfigNode(native, file), options);
}

std::unique_ptr<ScalingPolicy> load_policy_file(const std::string& path,
                                                const PolicyLoadOptions& options) {
  return policy_from_document(read_policy_document(path), path, options);
}

std::string describe_policy_file(const std::string& path, const PolicyLoadOptions& options) {
  const nlohmann::json doc = read_policy_document(path);
  const PolicyFormat format = detect_policy_format(doc, path);
  if (format == PolicyFormat::aws_alarm) {
    const AlarmConfig a = parse_alarm(ConfigNode(doc, path));
    return "alarm " + a.name + ": " + a.describe();
  }
  const auto policy = load_policy_file(path, options);
  std::string out = "scaling policy " + policy->name() + " (" + policy->type();
  if (format == PolicyFormat::aws_scaling_policy) out += ", from AWS put-scaling-policy JSON";
  if (format == PolicyFormat::hpa) out += ", from a Kubernetes HPA manifest";
  return out + ")";
}

}  // namespace flotilla
