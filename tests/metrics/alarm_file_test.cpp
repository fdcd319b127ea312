#include <doctest/doctest.h>

#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "core/errors.h"
#include "metrics/alarm_file.h"
#include "support/files.h"

using namespace flotilla;
using json = nlohmann::json;

namespace {

// What `aws cloudwatch put-metric-alarm --generate-cli-skeleton` users fill in for a step policy.
json step_alarm() {
  return json::parse(R"({
    "AlarmName": "web-cpu-high",
    "AlarmDescription": "scale out when CPU is high",
    "ActionsEnabled": true,
    "OKActions": [],
    "AlarmActions": ["arn:aws:autoscaling:eu-west-1:123456789012:scalingPolicy:x"],
    "InsufficientDataActions": [],
    "MetricName": "CPUUtilization",
    "Namespace": "AWS/EC2",
    "Statistic": "Average",
    "Dimensions": [{"Name": "AutoScalingGroupName", "Value": "web"}],
    "Period": 60,
    "Unit": "Percent",
    "EvaluationPeriods": 3,
    "DatapointsToAlarm": 2,
    "Threshold": 70.5,
    "ComparisonOperator": "GreaterThanOrEqualToThreshold",
    "TreatMissingData": "notBreaching",
    "Tags": [{"Key": "team", "Value": "web"}]
  })");
}

}  // namespace

TEST_CASE("parse_alarm: put-metric-alarm JSON") {
  const json doc = step_alarm();
  const AlarmConfig c = parse_alarm(ConfigNode(doc, "alarm.json"));
  CHECK(c.name == "web-cpu-high");
  CHECK(c.metric == group_metric(kNamespaceEc2, kMetricCpuUtilization, "web"));
  CHECK(c.statistic == Statistic::average);
  CHECK(c.period == 60s);
  CHECK(c.evaluation_periods == 3);
  CHECK(c.datapoints_to_alarm == 2);
  CHECK(c.threshold == 70.5);
  CHECK(c.comparison == ComparisonOperator::greater_than_or_equal_to_threshold);
  CHECK(c.treat_missing_data == TreatMissingData::not_breaching);

  // Round trip through AWS's form.
  const json back = to_aws_alarm_json(c);
  const AlarmConfig again = parse_alarm(ConfigNode(back, "back.json"));
  CHECK(again.metric == c.metric);
  CHECK(again.statistic == c.statistic);
  CHECK(again.period == c.period);
  CHECK(again.datapoints_to_alarm == c.datapoints_to_alarm);
  CHECK(again.treat_missing_data == c.treat_missing_data);
  CHECK(back["Period"] == 60);
}

TEST_CASE("parse_alarm: defaults and extended statistics") {
  json doc = step_alarm();
  doc.erase("DatapointsToAlarm");
  doc.erase("TreatMissingData");
  doc.erase("Statistic");
  doc.erase("Dimensions");
  doc["ExtendedStatistic"] = "p99.9";
  const AlarmConfig c = parse_alarm(ConfigNode(doc, "alarm.json"));
  CHECK(c.datapoints_to_alarm == 3);  // M defaults to N
  CHECK(c.treat_missing_data == TreatMissingData::missing);
  CHECK(c.statistic == Statistic::percentile_of(99.9));
  CHECK(c.metric.dimensions.empty());
  CHECK(to_aws_alarm_json(c)["ExtendedStatistic"] == "p99.9");
}

TEST_CASE("parse_alarm: mistakes name the field") {
  struct Row {
    const char* name;
    std::function<void(json&)> edit;
    const char* pointer;
    const char* expected;  // part of the message
  };
  const Row rows[] = {
      {"unknown field", [](json& d) { d["Treshold"] = 1; }, "/Treshold", "known fields"},
      {"no name", [](json& d) { d.erase("AlarmName"); }, "/AlarmName", "a value"},
      {"empty namespace", [](json& d) { d["Namespace"] = ""; }, "/Namespace", "non-empty"},
      {"no statistic", [](json& d) { d.erase("Statistic"); }, "/Statistic",
       "a Statistic or an ExtendedStatistic"},
      {"both statistics", [](json& d) { d["ExtendedStatistic"] = "p99"; }, "/ExtendedStatistic",
       "not both"},
      {"bad statistic", [](json& d) { d["Statistic"] = "p99"; }, "/Statistic", "\"Average\""},
      {"bad percentile",
       [](json& d) {
         d.erase("Statistic");
         d["ExtendedStatistic"] = "p101";
       },
       "/ExtendedStatistic", "a percentile"},
      {"period zero", [](json& d) { d["Period"] = 0; }, "/Period", "whole number"},
      {"period as text", [](json& d) { d["Period"] = "60"; }, "/Period", "whole number"},
      {"no evaluation periods", [](json& d) { d.erase("EvaluationPeriods"); }, "/EvaluationPeriods",
       "a value"},
      {"M above N", [](json& d) { d["DatapointsToAlarm"] = 4; }, "/DatapointsToAlarm",
       "between 1 and 3"},
      {"M zero", [](json& d) { d["DatapointsToAlarm"] = 0; }, "/DatapointsToAlarm",
       "between 1 and 3"},
      {"threshold text", [](json& d) { d["Threshold"] = "70"; }, "/Threshold", "a number"},
      {"anomaly operator",
       [](json& d) { d["ComparisonOperator"] = "LessThanLowerOrGreaterThanUpperThreshold"; },
       "/ComparisonOperator", "GreaterThanThreshold"},
      {"treat missing case", [](json& d) { d["TreatMissingData"] = "NotBreaching"; },
       "/TreatMissingData", "notBreaching"},
      {"dimension without value", [](json& d) { d["Dimensions"][0].erase("Value"); },
       "/Dimensions/0/Value", "a value"},
      {"dimension repeated",
       [](json& d) {
         d["Dimensions"].push_back({{"Name", "AutoScalingGroupName"}, {"Value", "x"}});
       },
       "/Dimensions/1/Name", "not used before"},
      {"dimension unknown key", [](json& d) { d["Dimensions"][0]["name"] = "x"; },
       "/Dimensions/0/name", "known fields"},
      {"metric math", [](json& d) { d["Metrics"] = json::array(); }, "/Metrics", "metric math"},
      {"actions not a list", [](json& d) { d["AlarmActions"] = "arn"; }, "/AlarmActions",
       "an array"},
  };
  for (const Row& r : rows) {
    const std::string name = r.name;
    CAPTURE(name);
    json doc = step_alarm();
    r.edit(doc);
    try {
      parse_alarm(ConfigNode(doc, "alarm.json"));
      FAIL("no error");
    } catch (const UserError& e) {
      CHECK(e.file() == "alarm.json");
      CHECK(e.pointer() == r.pointer);
      const std::string what = e.what();
      CAPTURE(what);
      CHECK(what.find(r.expected) != std::string::npos);
    }
  }
}

TEST_CASE("load_alarm_file: reads a file, names it in errors") {
  const auto dir = test::fresh_temp_dir("alarm-file");
  const auto path = (dir / "alarm.json").string();
  {
    std::ofstream out(path);
    out << step_alarm().dump(2);
  }
  CHECK(load_alarm_file(path).name == "web-cpu-high");
  CHECK_THROWS_AS(load_alarm_file((dir / "none.json").string()), UserError);
  std::filesystem::remove_all(dir);
}
