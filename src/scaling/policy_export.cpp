#include "scaling/policy_export.h"

#include <cassert>
#include <cmath>
#include <map>
#include <regex>
#include <span>

#include "core/config.h"
#include "core/duration.h"
#include "core/errors.h"
#include "core/format.h"
#include "metrics/alarm_file.h"
#include "scaling/aws_import.h"
#include "scaling/hpa.h"
#include "scaling/scheduled.h"
#include "scaling/step_scaling.h"
#include "scaling/target_tracking.h"
#include "scaling/yaml_document.h"

namespace flotilla {

namespace {

using Ordered = nlohmann::ordered_json;

// The import rounds a scaled duration to the microsecond, so one divided back is whole seconds
// only to within a rounding error; a millisecond at AWS's scale is far above it.
constexpr double kWholeSecondsTolerance = 1e-3;
// The ranges the importers accept.
constexpr auto kMaxAwsSeconds = static_cast<std::int64_t>(kAwsMaxSeconds);

// An integral value as an integer, so that 50 is written 50 and not 50.0.
Ordered number(double v) {
  if (std::trunc(v) == v && std::abs(v) < 1e15) return static_cast<std::int64_t>(v);
  return v;
}

// A Kubernetes quantity: an integer, else whole thousandths as "<n>m", else a decimal number.
Ordered quantity(double v) {
  if (std::trunc(v) == v && std::abs(v) < 1e15) return static_cast<std::int64_t>(v);
  const double milli = v * 1000;
  if (std::abs(milli - std::round(milli)) < 1e-6 && std::abs(milli) < 1e15)
    return std::to_string(std::llround(milli)) + "m";
  return v;
}

// The member `key` of `parent`, or a node that only names it when it (or the parent) is missing.
ConfigNode field(const std::optional<ConfigNode>& parent, const ConfigNode& parent_name,
                 std::string_view key) {
  if (!parent) return parent_name.child_pointer_only(key);
  if (auto f = parent->get(key)) return *f;
  return parent->child_pointer_only(key);
}

ConfigNode field(const ConfigNode& parent, std::string_view key) {
  return field(std::optional<ConfigNode>(parent), parent, key);
}

// A native duration as whole seconds at AWS's scale: d / time_scale.
std::int64_t aws_seconds(Duration d, double time_scale, const ConfigNode& node,
                         std::string_view written_as, std::int64_t min, std::int64_t max) {
  const double s = to_seconds(d) / time_scale;
  const std::int64_t whole = std::llround(s);
  const std::string how = std::string(written_as) + " at AWS's scale: " + format_duration(d) +
                          " / time scale " + format_number(time_scale, 6) + " = " +
                          format_number(s, 6) + " s";
  if (std::abs(s - static_cast<double>(whole)) > kWholeSecondsTolerance)
    node.fail("a duration that is whole seconds once divided by the time scale (" + how + ")");
  if (whole < min || whole > max)
    node.fail("a duration of " + std::to_string(min) + " to " + std::to_string(max) + " s (" + how +
              ")");
  return whole;
}

// `from[key]` into `out[key]`, when `from` has it: a field the importers read past.
void carry(Ordered& out, const nlohmann::json* from, std::string_view key) {
  if (from == nullptr || !from->is_object()) return;
  auto it = from->find(key);
  if (it != from->end()) out[std::string(key)] = Ordered(*it);
}

// The object `obj` with the keys `first` in that order, then the others in name order.
Ordered keys_first(const nlohmann::json& obj, std::span<const std::string_view> first) {
  Ordered out = Ordered::object();
  for (std::string_view key : first) carry(out, &obj, key);
  for (const auto& [key, value] : obj.items())
    if (!out.contains(key)) out[key] = Ordered(value);
  return out;
}

// The object at `key` of `from`, or null.
const nlohmann::json* child(const nlohmann::json* from, const char* key) {
  if (from == nullptr || !from->is_object()) return nullptr;
  auto it = from->find(key);
  return it == from->end() ? nullptr : &*it;
}

std::unique_ptr<ScalingPolicy> parsed(const PolicyExportInput& in, const ConfigNode& node) {
  return parse_policy(node, time_scaled(in.time_scale));
}

// ---- AWS ----

Ordered aws_head(const PolicyExportInput& in, const std::string& name, const char* type) {
  const nlohmann::json* original =
      in.format == PolicyFormat::aws_scaling_policy ? &in.original : nullptr;
  Ordered out = Ordered::object();
  carry(out, original, "AutoScalingGroupName");
  out["PolicyName"] = name;
  out["PolicyType"] = type;
  carry(out, original, "Enabled");
  return out;
}

std::int64_t aws_warmup(const PolicyExportInput& in, const ConfigNode& node, Duration warmup) {
  return aws_seconds(warmup, in.time_scale, field(node, "warmup"), "EstimatedInstanceWarmup", 0,
                     kMaxAwsSeconds);
}

Ordered aws_dimensions(const std::vector<std::pair<std::string, std::string>>& dims,
                       const nlohmann::json* original) {
  // The original's list when it holds the same dimensions: it keeps their order.
  if (original != nullptr && original->is_array()) {
    std::map<std::string, std::string> theirs, ours(dims.begin(), dims.end());
    for (const auto& d : *original)
      if (d.is_object() && d.contains("Name") && d.contains("Value") && d["Value"].is_string())
        theirs[d["Name"].get<std::string>()] = d["Value"].get<std::string>();
    if (theirs == ours) return Ordered(*original);
  }
  Ordered out = Ordered::array();
  for (const auto& [k, v] : dims) {
    Ordered d = Ordered::object();
    d["Name"] = k;
    d["Value"] = v;
    out.push_back(d);
  }
  return out;
}

Ordered aws_target_tracking(const PolicyExportInput& in, const ConfigNode& node) {
  const TargetTrackingConfig c = parse_target_tracking_config(node);
  auto fixed = [&](const char* key, double aws, const std::string& why) {
    if (auto f = node.get(key); f && f->as_number() != aws)
      f->fail(format_number(aws) + " (" + why + "; put-scaling-policy has no field for it)");
  };
  fixed("scale_out_periods", 3,
        "AWS's target tracking scales out after 3 of 3 periods above the target");
  fixed("scale_in_periods", 15,
        "AWS's target tracking scales in after 15 of 15 periods below 90% of the target");
  fixed("scale_in_ratio", 0.9, "AWS's target tracking scales in below 90% of the target");
  if (c.scale_in_cooldown && *c.scale_in_cooldown > Duration::zero())
    node.at("scale_in_cooldown")
        .fail(
            "no scale_in_cooldown (a Flotilla extension: AWS's target tracking has no "
            "scale-in cooldown)");

  const nlohmann::json* original = in.format == PolicyFormat::aws_scaling_policy
                                       ? child(&in.original, "TargetTrackingConfiguration")
                                       : nullptr;
  Ordered out = aws_head(in, c.name, "TargetTrackingScaling");
  out["EstimatedInstanceWarmup"] = aws_warmup(in, node, c.warmup);
  Ordered ttc = Ordered::object();
  if (c.custom) {
    const nlohmann::json* theirs = child(original, "CustomizedMetricSpecification");
    Ordered m = Ordered::object();
    m["MetricName"] = c.custom->name;
    m["Namespace"] = c.custom->ns;
    if (!c.custom->dimensions.empty())
      m["Dimensions"] = aws_dimensions(c.custom->dimensions, child(theirs, "Dimensions"));
    m["Statistic"] = to_string(c.custom->statistic);
    carry(m, theirs, "Unit");
    ttc["CustomizedMetricSpecification"] = m;
  } else {
    Ordered m = Ordered::object();
    m["PredefinedMetricType"] = c.metric;
    carry(m, child(original, "PredefinedMetricSpecification"), "ResourceLabel");
    ttc["PredefinedMetricSpecification"] = m;
  }
  ttc["TargetValue"] = number(c.target_value);
  ttc["DisableScaleIn"] = c.disable_scale_in;
  out["TargetTrackingConfiguration"] = ttc;
  return out;
}

void aws_adjustment(Ordered& out, AdjustmentType type, std::optional<int> min_magnitude) {
  out["AdjustmentType"] = to_string(type);
  if (min_magnitude) out["MinAdjustmentMagnitude"] = *min_magnitude;
}

Ordered aws_step_scaling(const PolicyExportInput& in, const ConfigNode& node) {
  const auto policy = parsed(in, node);
  const StepScalingConfig& c = dynamic_cast<const StepScalingPolicy&>(*policy).config();
  Ordered out = aws_head(in, c.name, "StepScaling");
  aws_adjustment(out, c.adjustment_type, c.min_adjustment_magnitude);
  // AWS's default is the native one (Average): written only when the file gives it.
  if (auto a = node.get("metric_aggregation")) out["MetricAggregationType"] = a->as_string();
  out["EstimatedInstanceWarmup"] = aws_warmup(in, node, c.warmup);
  Ordered steps = Ordered::array();
  for (const StepAdjustment& s : c.steps) {
    Ordered j = Ordered::object();
    if (s.lower) j["MetricIntervalLowerBound"] = number(*s.lower);
    if (s.upper) j["MetricIntervalUpperBound"] = number(*s.upper);
    j["ScalingAdjustment"] = s.adjustment;
    steps.push_back(j);
  }
  out["StepAdjustments"] = steps;
  return out;
}

Ordered aws_simple_scaling(const PolicyExportInput& in, const ConfigNode& node) {
  const auto policy = parsed(in, node);
  const SimpleScalingConfig& c = dynamic_cast<const SimpleScalingPolicy&>(*policy).config();
  Ordered out = aws_head(in, c.name, "SimpleScaling");
  aws_adjustment(out, c.adjustment_type, c.min_adjustment_magnitude);
  out["ScalingAdjustment"] = c.adjustment;
  out["Cooldown"] = aws_seconds(c.cooldown, in.time_scale, field(node, "cooldown"), "Cooldown", 0,
                                kMaxAwsSeconds);
  return out;
}

Ordered aws_alarm(const nlohmann::json& alarm) {
  // load_policy_export_input inlines an alarm named by its path.
  assert(alarm.is_object());
  return keys_first(alarm, kAwsAlarmKeys);
}

// ---- Kubernetes ----

// The original's reference when there is one, else {apiVersion, kind, name}.
Ordered object_reference(const nlohmann::json* theirs, const char* api_version, const char* kind,
                         const std::string& name) {
  if (theirs != nullptr) return Ordered(*theirs);
  Ordered out = Ordered::object();
  out["apiVersion"] = api_version;
  out["kind"] = kind;
  out["name"] = name;
  return out;
}

// Kubernetes label values (and the name part of keys): at most 63 characters, alphanumerics
// with '-', '_' and '.' inside.
bool label_name(const std::string& s, bool may_be_empty) {
  static const std::regex kName("([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?");
  if (s.empty()) return may_be_empty;
  return s.size() <= 63 && std::regex_match(s, kName);
}

// A label key: an optional DNS subdomain prefix and '/', then a name.
bool label_key(const std::string& s) {
  static const std::regex kPrefix("[a-z0-9]([-a-z0-9.]*[a-z0-9])?");
  const auto slash = s.find('/');
  if (slash == std::string::npos) return label_name(s, false);
  const std::string prefix = s.substr(0, slash);
  return prefix.size() <= 253 && std::regex_match(prefix, kPrefix) &&
         label_name(s.substr(slash + 1), false);
}

Ordered hpa_rules(const HpaRules& r, const ConfigNode& node, const char* key, double time_scale) {
  const std::optional<ConfigNode> rules = node.get(key);
  const ConfigNode name = field(node, key);
  Ordered out = Ordered::object();
  out["stabilizationWindowSeconds"] =
      aws_seconds(r.stabilization_window, time_scale, field(rules, name, "stabilization_window"),
                  "stabilizationWindowSeconds", 0, kHpaMaxStabilizationSeconds);
  out["selectPolicy"] = to_string(r.select);
  // Kubernetes fills in its default policies for an empty list (they do not act when Disabled).
  if (r.policies.empty()) return out;
  const ConfigNode list = field(rules, name, "policies");
  const std::optional<ConfigNode> given = rules ? rules->get("policies") : std::nullopt;
  Ordered policies = Ordered::array();
  for (std::size_t i = 0; i < r.policies.size(); ++i) {
    const HpaRatePolicy& p = r.policies[i];
    const ConfigNode period = given ? field(given->items()[i], "period") : list;
    Ordered j = Ordered::object();
    j["type"] = p.type == HpaRatePolicy::Type::pods ? "Pods" : "Percent";
    j["value"] = p.value;
    j["periodSeconds"] =
        aws_seconds(p.period, time_scale, period, "periodSeconds", 1, kHpaMaxPeriodSeconds);
    policies.push_back(j);
  }
  out["policies"] = policies;
  return out;
}

Ordered hpa_target(const HpaMetric& m) {
  Ordered t = Ordered::object();
  switch (m.target_type) {
    case HpaTargetType::utilization:
      t["type"] = "Utilization";
      t["averageUtilization"] = number(m.target);
      break;
    case HpaTargetType::average_value:
      t["type"] = "AverageValue";
      t["averageValue"] = quantity(m.target);
      break;
    case HpaTargetType::value:
      t["type"] = "Value";
      t["value"] = quantity(m.target);
      break;
  }
  return t;
}

// One metric of the manifest. `original` is the input manifest's metric at the same index, when
// it has the same type: its selector and describedObject are carried over.
Ordered hpa_metric(const HpaMetric& m, const ConfigNode& node, const nlohmann::json* original,
                   const std::string& policy_name) {
  const bool external = m.type == HpaMetricType::external;
  auto refuse = [&](const char* key, const std::string& why) {
    if (auto f = node.get(key)) f->fail(why);
  };
  if (!external) {
    refuse("statistic",
           "no statistic (only an External metric carries one, as the selector's "
           "\"statistic\" label)");
    refuse("namespace", "no namespace (only an External metric has one)");
    refuse("dimensions", "no dimensions (only an External metric has them, as matchLabels)");
  }
  Ordered out = Ordered::object();
  switch (m.type) {
    case HpaMetricType::resource_cpu: {
      if (std::trunc(m.target) != m.target)
        node.at("average_utilization")
            .fail("a whole percentage (averageUtilization is an integer)");
      out["type"] = "Resource";
      Ordered r = Ordered::object();
      r["name"] = "cpu";
      r["target"] = hpa_target(m);
      out["resource"] = r;
      return out;
    }
    case HpaMetricType::pods:
    case HpaMetricType::object: {
      const bool pods = m.type == HpaMetricType::pods;
      const char* key = pods ? "pods" : "object";
      const nlohmann::json* theirs = child(original, key);
      out["type"] = pods ? "Pods" : "Object";
      Ordered body = Ordered::object();
      Ordered metric = Ordered::object();
      metric["name"] = m.name;
      carry(metric, child(theirs, "metric"), "selector");
      body["metric"] = metric;
      // The target group's counterpart in a cluster is its Ingress (docs/kubernetes.md).
      if (!pods)
        body["describedObject"] = object_reference(child(theirs, "describedObject"),
                                                   "networking.k8s.io/v1", "Ingress", policy_name);
      body["target"] = hpa_target(m);
      out[key] = body;
      return out;
    }
    case HpaMetricType::external:
      break;
  }
  Ordered labels = Ordered::object();
  for (const auto& [k, v] : m.dimensions) {
    const ConfigNode dim = node.at("dimensions").at(k);
    if (k == "statistic")
      dim.fail(
          "no dimension named statistic (the import reads that label of the selector as the "
          "statistic)");
    if (!label_key(k))
      node.at("dimensions")
          .fail("dimension names that are Kubernetes label keys (\"" + k +
                "\" is not: at most 63 alphanumerics, '-', '_' or '.', with an optional DNS "
                "prefix and '/')");
    if (!label_name(v, true))
      dim.fail(
          "a Kubernetes label value (at most 63 alphanumerics, '-', '_' or '.', beginning and "
          "ending with an alphanumeric)");
    labels[k] = v;
  }
  if (auto s = node.get("statistic")) {
    if (!label_name(to_string(m.statistic), true))
      s->fail("a statistic that is a Kubernetes label value");
    labels["statistic"] = to_string(m.statistic);
  }
  out["type"] = "External";
  Ordered body = Ordered::object();
  Ordered metric = Ordered::object();
  metric["name"] = m.ns + "/" + m.name;
  const nlohmann::json* theirs = child(child(child(original, "external"), "metric"), "selector");
  const nlohmann::json* their_labels = child(theirs, "matchLabels");
  if (their_labels != nullptr && *their_labels == nlohmann::json(labels)) {
    metric["selector"] = Ordered(*theirs);
  } else if (!labels.empty()) {
    Ordered selector = Ordered::object();
    selector["matchLabels"] = labels;
    metric["selector"] = selector;
  }
  body["metric"] = metric;
  body["target"] = hpa_target(m);
  out["external"] = body;
  return out;
}

Ordered hpa_manifest(const PolicyExportInput& in, const ConfigNode& node) {
  const auto policy = parsed(in, node);
  const HpaConfig& c = dynamic_cast<const HpaPolicy&>(*policy).config();
  if (!c.min_replicas)
    node.child_pointer_only("min_replicas")
        .fail(
            "min_replicas (without it Flotilla uses the group's minimum; Kubernetes defaults "
            "minReplicas to 1)");
  if (!c.max_replicas)
    node.child_pointer_only("max_replicas")
        .fail(
            "max_replicas (without it Flotilla uses the group's maximum; an HPA requires "
            "maxReplicas)");
  if (auto t = node.get("tolerance"); t && c.tolerance != kHpaDefaultTolerance)
    t->fail(
        "0.1 (Kubernetes' tolerance is the controller's --horizontal-pod-autoscaler-tolerance, "
        "not a field of the manifest)");

  const nlohmann::json* original = in.format == PolicyFormat::hpa ? &in.original : nullptr;
  const nlohmann::json* spec = child(original, "spec");
  Ordered out = Ordered::object();
  out["apiVersion"] = "autoscaling/v2";
  out["kind"] = "HorizontalPodAutoscaler";
  if (const nlohmann::json* meta = child(original, "metadata")) {
    static constexpr std::string_view kMetadataKeys[] = {"name", "namespace"};
    out["metadata"] = keys_first(*meta, kMetadataKeys);
  } else {
    Ordered meta_out = Ordered::object();
    meta_out["name"] = c.name;
    out["metadata"] = meta_out;
  }
  Ordered s = Ordered::object();
  s["scaleTargetRef"] =
      object_reference(child(spec, "scaleTargetRef"), "apps/v1", "Deployment", c.name);
  s["minReplicas"] = *c.min_replicas;
  s["maxReplicas"] = *c.max_replicas;
  const nlohmann::json* their_metrics = child(spec, "metrics");
  const bool same_metrics = their_metrics != nullptr && their_metrics->is_array() &&
                            their_metrics->size() == c.metrics.size();
  Ordered metrics = Ordered::array();
  const auto items = node.at("metrics").items();
  for (std::size_t i = 0; i < c.metrics.size(); ++i) {
    const nlohmann::json* theirs = same_metrics ? &(*their_metrics)[i] : nullptr;
    metrics.push_back(hpa_metric(c.metrics[i], items[i], theirs, c.name));
  }
  s["metrics"] = metrics;
  Ordered behavior = Ordered::object();
  behavior["scaleUp"] = hpa_rules(c.scale_up, node, "scale_up", in.time_scale);
  behavior["scaleDown"] = hpa_rules(c.scale_down, node, "scale_down", in.time_scale);
  s["behavior"] = behavior;
  out["spec"] = s;
  return out;
}

// Why a policy type has no counterpart in the target format, and the field that says so.
[[noreturn]] void refuse_type(const PolicyExportInput& in, const ConfigNode& node,
                              const std::string& type, ExportTarget to) {
  const ConfigNode original(in.original, in.file);
  if (in.format == PolicyFormat::aws_scaling_policy)
    field(original, "PolicyType")
        .fail(
            "an HPA's equivalent (an AWS scaling policy has none: export it --to aws, or write "
            "the policy as an HPA manifest)");
  if (in.format == PolicyFormat::hpa)
    original.at("kind").fail(
        "an AWS scaling policy (an HPA has no put-scaling-policy equivalent: export it --to "
        "hpa)");
  if (type == kScheduledType)
    field(node, "actions")
        .fail(to == ExportTarget::aws
                  ? "no scheduled actions (put-scaling-policy takes dynamic policies; AWS "
                    "schedules with put-scheduled-update-group-action, which Flotilla does not "
                    "import)"
                  : "no scheduled actions (an HPA has no schedule)");
  if (to == ExportTarget::aws)
    node.at("type").fail(
        "target_tracking, step_scaling or simple_scaling (put-scaling-policy's types; an hpa "
        "policy exports --to hpa)");
  if (type == kStepScalingType)
    field(node, "steps")
        .fail(
            "no step adjustments (an HPA computes replicas from a metric's target; export this "
            "policy --to aws)");
  if (type == kSimpleScalingType)
    field(node, "adjustment")
        .fail(
            "no fixed adjustment (an HPA computes replicas from a metric's target; export this "
            "policy --to aws)");
  node.at("type").fail(
      "hpa (a target tracking policy's alarms, N of N periods above or below the target, have "
      "no HPA equivalent; export it --to aws)");
}

}  // namespace

std::optional<ExportTarget> parse_export_target(std::string_view text) {
  if (text == "aws") return ExportTarget::aws;
  if (text == "hpa") return ExportTarget::hpa;
  return std::nullopt;
}

PolicyExportInput load_policy_export_input(const std::string& path,
                                           const PolicyLoadOptions& options) {
  PolicyExportInput in;
  in.file = path;
  in.time_scale = options.time_scale;
  in.original = read_policy_document(path);
  in.format = detect_policy_format(in.original, path);
  in.native = native_policy_document(in.original, path, options);
  const ConfigNode node(in.native, path);
  if (auto alarm = node.get("alarm"); alarm && alarm->is_string())
    in.native["alarm"] = load_json_file(alarm->as_path());
  return in;
}

ExportedPolicy export_policy(const PolicyExportInput& in, ExportTarget to) {
  const ConfigNode node(in.native, in.file);
  if (!node.is_object()) node.fail("a policy object");
  const std::string type = node.at("type").as_string();
  ExportedPolicy out;
  if (to == ExportTarget::hpa) {
    if (type != kHpaType) refuse_type(in, node, type, to);
    const Ordered manifest = hpa_manifest(in, node);
    if (in.format != PolicyFormat::hpa)
      out.notes.push_back("scaleTargetRef names the Deployment " +
                          manifest["metadata"]["name"].get<std::string>() +
                          " (an Object metric's describedObject the Ingress of that name): edit "
                          "them to name the cluster's own");
    out.policy = to_yaml_text(manifest);
    return out;
  }
  Ordered policy;
  if (type == kTargetTrackingType) {
    policy = aws_target_tracking(in, node);
  } else if (type == kStepScalingType) {
    policy = aws_step_scaling(in, node);
  } else if (type == kSimpleScalingType) {
    policy = aws_simple_scaling(in, node);
  } else {
    refuse_type(in, node, type, to);
  }
  out.policy = policy.dump(2) + "\n";
  if (!policy.contains("AutoScalingGroupName"))
    out.notes.push_back(
        "the policy names no AutoScalingGroupName: pass --auto-scaling-group-name to "
        "put-scaling-policy");
  const Ordered predefined = policy.value(
      "/TargetTrackingConfiguration/PredefinedMetricSpecification"_json_pointer, Ordered::object());
  if (predefined.value("PredefinedMetricType", "") == kAlbRequestCountPerTarget &&
      !predefined.contains("ResourceLabel"))
    out.notes.push_back(
        "ALBRequestCountPerTarget needs a ResourceLabel (app/<load-balancer>/<id>/targetgroup/"
        "<target-group>/<id>) in PredefinedMetricSpecification: AWS refuses the policy without "
        "it");
  if (type != kTargetTrackingType) {
    const Ordered alarm = aws_alarm(in.native.at("alarm"));
    out.alarm = alarm.dump(2) + "\n";
    out.alarm_name = alarm.value("AlarmName", "");
  }
  return out;
}

}  // namespace flotilla
