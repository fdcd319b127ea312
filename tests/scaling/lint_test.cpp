#include <doctest/doctest.h>

#include <fstream>
#include <string>
#include <vector>

#include "scaling/policy_lint.h"
#include "support/files.h"

using namespace flotilla;

namespace {

const char* kHighAlarm = R"({"AlarmName": "high", "Namespace": "AWS/EC2",
  "MetricName": "CPUUtilization", "Statistic": "Average", "Period": 60, "EvaluationPeriods": 2,
  "Threshold": 70, "ComparisonOperator": "GreaterThanThreshold"})";

struct Expected {
  LintFinding::Severity severity;
  const char* pointer;
  const char* message;  // substring
};

}  // namespace

TEST_CASE("policy lint: findings table") {
  using S = LintFinding::Severity;
  const auto dir = test::fresh_temp_dir("lint");
  std::ofstream(dir / "high.alarm.json") << kHighAlarm;
  std::string never = kHighAlarm;
  never.replace(never.find("70"), 2, "100");
  std::ofstream(dir / "never.alarm.json") << never;
  std::string low_never = kHighAlarm;
  low_never.replace(low_never.find("70"), 2, "0");
  low_never.replace(low_never.find("GreaterThanThreshold"), 20, "LessThanThreshold");
  std::ofstream(dir / "low-never.alarm.json") << low_never;

  struct Row {
    const char* name;
    const char* text;
    std::optional<int> group_min;
    std::optional<Duration> boot;
    std::vector<Expected> want;
  };
  const Row rows[] = {
      {"a clean target tracking policy",
       R"({"type": "target_tracking", "target_value": 50})",
       1,
       std::nullopt,
       {}},
      {"every step gap and overlap, not only the first",
       R"({"type": "step_scaling", "alarm": "high.alarm.json", "steps": [
           {"lower": 0, "upper": 10, "adjustment": 1}, {"lower": 20, "upper": 30, "adjustment": 2},
           {"lower": 25, "adjustment": 3}]})",
       std::nullopt,
       std::nullopt,
       {{S::error, "/steps/1/lower", "gap"}, {S::error, "/steps/2/lower", "overlap"}}},
      {"AWS step gaps name AWS's fields",
       R"({"PolicyType": "StepScaling", "AdjustmentType": "ChangeInCapacity", "StepAdjustments": [
           {"MetricIntervalLowerBound": 0, "MetricIntervalUpperBound": 10, "ScalingAdjustment": 1},
           {"MetricIntervalLowerBound": 11, "ScalingAdjustment": 2}]})",
       std::nullopt,
       std::nullopt,
       {{S::error, "/StepAdjustments/1/MetricIntervalLowerBound", "gap"}}},
      {"min 0 with CPU target tracking",
       R"({"type": "target_tracking", "target_value": 50})",
       0,
       std::nullopt,
       {{S::error, "/metric", "never scales out"}}},
      {"min 0 with a custom metric is fine",
       R"({"type": "target_tracking", "target_value": 5, "metric": {"namespace": "App",
           "name": "Backlog"}})",
       0,
       std::nullopt,
       {}},
      {"HPA min 0 with only cpu",
       R"({"type": "hpa", "min_replicas": 0, "metrics": [
           {"type": "Resource", "name": "cpu", "average_utilization": 50}]})",
       std::nullopt,
       std::nullopt,
       {{S::error, "/min_replicas", "Object or External"}}},
      {"cooldown shorter than boot",
       R"({"type": "simple_scaling", "alarm": "high.alarm.json", "adjustment": 1,
           "cooldown": "5s"})",
       std::nullopt,
       std::chrono::seconds(30),
       {{S::warning, "/cooldown", "boot time 30s"}}},
      {"cooldown longer than boot",
       R"({"type": "simple_scaling", "alarm": "high.alarm.json", "adjustment": 1,
           "cooldown": "60s"})",
       std::nullopt,
       std::chrono::seconds(30),
       {}},
      {"strict comparison above 100% CPU",
       R"({"type": "simple_scaling", "alarm": "never.alarm.json", "adjustment": 1})",
       std::nullopt,
       std::nullopt,
       {{S::error, "/alarm/ComparisonOperator", "never fires"}}},
      {"strict comparison below 0",
       R"({"type": "simple_scaling", "alarm": "low-never.alarm.json", "adjustment": -1})",
       std::nullopt,
       std::nullopt,
       {{S::error, "/alarm/ComparisonOperator", "never negative"}}},
      {"a step on the non-breaching side",
       R"({"type": "step_scaling", "alarm": "high.alarm.json", "steps": [
           {"upper": -5, "adjustment": 1}, {"lower": -5, "upper": 10, "adjustment": 2},
           {"lower": 10, "adjustment": 3}]})",
       std::nullopt,
       std::nullopt,
       {{S::warning, "/steps/0", "never matches"}}},
      {"steps that start above the threshold",
       R"({"type": "step_scaling", "alarm": "high.alarm.json", "steps": [
           {"lower": 10, "adjustment": 1}]})",
       std::nullopt,
       std::nullopt,
       {{S::warning, "/steps", "match no step"}}},
      {"removing capacity on a high alarm",
       R"({"type": "step_scaling", "alarm": "high.alarm.json", "steps": [
           {"lower": 0, "adjustment": -1}]})",
       std::nullopt,
       std::nullopt,
       {{S::warning, "/steps/0/adjustment", "removes capacity"}}},
      {"a load error is an error finding",
       R"({"type": "target_tracking", "target_value": "high"})",
       std::nullopt,
       std::nullopt,
       {{S::error, "/target_value", "a number"}}},
  };
  for (const Row& r : rows) {
    CAPTURE(std::string(r.name));
    const auto path = dir / "p.json";
    std::ofstream(path) << r.text;
    LintContext ctx;
    ctx.group_min = r.group_min;
    ctx.boot_time = r.boot;
    const auto findings = lint_policy_file(path.string(), ctx);
    std::string all;
    for (const auto& f : findings) all += format_finding(f) + "\n";
    CAPTURE(all);
    REQUIRE(findings.size() == r.want.size());
    for (std::size_t i = 0; i < findings.size(); ++i) {
      CHECK(findings[i].severity == r.want[i].severity);
      CHECK(findings[i].pointer == r.want[i].pointer);
      CHECK(findings[i].message.find(r.want[i].message) != std::string::npos);
    }
  }
}

