// policy export (scaling/policy_export.h): the importers' exact inverse, and what it refuses.
#include <doctest/doctest.h>

#include <fstream>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/errors.h"
#include "scaling/aws_import.h"
#include "scaling/hpa.h"
#include "scaling/policy_export.h"
#include "scaling/policy_file.h"
#include "scaling/step_scaling.h"
#include "scaling/target_tracking.h"
#include "support/files.h"

using namespace flotilla;

namespace {

const std::string kSource = FLOTILLA_SOURCE_DIR;
const std::string kPolicies = kSource + "/policies/";
const std::string kExport = kSource + "/tests/scaling/export/";
// A scenario whose 2 s metrics period stands for CloudWatch's minute.
const double kTwoSecondMinute = default_time_scale(std::chrono::seconds(2));

ExportedPolicy export_file(const std::string& path, ExportTarget to, double time_scale = 1) {
  return export_policy(load_policy_export_input(path, time_scaled(time_scale)), to);
}

nlohmann::json read_back(const std::string& text, ExportTarget to) {
  return parse_policy_document(text, to == ExportTarget::aws ? "out.json" : "out.yaml");
}

std::string write(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path) << text;
  return path.string();
}

// The canonical native JSON of a parsed policy: defaults filled in, description dropped.
nlohmann::json canonical(const ScalingPolicy& p) {
  if (auto* t = dynamic_cast<const TargetTrackingPolicy*>(&p))
    return target_tracking_to_json(t->config());
  if (auto* s = dynamic_cast<const StepScalingPolicy*>(&p))
    return step_scaling_to_json(s->config(), nlohmann::json(s->alarm().name));
  if (auto* s = dynamic_cast<const SimpleScalingPolicy*>(&p))
    return simple_scaling_to_json(s->config(), nlohmann::json(s->alarm().name));
  FAIL("not an AWS policy type: " << p.type());
  return {};
}

}  // namespace

TEST_CASE("export: an AWS or HPA document imported and exported is the original") {
  struct Row {
    const char* file;
    ExportTarget to;
    double time_scale;
    // Defaults the import fills in that the original leaves out: the one difference allowed,
    // patched into the original before comparing.
    std::vector<std::pair<const char*, nlohmann::json>> defaults;
  };
  const Row rows[] = {
      {"policies/aws-cpu-target-50.json", ExportTarget::aws, 1, {}},
      {"policies/aws-cpu-target-50.json", ExportTarget::aws, kTwoSecondMinute, {}},
      {"policies/aws-requests-per-target.json",
       ExportTarget::aws,
       1,
       {{"/TargetTrackingConfiguration/DisableScaleIn", false}}},
      {"policies/aws-step-cpu.json", ExportTarget::aws, 1, {}},
      {"policies/aws-step-cpu.json", ExportTarget::aws, kTwoSecondMinute, {}},
      {"tests/scaling/export/aws-simple-percent.json", ExportTarget::aws, 0.5, {}},
      {"tests/scaling/export/aws-custom-metric.json", ExportTarget::aws, 1, {}},
      {"policies/hpa-cpu.yaml",
       ExportTarget::hpa,
       1,
       {{"/spec/behavior/scaleDown/selectPolicy", "Max"}}},
      {"policies/hpa-cpu.yaml",
       ExportTarget::hpa,
       kTwoSecondMinute,
       {{"/spec/behavior/scaleDown/selectPolicy", "Max"}}},
      {"tests/scaling/export/hpa-metrics.yaml", ExportTarget::hpa, 1, {}},
  };
  for (const Row& row : rows) {
    const std::string path = kSource + "/" + row.file;
    CAPTURE(path);
    CAPTURE(row.time_scale);
    const ExportedPolicy out = export_file(path, row.to, row.time_scale);
    nlohmann::json want = read_policy_document(path);
    for (const auto& [pointer, value] : row.defaults) {
      // A default only counts as one where the original really leaves the field out.
      REQUIRE_FALSE(want.contains(nlohmann::json::json_pointer(pointer)));
      want[nlohmann::json::json_pointer(pointer)] = value;
    }
    const nlohmann::json got = read_back(out.policy, row.to);
    INFO("exported: ", got.dump(2), "\nwanted: ", want.dump(2));
    CHECK(got == want);
    // A step or simple policy's alarm is the file beside it, as it was written.
    const auto alarm = find_alarm_file(path, want.value("PolicyName", ""), {});
    if (row.to == ExportTarget::aws &&
        want.value("PolicyType", "SimpleScaling") != std::string("TargetTrackingScaling")) {
      REQUIRE(out.alarm);
      REQUIRE(alarm);
      CHECK(nlohmann::json::parse(*out.alarm) == load_json_file(*alarm));
      CHECK(out.alarm_name == load_json_file(*alarm).at("AlarmName"));
    } else {
      CHECK_FALSE(out.alarm);
    }
  }
}

