#include <doctest/doctest.h>

#include <fstream>
#include <string>

#include "core/errors.h"
#include "scaling/hpa.h"
#include "scaling/policy_file.h"
#include "scaling/step_scaling.h"
#include "scaling/target_tracking.h"
#include "scaling/yaml_document.h"
#include "support/files.h"

using namespace flotilla;

namespace {

const std::string kPolicies = std::string(FLOTILLA_SOURCE_DIR) + "/policies/";

void write(const std::filesystem::path& p, const std::string& text) { std::ofstream(p) << text; }

// The pointer of the UserError that converting `text` (an AWS policy, file p.json in `dir`)
// throws; "" if none.
std::string import_error(const std::string& text, const std::string& dir_name = "import") {
  const auto dir = test::fresh_temp_dir(dir_name);
  write(dir / "p.json", text);
  try {
    native_policy_json((dir / "p.json").string());
  } catch (const UserError& e) {
    return e.pointer();
  }
  return "";
}

const char* kAlarmJson = R"({"AlarmName": "high", "Namespace": "AWS/EC2",
  "MetricName": "CPUUtilization", "Statistic": "Average", "Period": 60, "EvaluationPeriods": 2,
  "Threshold": 70, "ComparisonOperator": "GreaterThanThreshold",
  "AlarmActions": ["arn:aws:autoscaling:us-east-1:1:scalingPolicy:x:autoScalingGroupName/g:policyName/out"]})";

}  // namespace

TEST_CASE("detect_policy_format: by content") {
  struct Row {
    const char* json;
    PolicyFormat want;
  };
  const Row rows[] = {
      {R"({"type": "target_tracking"})", PolicyFormat::native},
      {R"({"PolicyType": "StepScaling"})", PolicyFormat::aws_scaling_policy},
      {R"({"PolicyName": "x", "ScalingAdjustment": 1})", PolicyFormat::aws_scaling_policy},
      {R"({"TargetTrackingConfiguration": {}})", PolicyFormat::aws_scaling_policy},
      {R"({"AlarmName": "a", "ComparisonOperator": "GreaterThanThreshold"})",
       PolicyFormat::aws_alarm},
      {R"({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler"})", PolicyFormat::hpa},
  };
  for (const Row& r : rows) {
    CAPTURE(std::string(r.json));
    CHECK(detect_policy_format(nlohmann::json::parse(r.json), "f.json") == r.want);
  }
  CHECK_THROWS_AS(detect_policy_format(nlohmann::json::parse(R"({"kind": "Deployment"})"), "f"),
                  UserError);
  CHECK_THROWS_AS(detect_policy_format(nlohmann::json::array(), "f"), UserError);
}

TEST_CASE("AWS target tracking on CPU imports to the native policy, time-scaled") {
  const std::string file = kPolicies + "aws-cpu-target-50.json";
  const auto j = native_policy_json(file);
  CHECK(j["type"] == "target_tracking");
  CHECK(j["name"] == "aws-cpu-target-50");
  CHECK(j["metric"] == "ASGAverageCPUUtilization");
  CHECK(j["target_value"] == 50.0);
  CHECK(j["scale_out_periods"] == 3);
  CHECK(j["scale_in_periods"] == 15);
  CHECK(j["scale_in_ratio"] == 0.9);
  CHECK(j["warmup"] == "120s");
  CHECK(j["disable_scale_in"] == false);

  PolicyLoadOptions fast;
  fast.time_scale = default_time_scale(std::chrono::seconds(2));  // 2 s stands for a minute
  const auto p = load_policy_file(file, fast);
  auto* tt = dynamic_cast<TargetTrackingPolicy*>(p.get());
  REQUIRE(tt);
  CHECK(tt->config().warmup == std::chrono::seconds(4));
  CHECK(tt->config().scale_in_periods == 15);  // counts of periods do not scale
}