TEST_CASE("policy lint: the shipped policies and alarms are clean") {
  const std::filesystem::path dir = std::filesystem::path(FLOTILLA_SOURCE_DIR) / "policies";
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string file = entry.path().string();
    CAPTURE(file);
    LintContext ctx;
    ctx.group_min = 1;
    ctx.boot_time = std::chrono::seconds(1);
    std::string all;
    for (const auto& f : lint_policy_file(file, ctx)) all += format_finding(f) + "\n";
    CHECK(all == "");
    ++files;
  }
  CHECK(files >= 8);
}

TEST_CASE("format_finding: the severity in colour only when asked") {
  using S = LintFinding::Severity;
  struct Row {
    LintFinding finding;
    bool colour;
    const char* want;
  };
  const Row rows[] = {
      {{S::error, "p.json", "/steps/1/lower", "gap"}, false, "p.json: /steps/1/lower: error: gap"},
      {{S::error, "p.json", "/steps/1/lower", "gap"},
       true,
       "p.json: /steps/1/lower: \033[31merror\033[0m: gap"},
      {{S::warning, "p.json", "", "late"}, false, "p.json: warning: late"},
      {{S::warning, "p.json", "", "late"}, true, "p.json: \033[33mwarning\033[0m: late"},
  };
  for (const Row& row : rows) {
    CAPTURE(row.want);
    CHECK(format_finding(row.finding, row.colour) == row.want);
  }
}
