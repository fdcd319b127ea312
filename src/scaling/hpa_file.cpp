// The HPA's native JSON and the Kubernetes manifest importer (hpa.h).
#include <cmath>
#include <filesystem>

#include "core/duration.h"
#include "scaling/hpa.h"
#include "scaling/policy_file.h"

namespace flotilla {

std::string to_string(HpaSelect s) {
  switch (s) {
    case HpaSelect::max:
      return "Max";
    case HpaSelect::min:
      return "Min";
    case HpaSelect::disabled:
      return "Disabled";
  }
  return "Max";
}

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

HpaRules parse_rules(const ConfigNode& node, HpaRules rules) {
  node.only_keys({"stabilization_window", "select_policy", "policies"});
  if (auto w = node.get("stabilization_window"))
    rules.stabilization_window = w->as_duration(Duration::zero(), std::chrono::hours(1));
  if (auto s = node.get("select_policy")) {
    const std::string v = s->as_enum({"Max", "Min", "Disabled"});
    rules.select = v == "Min"        ? HpaSelect::min
                   : v == "Disabled" ? HpaSelect::disabled
                                     : HpaSelect::max;
  }
  if (auto ps = node.get("policies")) {
    rules.policies.clear();
    for (const ConfigNode& p : ps->items()) {
      p.only_keys({"type", "value", "period"});
      HpaRatePolicy r;
      r.type = p.at("type").as_enum({"Pods", "Percent"}) == "Pods" ? HpaRatePolicy::Type::pods
                                                                   : HpaRatePolicy::Type::percent;
      r.value = static_cast<int>(p.at("value").as_int(1, 100000));
      r.period = p.at("period").as_duration(std::chrono::milliseconds(1), std::chrono::hours(1));
      rules.policies.push_back(r);
    }
    if (rules.policies.empty() && rules.select != HpaSelect::disabled)
      ps->fail("at least one policy (or select_policy Disabled)");
  }
  return rules;
}

HpaMetric parse_metric(const ConfigNode& node) {
  node.only_keys({"type", "name", "namespace", "dimensions", "statistic", "average_utilization",
                  "average_value", "value"});
  HpaMetric m;
  const std::string type = node.at("type").as_enum({"Resource", "Pods", "Object", "External"});
  auto target = [&](std::initializer_list<std::pair<const char*, HpaTargetType>> allowed) {
    int found = 0;
    for (const auto& [key, t] : allowed) {
      if (auto v = node.get(key)) {
        m.target = v->as_number(1e-9, 1e12);
        m.target_type = t;
        ++found;
      }
    }
    if (found != 1) {
      std::string keys;
      for (const auto& [key, t] : allowed)
        keys += (keys.empty() ? "\"" : " or \"") + std::string(key) + "\"";
      node.child_pointer_only(allowed.begin()->first).fail("exactly one of " + keys);
    }
  };
  if (type == "Resource") {
    m.type = HpaMetricType::resource_cpu;
    m.name = node.at("name").as_enum({"cpu"});
    target({{"average_utilization", HpaTargetType::utilization}});
  } else if (type == "Pods") {
    m.type = HpaMetricType::pods;
    m.name = node.at("name").as_nonempty_string();
    target({{"average_value", HpaTargetType::average_value}});
  } else {
    m.type = type == "Object" ? HpaMetricType::object : HpaMetricType::external;
    m.name = node.at("name").as_nonempty_string();
    if (m.type == HpaMetricType::external) {
      m.ns = node.at("namespace").as_nonempty_string();
      if (auto dims = node.get("dimensions")) {
        if (!dims->is_object()) dims->fail("an object of dimension names to values");
        for (const auto& [k, v] : dims->json().items())
          m.dimensions.emplace_back(k, dims->at(k).as_string());
      }
    }
    // Counts add up over a period; other metrics are averaged.
    m.statistic = ends_with(m.name, "Count") ? Statistic::sum : Statistic::average;
    target({{"value", HpaTargetType::value}, {"average_value", HpaTargetType::average_value}});
  }
  if (auto s = node.get("statistic")) {
    if (m.type == HpaMetricType::resource_cpu)
      s->fail("no statistic (cpu is the period's Average)");
    auto parsed = parse_statistic(s->as_string());
    if (!parsed) s->fail("a statistic: Average, Sum, Minimum, Maximum, SampleCount or pNN");
    m.statistic = *parsed;
  }
  return m;
}

nlohmann::json rules_json(const HpaRules& r) {
  nlohmann::json policies = nlohmann::json::array();
  for (const auto& p : r.policies)
    policies.push_back({{"type", p.type == HpaRatePolicy::Type::pods ? "Pods" : "Percent"},
                        {"value", p.value},
                        {"period", format_duration(p.period)}});
  return {{"stabilization_window", format_duration(r.stabilization_window)},
          {"select_policy", to_string(r.select)},
          {"policies", policies}};
}

// Kubernetes quantities: "500m" = 0.5, "2k" = 2000, "1Ki" = 1024; numbers as they are.
double quantity(const ConfigNode& node) {
  if (node.is_number()) return node.as_number();
  const std::string s = node.as_string();
  static const std::pair<const char*, double> kSuffixes[] = {
      {"Ki", 1024.0}, {"Mi", 1048576.0}, {"Gi", 1073741824.0}, {"m", 1e-3}, {"k", 1e3},
      {"M", 1e6},     {"G", 1e9}};
  double scale = 1;
  std::string digits = s;
  for (const auto& [suffix, factor] : kSuffixes) {
    if (ends_with(s, suffix)) {
      scale = factor;
      digits = s.substr(0, s.size() - std::string(suffix).size());
      break;
    }
  }
  try {
    std::size_t used = 0;
    const double v = std::stod(digits, &used);
    if (used == digits.size() && std::isfinite(v)) return v * scale;
  } catch (const std::exception&) {
  }
  node.fail("a Kubernetes quantity such as 100, \"500m\" or \"2k\"");
}

nlohmann::json import_rules(const ConfigNode& node, HpaRules defaults, double time_scale) {
  node.only_keys({"stabilizationWindowSeconds", "selectPolicy", "policies"});
  nlohmann::json out = rules_json(defaults);
  if (auto w = node.get("stabilizationWindowSeconds"))
    out["stabilization_window"] =
        format_duration(scaled_seconds(static_cast<double>(w->as_int(0, kHpaMaxStabilizationSeconds)), time_scale));
  if (auto s = node.get("selectPolicy"))
    out["select_policy"] = s->as_enum({"Max", "Min", "Disabled"});
  if (auto ps = node.get("policies")) {
    out["policies"] = nlohmann::json::array();
    for (const ConfigNode& p : ps->items()) {
      p.only_keys({"type", "value", "periodSeconds"});
      out["policies"].push_back(
          {{"type", p.at("type").as_enum({"Pods", "Percent"})},
           {"value", p.at("value").as_int(1, 100000)},
           {"period",
            format_duration(scaled_seconds(
                static_cast<double>(p.at("periodSeconds").as_int(1, kHpaMaxPeriodSeconds)), time_scale))}});
    }
  }
  return out;
}

nlohmann::json import_target(const ConfigNode& target, nlohmann::json& m,
                             std::initializer_list<std::string_view> types) {
  target.only_keys({"type", "averageUtilization", "averageValue", "value"});
  const std::string type = target.at("type").as_enum(types);
  if (type == "Utilization") {
    m["average_utilization"] = target.at("averageUtilization").as_number(1, 1e6);
  } else if (type == "AverageValue") {
    m["average_value"] = quantity(target.at("averageValue"));
  } else {
    m["value"] = quantity(target.at("value"));
  }
  return m;
}

nlohmann::json import_metric(const ConfigNode& node) {
  node.only_keys({"type", "resource", "pods", "object", "external"});
  const std::string type = node.at("type").as_enum({"Resource", "Pods", "Object", "External"});
  nlohmann::json m = {{"type", type}};
  if (type == "Resource") {
    const ConfigNode r = node.at("resource");
    r.only_keys({"name", "target"});
    const ConfigNode name = r.at("name");
    if (name.as_string() != "cpu")
      name.fail("cpu (Flotilla's workers publish CPUUtilization, no memory metric)");
    m["name"] = "cpu";
    return import_target(r.at("target"), m, {"Utilization"});
  }
  const char* key = type == "Pods" ? "pods" : type == "Object" ? "object" : "external";
  const ConfigNode body = node.at(key);
  body.only_keys({"metric", "target", "describedObject"});
  const ConfigNode metric = body.at("metric");
  metric.only_keys({"name", "selector"});
  std::string name = metric.at("name").as_nonempty_string();
  if (type == "External") {
    // "AWS/ApplicationELB/RequestCount": the namespace is everything before the last '/'.
    const auto slash = name.rfind('/');
    if (slash == std::string::npos || slash == 0 || slash + 1 == name.size())
      metric.at("name").fail(
          "a CloudWatch metric as \"<Namespace>/<MetricName>\", e.g. "
          "\"AWS/ApplicationELB/RequestCount\"");
    m["namespace"] = name.substr(0, slash);
    name = name.substr(slash + 1);
    if (auto sel = metric.get("selector")) {
      sel->only_keys({"matchLabels"});
      nlohmann::json dims = nlohmann::json::object();
      if (auto labels = sel->get("matchLabels")) {
        if (!labels->is_object()) labels->fail("an object of labels");
        for (const auto& [k, v] : labels->json().items()) {
          const std::string value = labels->at(k).as_string();
          if (k == "statistic") {
            m["statistic"] = value;
          } else {
            dims[k] = value;
          }
        }
      }
      m["dimensions"] = dims;
    }
  } else if (auto sel = metric.get("selector")) {
    sel->json();  // a pod or object selector: there is one group, so it selects all workers
  }
  m["name"] = name;
  if (auto d = body.get("describedObject")) d->json();  // there is one target group
  if (type == "Pods") return import_target(body.at("target"), m, {"AverageValue"});
  return import_target(body.at("target"), m, {"Value", "AverageValue"});
}

}  // namespace

