#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <vector>

#include "policy_test_support.h"
#include "scaling/target_tracking.h"

using namespace flotilla;
using flotilla::testing::make_group;

namespace {

using flotilla::testing::kNow;

MetricsSnapshot snapshot(const std::vector<std::optional<double>>& values) {
  MetricSeries s;
  s.metric = kAsgAverageCpuUtilization;
  s.id = group_metric(kNamespaceEc2, kMetricCpuUtilization, "g");
  s.period = 10s;
  for (std::size_t i = 0; i < values.size(); ++i) {
    const auto back = static_cast<Duration::rep>(values.size() - 1 - i);
    s.periods.push_back({kNow - back * 10s, values[i]});
  }
  MetricsSnapshot snap;
  snap.series = {s};
  return snap;
}

struct Row {
  const char* name;
  std::vector<std::optional<double>> values;  // oldest first
  GroupState group;
  std::optional<int> want;
  const char* reason;  // substring of the decision's reason
  bool disable_scale_in = false;
  std::optional<Duration> cooldown = std::nullopt;
  std::optional<Time> last_change = std::nullopt;
};

}  // namespace

TEST_CASE("TargetTracking: decision table (target 50 - out 3 of 3 - in 4 of 4 below 45)") {
  const auto nan = std::nullopt;
  const Row rows[] = {
      {"missing data", {nan, nan, nan, nan}, make_group(2, 1, 10, 2), nan, "insufficient data"},
      {"no snapshot periods", {}, make_group(2, 1, 10, 2), nan, "insufficient data"},
      {"latest period missing",
       {80, 80, 80, nan},
       make_group(2, 1, 10, 2),
       nan,
       "insufficient data"},
      {"exactly at target",
       {50, 50, 50, 50},
       make_group(2, 1, 10, 2),
       nan,
       "CPUUtilization 50 within [45, 50]: no change"},
      {"not enough periods above",
       {40, 40, 80, 80},
       make_group(2, 1, 10, 2),
       nan,
       "CPUUtilization 80 > 50 for 2 of 3 periods: no change"},
      {"gap breaks the run", {80, nan, 80, 80}, make_group(2, 1, 10, 2), nan, "for 2 of 3 periods"},
      {"above then dip", {80, 80, 80, 47}, make_group(2, 1, 10, 2), nan, "within [45, 50]"},
      {"scale out",
       {40, 60, 70, 78.2},
       make_group(2, 1, 10, 2),
       4,
       "CPUUtilization 78.2 > 50 for 3 periods: desired 2 -> 4 (ceil(2 x 78.2 / 50))"},
      {"scale out to an exact multiple",
       {75, 75, 75, 75},
       make_group(2, 1, 10, 2),
       3,
       "desired 2 -> 3 (ceil(2 x 75 / 50))"},
      {"barely above target adds one",
       {50.01, 50.01, 50.01, 50.01},
       make_group(2, 1, 10, 2),
       3,
       "desired 2 -> 3"},
      {"clamp to max",
       {200, 200, 200, 200},
       make_group(2, 1, 5, 2),
       5,
       "desired 2 -> 5 (ceil(2 x 200 / 50) = 8, clamped to max 5)"},
      {"already at max", {90, 90, 90, 90}, make_group(5, 1, 5, 5), nan, "already at max"},
      {"capacity on its way covers it",
       {80, 80, 80, 80},
       make_group(4, 1, 10, 2, 0, 2),
       nan,
       "desired 4 already covers ceil(2 x 80 / 50) = 4"},
      {"scale in",
       {20, 20, 20, 20},
       make_group(4, 1, 10, 4),
       2,
       "CPUUtilization 20 < 45 (90% of 50) for 4 periods: desired 4 -> 2 (ceil(4 x 20 / 50))"},
      {"scale in rounds up", {30, 30, 30, 30}, make_group(4, 1, 10, 4), 3, "desired 4 -> 3"},
      {"not enough periods below",
       {50, 20, 20, 20},
       make_group(4, 1, 10, 4),
       nan,
       "CPUUtilization 20 < 45 (90% of 50) for 3 of 4 periods: no change"},
      {"below target but above the scale-in threshold",
       {46, 46, 46, 46},
       make_group(4, 1, 10, 4),
       nan,
       "within [45, 50]"},
      {"at the scale-in threshold", {45, 45, 45, 45}, make_group(4, 1, 10, 4), nan, "within"},
      {"scale in removes nothing when rounding says so",
       {44, 44, 44, 44},
       make_group(4, 1, 10, 4),
       nan,
       "ceil(4 x 44 / 50) = 4 is not below desired 4"},
      {"clamp to min",
       {5, 5, 5, 5},
       make_group(4, 2, 10, 4),
       2,
       "desired 4 -> 2 (ceil(4 x 5 / 50) = 1, clamped to min 2)"},
      {"idle to min 0", {0, 0, 0, 0}, make_group(3, 0, 10, 3), 0, "desired 3 -> 0"},
      {"already at min", {10, 10, 10, 10}, make_group(1, 1, 10, 1), nan, "already at min"},
      {"disable_scale_in",
       {20, 20, 20, 20},
       make_group(4, 1, 10, 4),
       nan,
       "scale-in disabled",
       true},
      {"disable_scale_in still scales out",
       {80, 80, 80, 80},
       make_group(2, 1, 10, 2),
       4,
       "desired 2 -> 4",
       true},
      {"zero in service",
       {80, 80, 80, 80},
       make_group(2, 1, 10, 0, 0, 2),
       nan,
       "no worker is in service past warm-up"},
      {"warming workers are not counted",
       {80, 80, 80, 80},
       make_group(2, 1, 10, 1, 1),
       nan,
       "desired 2 already covers ceil(1 x 80 / 50) = 2"},
      {"scale in held while warming",
       {20, 20, 20, 20},
       make_group(4, 1, 10, 3, 1),
       nan,
       "scale-in held: only 3 of desired 4"},
      {"scale in held while pending",
       {20, 20, 20, 20},
       make_group(4, 1, 10, 3, 0, 1),
       nan,
       "scale-in held"},
      {"scale-in cooldown",
       {20, 20, 20, 20},
       make_group(4, 1, 10, 4),
       nan,
       "scale-in cooldown, 20s left",
       false,
       30s,
       kNow - 10s},
      {"after the cooldown",
       {20, 20, 20, 20},
       make_group(4, 1, 10, 4),
       2,
       "desired 4 -> 2",
       false,
       30s,
       kNow - 30s},
      {"cooldown does not hold scale out",
       {80, 80, 80, 80},
       make_group(2, 1, 10, 2),
       4,
       "desired 2 -> 4",
       false,
       30s,
       kNow - 1s},
  };
  for (const Row& r : rows) {
    const std::string row = r.name;
    CAPTURE(row);
    TargetTrackingConfig c;
    c.name = "t";
    c.target_value = 50;
    c.scale_out_periods = 3;
    c.scale_in_periods = 4;
    c.warmup = 10s;
    c.disable_scale_in = r.disable_scale_in;
    c.scale_in_cooldown = r.cooldown;
    TargetTrackingPolicy policy(c);
    GroupState g = r.group;
    g.last_desired_change = r.last_change;
    const Decision d = policy.decide(snapshot(r.values), g, kNow);
    CHECK(d.desired == r.want);
    CAPTURE(d.reason);
    CHECK(d.reason.find(r.reason) != std::string::npos);
  }
}