TEST_CASE("export: a native policy exported to AWS and imported again is the same policy") {
  const auto dir = test::fresh_temp_dir("export-native");
  const std::string custom = write(dir / "custom.json", R"({
    "type": "target_tracking", "name": "latency",
    "metric": {"namespace": "AWS/ApplicationELB", "name": "TargetResponseTime",
               "dimensions": {"TargetGroup": "web", "LoadBalancer": "app/web/1"},
               "statistic": "Maximum"},
    "target_value": 0.3, "warmup": "4s", "disable_scale_in": true,
    "scale_out_periods": 3, "scale_in_periods": 15, "scale_in_ratio": 0.9})");
  const std::string bare =
      write(dir / "bare.json", R"({"type": "target_tracking", "target_value": 40})");
  struct Row {
    std::string file;
    double time_scale;
  };
  const Row rows[] = {
      {kPolicies + "step-cpu.json", kTwoSecondMinute},      // its alarm is a path
      {kPolicies + "step-cpu-low.json", kTwoSecondMinute},  // its alarm is inline
      {kPolicies + "simple-cpu.json", kTwoSecondMinute},
      {kPolicies + "simple-cpu.json", 1},
      {custom, kTwoSecondMinute},
      {bare, 1},  // no warm-up: 0 s, not AWS's default 300 s
  };
  for (const Row& row : rows) {
    CAPTURE(row.file);
    CAPTURE(row.time_scale);
    const PolicyLoadOptions options = time_scaled(row.time_scale);
    const PolicyExportInput in = load_policy_export_input(row.file, options);
    const ExportedPolicy out = export_policy(in, ExportTarget::aws);
    const std::string aws = write(dir / "aws.json", out.policy);
    if (out.alarm) write(dir / "aws.alarm.json", *out.alarm);
    const auto native = parse_policy(ConfigNode(in.native, row.file), options);
    const auto back = load_policy_file(aws, options);
    INFO("exported: ", out.policy);
    CHECK(canonical(*back) == canonical(*native));
    if (out.alarm) {
      CHECK(nlohmann::json::parse(*out.alarm) == in.native.at("alarm"));
    }
    std::filesystem::remove(dir / "aws.alarm.json");
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("export: a native HPA policy exported and imported again is the same policy") {
  const auto dir = test::fresh_temp_dir("export-native-hpa");
  // Written as the import writes it, every default spelled out, so that the two compare.
  const nlohmann::json native = nlohmann::json::parse(R"({
    "type": "hpa", "name": "web", "min_replicas": 1, "max_replicas": 12, "tolerance": 0.1,
    "metrics": [
      {"type": "Resource", "name": "cpu", "average_utilization": 70},
      {"type": "Pods", "name": "queued", "average_value": 2.5},
      {"type": "Object", "name": "RequestCount", "average_value": 40},
      {"type": "External", "namespace": "AWS/ApplicationELB", "name": "RequestCount",
       "dimensions": {"TargetGroup": "web"}, "statistic": "Sum", "value": 1000}],
    "scale_up": {"stabilization_window": "0s", "select_policy": "Max",
                 "policies": [{"type": "Pods", "value": 4, "period": "1s"}]},
    "scale_down": {"stabilization_window": "10s", "select_policy": "Min",
                   "policies": [{"type": "Percent", "value": 10, "period": "2s"},
                                {"type": "Pods", "value": 1, "period": "2s"}]}})");
  const std::string file = write(dir / "web.json", native.dump());
  for (const double scale : {1.0, kTwoSecondMinute}) {
    CAPTURE(scale);
    const ExportedPolicy out = export_file(file, ExportTarget::hpa, scale);
    const std::string yaml = write(dir / "web.yaml", out.policy);
    const nlohmann::json manifest = read_policy_document(yaml);
    CHECK(manifest.at("apiVersion") == "autoscaling/v2");
    // A native policy names no workload: the Deployment named after the policy.
    CHECK(manifest.at("spec").at("scaleTargetRef") ==
          nlohmann::json::parse(R"({"apiVersion": "apps/v1", "kind": "Deployment",
                                    "name": "web"})"));
    CHECK(manifest.at("spec").at("metrics").at(1).at("pods").at("target").at("averageValue") ==
          "2500m");
    const nlohmann::json back = native_policy_json(yaml, time_scaled(scale));
    INFO("exported: ", out.policy, "\nimported: ", back.dump(2));
    CHECK(back == native);
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("export: YAML strings that would read back as numbers or booleans are quoted") {
  const auto dir = test::fresh_temp_dir("export-quoting");
  const std::string file = write(dir / "q.json", R"({
    "type": "hpa", "name": "true", "min_replicas": 1, "max_replicas": 3,
    "metrics": [{"type": "External", "namespace": "Custom", "name": "Depth",
                 "dimensions": {"Queue": "42", "Empty": "", "Flag": "false"},
                 "average_value": 5}]})");
  const ExportedPolicy out = export_file(file, ExportTarget::hpa);
  const nlohmann::json back = read_back(out.policy, ExportTarget::hpa);
  CHECK(back.at("metadata").at("name") == "true");
  CHECK(back.at("spec").at("metrics").at(0).at("external").at("metric").at("selector") ==
        nlohmann::json::parse(R"({"matchLabels": {"Queue": "42", "Empty": "", "Flag": "false"}})"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("export: a field the target format cannot express is refused, naming it") {
  const auto dir = test::fresh_temp_dir("export-refused");
  auto native = [&](const std::string& name, const std::string& text) {
    return write(dir / (name + ".json"), text);
  };
  const std::string tt = R"("type": "target_tracking", "target_value": 50)";
  const std::string hpa_head = R"("type": "hpa", "min_replicas": 1, "max_replicas": 5)";
  struct Row {
    const char* name;
    std::string file;
    ExportTarget to;
    double time_scale;
    std::string pointer;
    std::string says;
  };
  const Row rows[] = {
      {"native scale_in_periods", kPolicies + "cpu-target-50.json", ExportTarget::aws, 1,
       "/scale_in_periods", "15 of 15 periods"},
      {"native scale_in_cooldown", kPolicies + "cpu-target-70-aws-defaults.json", ExportTarget::aws,
       1, "/scale_in_cooldown", "no scale-in cooldown"},
      {"native scale_out_periods", native("out", "{" + tt + R"(, "scale_out_periods": 2})"),
       ExportTarget::aws, 1, "/scale_out_periods", "3 of 3 periods"},
      {"native scale_in_ratio", native("ratio", "{" + tt + R"(, "scale_in_ratio": 0.8})"),
       ExportTarget::aws, 1, "/scale_in_ratio", "below 90%"},
      {"a warm-up that is not whole seconds at AWS's scale",
       native("warm", "{" + tt + R"(, "warmup": "4s"})"), ExportTarget::aws, 0.07, "/warmup",
       "4s / time scale 0.07 = 57.142857 s"},
      {"a cooldown beyond what the import accepts",
       native("cool", R"({"type": "simple_scaling", "adjustment": 1, "cooldown": "50000s",
                          "alarm": ")" +
                          kPolicies + R"(aws-step-cpu.alarm.json"})"),
       ExportTarget::aws, 0.5, "/cooldown", "0 to 86400 s"},
      {"scheduled to AWS", kPolicies + "scheduled-business-hours.json", ExportTarget::aws, 1,
       "/actions", "put-scheduled-update-group-action"},
      {"scheduled to HPA", kPolicies + "scheduled-business-hours.json", ExportTarget::hpa, 1,
       "/actions", "an HPA has no schedule"},
      {"native hpa to AWS", native("hpa-aws", "{" + hpa_head + R"(, "metrics": [
         {"type": "Resource", "name": "cpu", "average_utilization": 50}]})"),
       ExportTarget::aws, 1, "/type", "exports --to hpa"},
      {"step adjustments to HPA", kPolicies + "step-cpu.json", ExportTarget::hpa, 1, "/steps",
       "no step adjustments"},
      {"a simple policy to HPA", kPolicies + "simple-cpu.json", ExportTarget::hpa, 1, "/adjustment",
       "no fixed adjustment"},
      {"target tracking to HPA", kPolicies + "cpu-target-50.json", ExportTarget::hpa, 1, "/type",
       "no HPA equivalent"},
      {"AWS JSON to HPA", kPolicies + "aws-step-cpu.json", ExportTarget::hpa, 1, "/PolicyType",
       "export it --to aws"},
      {"an HPA manifest to AWS", kPolicies + "hpa-cpu.yaml", ExportTarget::aws, 1, "/kind",
       "export it --to hpa"},
      {"hpa without min_replicas", native("nomin", R"({"type": "hpa", "max_replicas": 5,
         "metrics": [{"type": "Resource", "name": "cpu", "average_utilization": 50}]})"),
       ExportTarget::hpa, 1, "/min_replicas", "the group's minimum"},
      {"hpa without max_replicas", native("nomax", R"({"type": "hpa", "min_replicas": 1,
         "metrics": [{"type": "Resource", "name": "cpu", "average_utilization": 50}]})"),
       ExportTarget::hpa, 1, "/max_replicas", "requires maxReplicas"},
      {"hpa tolerance", native("tolerance", "{" + hpa_head + R"(, "tolerance": 0.2, "metrics": [
         {"type": "Resource", "name": "cpu", "average_utilization": 50}]})"),
       ExportTarget::hpa, 1, "/tolerance", "horizontal-pod-autoscaler-tolerance"},
      {"a statistic on a Pods metric", native("podstat", "{" + hpa_head + R"(, "metrics": [
         {"type": "Pods", "name": "in_flight", "average_value": 4, "statistic": "Maximum"}]})"),
       ExportTarget::hpa, 1, "/metrics/0/statistic", "only an External metric"},
      {"a fractional utilization", native("util", "{" + hpa_head + R"(, "metrics": [
         {"type": "Resource", "name": "cpu", "average_utilization": 50.5}]})"),
       ExportTarget::hpa, 1, "/metrics/0/average_utilization", "whole percentage"},
      {"a dimension value that is no label value", native("label", "{" + hpa_head + R"(,
         "metrics": [{"type": "External", "namespace": "AWS/ApplicationELB",
         "name": "RequestCount", "dimensions": {"LoadBalancer": "app/web/1"}, "value": 9}]})"),
       ExportTarget::hpa, 1, "/metrics/0/dimensions/LoadBalancer", "label value"},
      {"a dimension named statistic", native("statdim", "{" + hpa_head + R"(,
         "metrics": [{"type": "External", "namespace": "Custom", "name": "Depth",
         "dimensions": {"statistic": "Sum"}, "value": 9}]})"),
       ExportTarget::hpa, 1, "/metrics/0/dimensions/statistic", "as the statistic"},
      {"default rate periods that are not whole seconds at the scale",
       native("periods", "{" + hpa_head + R"(, "metrics": [
         {"type": "Resource", "name": "cpu", "average_utilization": 50}]})"),
       ExportTarget::hpa, 0.07, "/scale_up/policies", "periodSeconds"},
  };
  for (const Row& row : rows) {
    CAPTURE(std::string(row.name));
    std::string pointer = "(none)", file, message;
    try {
      export_file(row.file, row.to, row.time_scale);
    } catch (const UserError& e) {
      pointer = e.pointer();
      file = e.file();
      message = e.what();
    }
    CHECK(pointer == row.pointer);
    CHECK(file == row.file);
    INFO(message);
    CHECK(message.find(row.says) != std::string::npos);
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("export: notes say what the output lacks or had to guess") {
  const auto dir = test::fresh_temp_dir("export-notes");
  const std::string requests =
      write(dir / "requests.json",
            R"({"type": "target_tracking", "metric": "ALBRequestCountPerTarget",
                "target_value": 600})");
  const std::string hpa = write(dir / "web.json", R"({"type": "hpa", "min_replicas": 1,
    "max_replicas": 4, "metrics": [{"type": "Resource", "name": "cpu",
    "average_utilization": 50}]})");
  struct Row {
    std::string file;
    ExportTarget to;
    std::vector<std::string> notes;  // a part of each, in order
  };
  const Row rows[] = {
      {kPolicies + "aws-requests-per-target.json", ExportTarget::aws, {}},
      {kPolicies + "hpa-cpu.yaml", ExportTarget::hpa, {}},
      {kPolicies + "simple-cpu.json", ExportTarget::aws, {"--auto-scaling-group-name"}},
      {requests, ExportTarget::aws, {"--auto-scaling-group-name", "needs a ResourceLabel"}},
      {hpa, ExportTarget::hpa, {"scaleTargetRef names the Deployment web"}},
  };
  for (const Row& row : rows) {
    CAPTURE(row.file);
    const ExportedPolicy out = export_file(row.file, row.to);
    REQUIRE(out.notes.size() == row.notes.size());
    for (std::size_t i = 0; i < row.notes.size(); ++i) {
      CAPTURE(out.notes[i]);
      CHECK(out.notes[i].find(row.notes[i]) != std::string::npos);
    }
  }
  std::filesystem::remove_all(dir);
}