TEST_CASE("AWS target tracking on requests per target and on a customized metric") {
  auto j = native_policy_json(kPolicies + "aws-requests-per-target.json");
  CHECK(j["metric"] == "ALBRequestCountPerTarget");
  CHECK(j["target_value"] == 3000.0);
  CHECK(j["warmup"] == "60s");

  const auto dir = test::fresh_temp_dir("import-custom");
  write(dir / "custom.json", R"({
    "PolicyName": "queue", "PolicyType": "TargetTrackingScaling",
    "TargetTrackingConfiguration": {
      "CustomizedMetricSpecification": {"Namespace": "Flotilla/Worker", "MetricName": "queued",
        "Dimensions": [{"Name": "AutoScalingGroupName", "Value": "my-asg"}],
        "Statistic": "Average", "Unit": "Count"},
      "TargetValue": 2, "DisableScaleIn": true}})");
  j = native_policy_json((dir / "custom.json").string());
  CHECK(j["metric"]["namespace"] == "Flotilla/Worker");
  CHECK(j["metric"]["name"] == "queued");
  CHECK(j["metric"]["dimensions"]["AutoScalingGroupName"] == "my-asg");
  CHECK(j["disable_scale_in"] == true);
  CHECK(j["warmup"] == "300s");  // AWS's default cooldown stands in for the warm-up
  const auto p = load_policy_file((dir / "custom.json").string());
  auto* tt = dynamic_cast<TargetTrackingPolicy*>(p.get());
  REQUIRE(tt);
  REQUIRE(tt->config().custom);
  const auto req = tt->metrics();
  REQUIRE(req.size() == 1);
  CHECK(req[0].kind == MetricKind::custom);
  CHECK(req[0].id.ns == "Flotilla/Worker");
}

TEST_CASE("AWS step scaling imports with its alarm from beside it") {
  const std::string file = kPolicies + "aws-step-cpu.json";
  const auto j = native_policy_json(file);
  CHECK(j["type"] == "step_scaling");
  CHECK(j["adjustment_type"] == "ChangeInCapacity");
  CHECK(j["warmup"] == "60s");
  REQUIRE(j["steps"].size() == 3);
  CHECK(j["steps"][0] == nlohmann::json({{"lower", 0.0}, {"upper", 15.0}, {"adjustment", 1}}));
  CHECK(j["steps"][2].contains("upper") == false);
  CHECK(j["alarm"]["AlarmName"] == "aws-step-cpu-high");

  PolicyLoadOptions fast;
  fast.time_scale = 1.0 / 30;
  const auto p = load_policy_file(file, fast);
  auto* step = dynamic_cast<StepScalingPolicy*>(p.get());
  REQUIRE(step);
  CHECK(step->alarm().period == std::chrono::seconds(2));
  CHECK(step->alarm().evaluation_periods == 3);
  CHECK(step->alarm().datapoints_to_alarm == 2);
  CHECK(step->config().warmup == std::chrono::seconds(2));
  REQUIRE(step->alarms().size() == 1);
}

TEST_CASE("AWS simple scaling: the alarm from --alarm or from AlarmActions in the folder") {
  const auto dir = test::fresh_temp_dir("import-simple");
  write(dir / "out.json", R"({"PolicyName": "out", "AdjustmentType": "ChangeInCapacity",
                              "ScalingAdjustment": 2, "Cooldown": 120})");
  write(dir / "cpu-high.json", kAlarmJson);
  auto j = native_policy_json((dir / "out.json").string());
  CHECK(j["type"] == "simple_scaling");  // AWS's default PolicyType
  CHECK(j["cooldown"] == "120s");
  CHECK(j["alarm"]["AlarmName"] == "high");

  write(dir / "other.json", std::string(kAlarmJson).replace(15, 4, "othr"));
  PolicyLoadOptions o;
  o.alarm_file = (dir / "other.json").string();
  j = native_policy_json((dir / "out.json").string(), o);
  CHECK(j["alarm"]["AlarmName"] == "othr");
  const auto p = load_policy_file((dir / "out.json").string(), o);
  auto* simple = dynamic_cast<SimpleScalingPolicy*>(p.get());
  REQUIRE(simple);
  CHECK(simple->config().adjustment == 2);
  CHECK(simple->config().cooldown == std::chrono::seconds(120));
}