TEST_CASE("TargetTracking: asks for enough periods for both alarms") {
  TargetTrackingConfig c;
  c.scale_out_periods = 3;
  c.scale_in_periods = 15;
  c.warmup = 4s;
  TargetTrackingPolicy policy(c);
  const auto req = policy.metrics();
  REQUIRE(req.size() == 1);
  CHECK(req[0].metric == kAsgAverageCpuUtilization);
  CHECK(req[0].periods == 15);
  CHECK(req[0].warmup == 4s);
  CHECK(policy.type() == "target_tracking");
}

namespace {

// A customized metric as a user writes one: queued requests per worker, Average.
TargetTrackingConfig queue_depth_config() {
  TargetTrackingConfig c;
  c.name = "queue";
  c.metric.clear();
  c.custom = CustomMetric{
      "Flotilla/Worker", "queued", {{"AutoScalingGroupName", "g"}}, Statistic::average};
  c.target_value = 10;
  c.scale_out_periods = 2;
  c.scale_in_periods = 3;
  c.warmup = 10s;
  return c;
}

// The custom series under the key the policy looks it up by, and a CPU series that must be
// ignored (its values would decide otherwise).
MetricsSnapshot custom_snapshot(const TargetTrackingPolicy& policy,
                                const std::vector<std::optional<double>>& values) {
  MetricSeries s;
  s.metric = policy.metric_key();
  s.id = policy.metrics().at(0).id;
  s.statistic = Statistic::average;
  s.period = 10s;
  s.periods = flotilla::testing::periods(values);
  MetricsSnapshot snap = snapshot({50, 50, 50});
  snap.series.push_back(s);
  return snap;
}

}  // namespace

