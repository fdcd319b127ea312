#include "metrics/alarm_file.h"

#include <cmath>
#include <set>

namespace flotilla {

AlarmConfig parse_alarm(const ConfigNode& node) {
  node.only_keys(kAwsAlarmKeys);
  if (node.has("Metrics"))
    node.at("Metrics").fail("no Metrics: metric math alarms are not supported by Flotilla");
  if (node.has("ThresholdMetricId"))
    node.at("ThresholdMetricId")
        .fail("no ThresholdMetricId: anomaly detection alarms are not supported by Flotilla");

  AlarmConfig c;
  c.name = node.at("AlarmName").as_nonempty_string();
  const std::string ns = node.at("Namespace").as_nonempty_string();
  const std::string name = node.at("MetricName").as_nonempty_string();

  std::vector<std::pair<std::string, std::string>> dimensions;
  if (auto dims = node.get("Dimensions")) {
    std::set<std::string> seen;
    for (const ConfigNode& d : dims->items()) {
      d.only_keys({"Name", "Value"});
      std::string key = d.at("Name").as_nonempty_string();
      if (!seen.insert(key).second) d.at("Name").fail("a dimension name not used before");
      dimensions.emplace_back(std::move(key), d.at("Value").as_string());
    }
  }
  c.metric = make_metric_id(ns, name, std::move(dimensions));

  const auto statistic = node.get("Statistic");
  const auto extended = node.get("ExtendedStatistic");
  if (statistic && extended) extended->fail("either Statistic or ExtendedStatistic, not both");
  if (statistic) {
    const std::string text =
        statistic->as_enum({"Average", "Sum", "Minimum", "Maximum", "SampleCount"});
    c.statistic = *parse_statistic(text);
  } else if (extended) {
    const auto p = parse_statistic(extended->as_string());
    if (!p || !p->is_percentile())
      extended->fail(
          "a percentile such as \"p99\" or \"p99.9\" (p0 to p100, two decimals at most)");
    c.statistic = *p;
  } else {
    node.child_pointer_only("Statistic").fail("a Statistic or an ExtendedStatistic");
  }

  c.period = std::chrono::seconds(node.at("Period").as_int(1, 86400 * 366));
  c.evaluation_periods = static_cast<int>(node.at("EvaluationPeriods").as_int(1, 100000));
  c.datapoints_to_alarm = c.evaluation_periods;
  if (auto m = node.get("DatapointsToAlarm")) {
    // At most EvaluationPeriods: M out of N.
    c.datapoints_to_alarm = static_cast<int>(m->as_int(1, c.evaluation_periods));
  }
  c.threshold = node.at("Threshold").as_number();
  const ConfigNode op = node.at("ComparisonOperator");
  c.comparison = *parse_comparison_operator(
      op.as_enum({"GreaterThanOrEqualToThreshold", "GreaterThanThreshold", "LessThanThreshold",
                  "LessThanOrEqualToThreshold"}));
  if (auto t = node.get("TreatMissingData"))
    c.treat_missing_data =
        *parse_treat_missing_data(t->as_enum({"missing", "notBreaching", "breaching", "ignore"}));

  if (auto v = node.get("ActionsEnabled")) v->as_bool();
  for (const char* key : {"OKActions", "AlarmActions", "InsufficientDataActions"})
    if (auto actions = node.get(key))
      for (const ConfigNode& a : actions->items()) a.as_string();
  if (auto v = node.get("AlarmDescription")) v->as_string();
  if (auto v = node.get("Unit")) v->as_string();
  if (auto v = node.get("EvaluateLowSampleCountPercentile")) v->as_enum({"evaluate", "ignore"});
  return c;
}

AlarmConfig load_alarm_file(const std::string& path) {
  const nlohmann::json doc = load_json_file(path);
  return parse_alarm(ConfigNode(doc, path));
}

nlohmann::json to_aws_alarm_json(const AlarmConfig& c) {
  nlohmann::json j;
  j["AlarmName"] = c.name;
  j["Namespace"] = c.metric.ns;
  j["MetricName"] = c.metric.name;
  nlohmann::json dims = nlohmann::json::array();
  for (const auto& [k, v] : c.metric.dimensions) dims.push_back({{"Name", k}, {"Value", v}});
  j["Dimensions"] = dims;
  j[c.statistic.is_percentile() ? "ExtendedStatistic" : "Statistic"] = to_string(c.statistic);
  j["Period"] = std::llround(to_seconds(c.period));
  j["EvaluationPeriods"] = c.evaluation_periods;
  j["DatapointsToAlarm"] = c.datapoints_to_alarm;
  j["Threshold"] = c.threshold;
  j["ComparisonOperator"] = std::string(to_string(c.comparison));
  j["TreatMissingData"] = std::string(to_string(c.treat_missing_data));
  return j;
}

}  // namespace flotilla
