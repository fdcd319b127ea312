// `flotilla policy replay`'s engine: a shipped policy file over a recorded metric, through the
// real scaling loop and group in virtual time, with capacity feeding back into the decisions.
#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "core/errors.h"
#include "orchestrator/metric_file.h"
#include "orchestrator/policy_replay.h"
#include "scaling/decision_log.h"
#include "scaling/policy_file.h"

using namespace flotilla;
using namespace std::chrono_literals;

namespace {

const std::string kPolicies = std::string(FLOTILLA_SOURCE_DIR) + "/policies/";
// 2026-11-24T09:00:00Z in Unix seconds.
constexpr std::int64_t kNineUtc = 1795510800;

// `runs` of {value, rows}: one row a minute from 2026-11-24T09:00:00Z.
std::vector<double> series(std::initializer_list<std::pair<double, int>> runs) {
  std::vector<double> out;
  for (const auto& [value, rows] : runs)
    out.insert(out.end(), static_cast<std::size_t>(rows), value);
  return out;
}

std::string csv(const std::vector<double>& values) {
  RecordedMetric clock;
  clock.format = TimestampFormat::rfc3339;
  std::string text = "timestamp,value\n";
  for (std::size_t i = 0; i < values.size(); ++i)
    text += clock.format_time(std::chrono::seconds(kNineUtc + 60 * static_cast<std::int64_t>(i))) +
            "," + std::to_string(values[i]) + "\n";
  return text;
}

// The same rows as get-metric-statistics prints them: unordered, with a unit.
std::string cloudwatch_json(const std::vector<double>& values) {
  RecordedMetric clock;
  clock.format = TimestampFormat::rfc3339;
  nlohmann::json points = nlohmann::json::array();
  for (std::size_t i = 0; i < values.size(); ++i)
    points.push_back({{"Timestamp", clock.format_time(std::chrono::seconds(
                                        kNineUtc + 60 * static_cast<std::int64_t>(i)))},
                      {"Average", values[i]},
                      {"Unit", "Percent"}});
  std::shuffle(points.begin(), points.end(), std::mt19937(7));
  return nlohmann::json{{"Label", "CPUUtilization"}, {"Datapoints", points}}.dump();
}

std::unique_ptr<PolicyReplay> replay(const std::string& policy, const RecordedMetric& metric,
                                     ReplayCapacity capacity) {
  return replay_recorded_metric(load_policy_file(kPolicies + policy, time_scaled(1)), metric,
                                capacity);
}

struct Logged {
  std::string time;
  int before;
  int after;
  std::string rule;
  std::optional<int> raw;

  bool operator==(const Logged&) const = default;
};

std::vector<Logged> logged(const PolicyReplay& r, const RecordedMetric& metric) {
  std::vector<Logged> out;
  for (const DecisionRecord& d : r.loop().records()) {
    if (!d.logged()) continue;
    const PolicyEvaluation& p = d.policies.at(0);
    out.push_back({recorded_time_label(metric, d.t), d.desired_before, d.desired_after,
                   p.decision.rule, p.decision.unclamped});
  }
  return out;
}

std::string describe(const std::vector<Logged>& rows) {
  std::string s;
  for (const Logged& l : rows)
    s += l.time + " " + std::to_string(l.before) + "->" + std::to_string(l.after) + " [" + l.rule +
         "] raw " + (l.raw ? std::to_string(*l.raw) : "-") + "\n";
  return s;
}

}  // namespace

TEST_CASE("policy replay: AWS target tracking scales out after 3 of 3 periods, in after 15 of 15") {
  // aws-cpu-target-50.json: target 50 (scale in below 45), AWS's 3 and 15 periods, 120 s warm-up.
  // Two periods above the target and fourteen below are one short: nothing happens.
  const auto values = series({{30, 10},  // 09:00: below 45, but only ten periods
                              {80, 2},   // 09:10
                              {47, 3},   // 09:12: within the band
                              {80, 3},   // 09:15: the third period above triggers
                              {47, 3},   // 09:18
                              {10, 14},  // 09:21
                              {47, 1},   // 09:35
                              {10, 15},  // 09:36: the fifteenth period below triggers
                              {10, 5}});
  const RecordedMetric metric = parse_metric_csv(csv(values), "cpu.csv");
  const auto r = replay("aws-cpu-target-50.json", metric, {1, 10, 2});
  const std::vector<Logged> want = {
      {"2026-11-24T09:17:00Z", 2, 4, "3 of 3 periods > 50", 4},    // ceil(2 x 80 / 50)
      {"2026-11-24T09:50:00Z", 4, 1, "15 of 15 periods < 45", 1},  // ceil(4 x 10 / 50)
  };
  const auto got = logged(*r, metric);
  CAPTURE(describe(got));
  CHECK(got == want);
  CHECK(r->group().desired() == 1);
  CHECK(r->group().state().in_service == 1);
}

TEST_CASE("policy replay: capacity feeds back, and new workers count only after their warm-up") {
  // The metric is as measured: CPU stays at 80 whatever the capacity, so each scale-out is
  // followed by another once the new workers are past the 120 s warm-up (two periods), up to max.
  const RecordedMetric metric = parse_metric_csv(csv(series({{30, 10}, {80, 12}})), "cpu.csv");
  const auto r = replay("aws-cpu-target-50.json", metric, {1, 10, 2});
  const auto got = logged(*r, metric);
  CAPTURE(describe(got));
  REQUIRE(got.size() >= 4);
  CHECK(got[0] == Logged{"2026-11-24T09:12:00Z", 2, 4, "3 of 3 periods > 50", 4});
  // 09:13: the two new workers are still warming up: ceil(2 x 80 / 50) = 4, nothing to do.
  CHECK(got[1] == Logged{"2026-11-24T09:14:00Z", 4, 7, "3 of 3 periods > 50", 7});
  CHECK(got[2] == Logged{"2026-11-24T09:16:00Z", 7, 10, "3 of 3 periods > 50", 12});
  // At max, the policy still asks for more: logged, held by max.
  CHECK(got[3] == Logged{"2026-11-24T09:17:00Z", 10, 10, "3 of 3 periods > 50", 12});
  const DecisionRecord* held = nullptr;
  for (const DecisionRecord& d : r->loop().records())
    if (d.logged() && recorded_time_label(metric, d.t) == "2026-11-24T09:17:00Z") held = &d;
  REQUIRE(held != nullptr);
  CHECK(held->policies[0].decision.clamped_by == std::vector<std::string>{kClampMax});
}