TEST_CASE("TargetTracking: a customized metric decides (target 10 - out 2 of 2 - in 3 of 3)") {
  const auto nan = std::nullopt;
  struct CustomRow {
    const char* name;
    std::vector<std::optional<double>> values;  // oldest first; empty: no custom series at all
    GroupState group;
    std::optional<int> want;
    const char* reason;
  };
  const CustomRow rows[] = {
      {"no series under the custom key (CPU is there, and is not read)",
       {},
       make_group(2, 1, 10, 2),
       nan,
       "insufficient data: no queued for the latest period"},
      {"latest period missing", {30, nan}, make_group(2, 1, 10, 2), nan, "insufficient data"},
      {"scale out by the formula, named by the metric's name",
       {30, 30},
       make_group(2, 1, 10, 2),
       6,
       "queued 30 > 10 for 2 periods: desired 2 -> 6 (ceil(2 x 30 / 10))"},
      {"one period above is not enough",
       {5, 30},
       make_group(2, 1, 10, 2),
       nan,
       "queued 30 > 10 for 1 of 2 periods: no change"},
      // Unlike CPU, a customized metric is not averaged over warmed workers alone: every
      // in-service worker counts, warming ones included.
      {"warming workers count toward n",
       {15, 15},
       make_group(2, 1, 10, 1, 1),
       3,
       "desired 2 -> 3 (ceil(2 x 15 / 10))"},
      {"scale in below 90% of the target",
       {2, 2, 2},
       make_group(4, 1, 10, 4),
       1,
       "queued 2 < 9 (90% of 10) for 3 periods: desired 4 -> 1 (ceil(4 x 2 / 10))"},
      {"scale in needs all 3 periods", {20, 2, 2}, make_group(4, 1, 10, 4), nan, "for 2 of 3"},
      {"within the band", {9.5, 9.5, 9.5}, make_group(4, 1, 10, 4), nan, "within [9, 10]"},
      {"clamped to max",
       {100, 100},
       make_group(2, 1, 5, 2),
       5,
       "ceil(2 x 100 / 10) = 20, clamped to max 5"},
      {"no worker in service", {30, 30}, make_group(2, 1, 10, 0, 0, 2), nan, "no worker"},
  };
  for (const CustomRow& r : rows) {
    const std::string row = r.name;
    CAPTURE(row);
    TargetTrackingPolicy policy(queue_depth_config());
    const MetricsSnapshot snap =
        r.values.empty() ? snapshot({50, 50, 50}) : custom_snapshot(policy, r.values);
    const Decision d = policy.decide(snap, r.group, kNow);
    CHECK(d.desired == r.want);
    CAPTURE(d.reason);
    CHECK(d.reason.find(r.reason) != std::string::npos);
    if (!r.values.empty())
      CHECK(d.metric == "Flotilla/Worker queued{AutoScalingGroupName=g} Average");
  }
}

TEST_CASE("TargetTracking: a customized metric asks the loop for its series and statistic") {
  TargetTrackingConfig c = queue_depth_config();
  c.custom->statistic = Statistic::maximum;
  const TargetTrackingPolicy policy(c);
  const auto req = policy.metrics();
  REQUIRE(req.size() == 1);
  CHECK(req[0].kind == MetricKind::custom);
  CHECK(req[0].metric == "Flotilla/Worker queued");
  CHECK(req[0].id == make_metric_id("Flotilla/Worker", "queued", {{"AutoScalingGroupName", "g"}}));
  CHECK(req[0].statistic == Statistic::maximum);
  CHECK(req[0].periods == 3);
}