std::unique_ptr<ScalingPolicy> parse_hpa(const ConfigNode& node, const PolicyLoadOptions&) {
  node.only_file_keys({"name", "type", "description", "min_replicas", "max_replicas", "tolerance",
                       "metrics", "scale_up", "scale_down"});
  HpaConfig c;
  c.name = policy_name(node, c.name);
  if (auto d = node.get("description")) d->as_string();
  if (auto m = node.get("min_replicas")) c.min_replicas = static_cast<int>(m->as_int(0, 100000));
  if (auto m = node.get("max_replicas")) c.max_replicas = static_cast<int>(m->as_int(1, 100000));
  if (c.min_replicas && c.max_replicas && *c.min_replicas > *c.max_replicas)
    node.at("max_replicas")
        .fail("a number >= min_replicas (" + std::to_string(*c.min_replicas) + ")");
  if (auto t = node.get("tolerance")) c.tolerance = t->as_number(0, 1);
  const ConfigNode metrics = node.at("metrics");
  for (const ConfigNode& m : metrics.items()) c.metrics.push_back(parse_metric(m));
  if (c.metrics.empty()) metrics.fail("at least one metric");
  if (auto r = node.get("scale_up")) c.scale_up = parse_rules(*r, c.scale_up);
  if (auto r = node.get("scale_down")) c.scale_down = parse_rules(*r, c.scale_down);
  return std::make_unique<HpaPolicy>(std::move(c));
}