TEST_CASE("AWS policy JSON: mistakes name the field") {
  struct Row {
    const char* name;
    const char* json;
    const char* pointer;
  };
  const Row rows[] = {
      {"bad PolicyType", R"({"PolicyType": "Predictive"})", "/PolicyType"},
      {"network metric",
       R"({"PolicyType": "TargetTrackingScaling", "TargetTrackingConfiguration": {
           "PredefinedMetricSpecification": {"PredefinedMetricType": "ASGAverageNetworkIn"},
           "TargetValue": 5}})",
       "/TargetTrackingConfiguration/PredefinedMetricSpecification/PredefinedMetricType"},
      {"no metric", R"({"PolicyType": "TargetTrackingScaling",
                        "TargetTrackingConfiguration": {"TargetValue": 5}})",
       "/TargetTrackingConfiguration/PredefinedMetricSpecification"},
      {"metric math", R"({"PolicyType": "TargetTrackingScaling", "TargetTrackingConfiguration": {
           "CustomizedMetricSpecification": {"Metrics": []}, "TargetValue": 5}})",
       "/TargetTrackingConfiguration/CustomizedMetricSpecification/Metrics"},
      {"disabled", R"({"PolicyType": "SimpleScaling", "Enabled": false})", "/Enabled"},
      {"unknown field", R"({"PolicyType": "StepScaling", "Cooldwn": 5})", "/Cooldwn"},
      {"step gap", R"({"PolicyType": "StepScaling", "AdjustmentType": "ChangeInCapacity",
           "StepAdjustments": [
             {"MetricIntervalLowerBound": 0, "MetricIntervalUpperBound": 10, "ScalingAdjustment": 1},
             {"MetricIntervalLowerBound": 20, "ScalingAdjustment": 2}]})",
       "/StepAdjustments/1/MetricIntervalLowerBound"},
      {"step without alarm", R"({"PolicyType": "StepScaling", "AdjustmentType": "ChangeInCapacity",
           "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}]})",
       "/PolicyType"},
      {"magnitude with ChangeInCapacity",
       R"({"PolicyType": "SimpleScaling", "AdjustmentType": "ChangeInCapacity",
           "MinAdjustmentMagnitude": 2, "ScalingAdjustment": 1})",
       "/MinAdjustmentMagnitude"},
  };
  for (const Row& r : rows) {
    CAPTURE(std::string(r.name));
    CHECK(import_error(r.json) == r.pointer);
  }
}

TEST_CASE("A Kubernetes HPA manifest (YAML) imports to the native hpa policy") {
  const std::string file = kPolicies + "hpa-cpu.yaml";
  auto j = native_policy_json(file);
  CHECK(j["type"] == "hpa");
  CHECK(j["name"] == "hpa-cpu");
  CHECK(j["min_replicas"] == 2);
  CHECK(j["max_replicas"] == 10);
  CHECK(j["metrics"][0] ==
        nlohmann::json({{"type", "Resource"}, {"name", "cpu"}, {"average_utilization", 50.0}}));
  CHECK(j["scale_up"]["policies"][0] ==
        nlohmann::json({{"type", "Pods"}, {"value", 2}, {"period", "60s"}}));
  CHECK(j["scale_down"]["stabilization_window"] == "300s");
  CHECK(j["scale_down"]["select_policy"] == "Max");

  PolicyLoadOptions fast;
  fast.time_scale = 1.0 / 30;
  const auto p = load_policy_file(file, fast);
  auto* hpa = dynamic_cast<HpaPolicy*>(p.get());
  REQUIRE(hpa);
  CHECK(hpa->config().scale_down.stabilization_window == std::chrono::seconds(10));
  CHECK(hpa->config().scale_up.policies[0].period == std::chrono::seconds(2));
  CHECK(hpa->config().scale_up.policies[0].value == 2);
  CHECK(hpa->config().min_replicas == 2);
}