TEST_CASE("policy replay: the same series as CSV and as get-metric-statistics JSON decides alike") {
  const auto values = series({{20, 5}, {90, 6}, {60, 4}, {5, 20}});
  const RecordedMetric from_csv = parse_metric_csv(csv(values), "cpu.csv");
  const RecordedMetric from_json =
      parse_cloudwatch_json(nlohmann::json::parse(cloudwatch_json(values)), "cpu.json");
  CHECK(from_csv.values == from_json.values);
  for (const std::string policy : {"aws-cpu-target-50.json", "cpu-target-70-aws-defaults.json",
                                   "aws-step-cpu.json", "hpa-cpu.yaml"}) {
    CAPTURE(policy);
    const auto a = replay(policy, from_csv, {1, 10, 2});
    const auto b = replay(policy, from_json, {1, 10, 2});
    const nlohmann::json da = decisions_json(a->loop().records(), recorded_time_origin(from_csv));
    const nlohmann::json db = decisions_json(b->loop().records(), recorded_time_origin(from_json));
    CHECK_FALSE(da.empty());
    CHECK(da.dump(1) == db.dump(1));
    // Times are the file's: the first decision's is a row's timestamp in Unix seconds.
    const double t = da.at(0).at("t").get<double>();
    CHECK(t >= kNineUtc);
    CHECK(static_cast<std::int64_t>(t - kNineUtc) % 60 == 0);
  }
}

TEST_CASE("policy replay: what each kind of policy reads is the file's value") {
  struct Row {
    const char* policy;
    std::vector<double> values;
    ReplayCapacity capacity;
    Logged first;  // the first logged decision
  };
  const Row rows[] = {
      // RequestCountPerTarget as is: 4000 a minute per target over 3000: ceil(2 x 4000 / 3000).
      {"aws-requests-per-target.json",
       series({{1000, 5}, {4000, 3}}),
       {1, 10, 2},
       {"2026-11-24T09:07:00Z", 2, 3, "3 of 3 periods > 3000", 3}},
      // The alarm (aws-step-cpu.alarm.json: >= 60 for 2 of 3 periods of 60 s) reads the group's
      // CPU; 75 is 15 above the threshold: the step [15, 30) adds 2.
      {"aws-step-cpu.json",
       series({{30, 5}, {75, 2}}),
       {1, 10, 2},
       {"2026-11-24T09:06:00Z", 2, 4, "step [15, 30): +2", 4}},
      // The HPA reads each pod's CPU: ceil(3 x 90 / 50) = 6, at most 2 pods or 100% a minute.
      {"hpa-cpu.yaml",
       series({{50, 3}, {90, 1}}),
       {2, 10, 3},
       {"2026-11-24T09:03:00Z", 3, 6, "cpu utilization", 6}},
  };
  for (const Row& row : rows) {
    const std::string policy = row.policy;
    CAPTURE(policy);
    const RecordedMetric metric = parse_metric_csv(csv(row.values), "m.csv");
    const auto r = replay(row.policy, metric, row.capacity);
    const auto got = logged(*r, metric);
    CAPTURE(describe(got));
    REQUIRE_FALSE(got.empty());
    CHECK(got[0] == row.first);
  }
}

TEST_CASE("policy replay: a gap in the file is missing data, and breaks a run of periods") {
  // 80 for three periods, but the second is missing: target tracking needs 3 datapoints in a row.
  std::string text = csv(series({{30, 5}, {80, 3}, {30, 5}}));
  const std::string gap = "2026-11-24T09:06:00Z,80.000000\n";
  REQUIRE(text.find(gap) != std::string::npos);
  text.erase(text.find(gap), gap.size());
  const RecordedMetric metric = parse_metric_csv(text, "gap.csv");
  REQUIRE(metric.values.size() == 13);
  CHECK_FALSE(metric.values[6].has_value());
  const auto r = replay("aws-cpu-target-50.json", metric, {1, 10, 2});
  CHECK(logged(*r, metric).empty());
  bool saw_missing = false;
  for (const DecisionRecord& d : r->loop().records())
    if (recorded_time_label(metric, d.t) == "2026-11-24T09:06:00Z")
      saw_missing =
          !d.group_cpu.has_value() && d.policies[0].decision.reason.find("insufficient data") == 0;
  CHECK(saw_missing);
}

TEST_CASE("policy replay: an alarm whose Period is shorter than the metric's is refused") {
  // aws-step-cpu's alarm has a 60 s Period; five-minute data would leave it without datapoints.
  std::string text = "timestamp,value\n";
  for (int i = 0; i < 4; ++i) text += std::to_string(300 * i) + ",70\n";
  const RecordedMetric metric = parse_metric_csv(text, "five-minutes.csv");
  CHECK_THROWS_WITH_AS(
      replay("aws-step-cpu.json", metric, {1, 10, 2}),
      "five-minutes.csv: expected a period no longer than the Period of the policy's alarm "
      "aws-step-cpu-high (60s; it would only see missing data), got 300s",
      UserError);
}