nlohmann::json import_hpa_manifest(const ConfigNode& node, const PolicyLoadOptions& options) {
  node.only_keys({"apiVersion", "kind", "metadata", "spec", "status"});
  node.at("apiVersion").as_enum({"autoscaling/v2", "autoscaling/v2beta2"});
  node.at("kind").as_enum({"HorizontalPodAutoscaler"});
  nlohmann::json out = {{"type", kHpaType}};
  const auto meta = node.get("metadata");
  // metadata.name, else the file's stem (the manifest's top level has no "name").
  out["name"] = policy_name(meta ? *meta : node, "hpa");
  const ConfigNode spec = node.at("spec");
  spec.only_keys({"scaleTargetRef", "minReplicas", "maxReplicas", "metrics", "behavior"});
  out["min_replicas"] = 1;  // Kubernetes' default
  if (auto m = spec.get("minReplicas")) out["min_replicas"] = m->as_int(0, 100000);
  out["max_replicas"] = spec.at("maxReplicas").as_int(1, 100000);
  out["tolerance"] = kHpaDefaultTolerance;
  nlohmann::json metrics = nlohmann::json::array();
  if (auto ms = spec.get("metrics"))
    for (const ConfigNode& m : ms->items()) metrics.push_back(import_metric(m));
  // Kubernetes' default when no metric is given: 80% average CPU utilization.
  if (metrics.empty())
    metrics.push_back({{"type", "Resource"}, {"name", "cpu"}, {"average_utilization", 80}});
  out["metrics"] = metrics;
  const double scale = options.time_scale;
  out["scale_up"] = rules_json(default_hpa_scale_up(scale));
  out["scale_down"] = rules_json(default_hpa_scale_down(scale));
  if (auto b = spec.get("behavior")) {
    b->only_keys({"scaleUp", "scaleDown"});
    if (auto up = b->get("scaleUp"))
      out["scale_up"] = import_rules(*up, default_hpa_scale_up(scale), scale);
    if (auto down = b->get("scaleDown"))
      out["scale_down"] = import_rules(*down, default_hpa_scale_down(scale), scale);
  }
  return out;
}

}  // namespace flotilla