TEST_CASE("HPA manifests: defaults, quantities and mistakes") {
  const auto dir = test::fresh_temp_dir("import-hpa");
  write(dir / "minimal.yml",
        "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\n"
        "metadata: {name: web}\nspec:\n  maxReplicas: 5\n"
        "  metrics:\n  - type: External\n    external:\n"
        "      metric:\n        name: AWS/ApplicationELB/RequestCount\n"
        "        selector: {matchLabels: {TargetGroup: tg, statistic: Sum}}\n"
        "      target: {type: AverageValue, averageValue: 1500m}\n");
  const auto j = native_policy_json((dir / "minimal.yml").string());
  CHECK(j["min_replicas"] == 1);
  CHECK(j["metrics"][0]["namespace"] == "AWS/ApplicationELB");
  CHECK(j["metrics"][0]["name"] == "RequestCount");
  CHECK(j["metrics"][0]["dimensions"]["TargetGroup"] == "tg");
  CHECK(j["metrics"][0]["statistic"] == "Sum");
  CHECK(j["metrics"][0]["average_value"] == doctest::Approx(1.5));
  CHECK(j["scale_up"]["policies"].size() == 2);  // Kubernetes' default: +100% or +4 pods
  CHECK(j["scale_down"]["stabilization_window"] == "300s");

  write(dir / "memory.yaml",
        "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\n"
        "spec:\n  maxReplicas: 5\n  metrics:\n  - type: Resource\n"
        "    resource: {name: memory, target: {type: Utilization, "
        "averageUtilization: 50}}\n");
  try {
    native_policy_json((dir / "memory.yaml").string());
    FAIL("expected a UserError");
  } catch (const UserError& e) {
    CHECK(e.pointer() == "/spec/metrics/0/resource/name");
  }
  write(dir / "broken.yaml", "apiVersion: [unclosed\n");
  CHECK_THROWS_AS(native_policy_json((dir / "broken.yaml").string()), UserError);
}

TEST_CASE("YAML documents: scalars become JSON types, quoted ones stay strings") {
  const auto j = parse_yaml_document(
      "a: 50\nb: '50'\nc: 1.5\nd: true\ne: ~\nf: text\n"
      "g: [1, \"x\"]\n",
      "f.yaml");
  CHECK(j["a"] == 50);
  CHECK(j["b"] == "50");
  CHECK(j["c"] == 1.5);
  CHECK(j["d"] == true);
  CHECK(j["e"].is_null());
  CHECK(j["f"] == "text");
  CHECK(j["g"] == nlohmann::json::array({1, "x"}));
  // Beyond a double: a string, which a number field then refuses (std::stod threw out_of_range).
  CHECK(parse_yaml_document("a: 1e999\n", "f.yaml")["a"] == "1e999");
}

TEST_CASE("YAML documents: an alias that contains itself is a UserError, not a stack overflow") {
  // Found by the hpa fuzzer (tests/fuzz/corpus/hpa/self-alias-crash).
  for (const char* text : {"&a [*a]\n", "a: &x {b: *x}\n", "kind: HorizontalPodAutoscaler\n"
                                                         "spec: &s {metrics: [*s]}\n"}) {
    CAPTURE(text);
    try {
      parse_yaml_document(text, "f.yaml");
      FAIL("accepted");
    } catch (const UserError& e) {
      CHECK(e.file() == "f.yaml");
      CHECK(std::string(e.what()).find("an alias may not contain itself") != std::string::npos);
    }
  }
}

TEST_CASE("An alarm file is not a policy, but it describes itself") {
  const std::string alarm = kPolicies + "aws-step-cpu.alarm.json";
  CHECK_THROWS_AS(load_policy_file(alarm), UserError);
  CHECK(describe_policy_file(alarm).find("alarm aws-step-cpu-high") == 0);
  CHECK(describe_policy_file(kPolicies + "aws-step-cpu.json") ==
        "scaling policy aws-step-cpu (step_scaling, from AWS put-scaling-policy JSON)");
}
