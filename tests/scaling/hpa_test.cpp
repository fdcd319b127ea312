#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <vector>

#include "policy_test_support.h"
#include "scaling/hpa.h"

using namespace flotilla;
using namespace flotilla::testing;

namespace {

HpaConfig cpu_config(double target = 50) {
  HpaConfig c;
  c.name = "web";
  HpaMetric m;
  m.type = HpaMetricType::resource_cpu;
  m.name = "cpu";
  m.target = target;
  c.metrics = {m};
  return c;
}

// Per-worker values in the group's worker order (nullopt: the worker published nothing).
MetricsSnapshot per_worker(const HpaConfig& c, const GroupState& g,
                           const std::vector<std::optional<double>>& values) {
  MetricSeries s;
  s.metric = hpa_metric_key(c, 0);
  s.period = std::chrono::seconds(10);
  for (std::size_t i = 0; i < g.workers.size(); ++i)
    s.workers.push_back({g.workers[i].id, i < values.size() ? values[i] : std::nullopt});
  MetricsSnapshot snap;
  snap.series = {s};
  return snap;
}

// An External metric with target averageValue 10: the proposal is ceil(value / 10).
HpaConfig external_config() {
  HpaConfig c;
  c.name = "ext";
  HpaMetric m;
  m.type = HpaMetricType::external;
  m.ns = "AWS/ApplicationELB";
  m.name = "RequestCount";
  m.target_type = HpaTargetType::average_value;
  m.target = 10;
  c.metrics = {m};
  return c;
}

MetricsSnapshot external_value(const HpaConfig& c, std::optional<double> v) {
  MetricSeries s;
  s.metric = hpa_metric_key(c, 0);
  s.period = std::chrono::seconds(10);
  s.periods = periods({v});
  MetricsSnapshot snap;
  snap.series = {s};
  return snap;
}

// Kubernetes' default scale-up rules with a scale-up stabilization window.
HpaRules scale_up_window(Duration window) {
  HpaRules r = default_hpa_scale_up();
  r.stabilization_window = window;
  return r;
}

}  // namespace

TEST_CASE("HPA: per-worker cpu proposals (replica_calculator.go)") {
  const auto nan = std::nullopt;
  struct Row {
    const char* name;
    GroupState group;
    std::vector<std::optional<double>> values;
    std::optional<int> want;
    const char* reason;
  };
  const Row rows[] = {
      {"within tolerance", make_group(2, 1, 20, 2), {54, 54}, 2, "within tolerance 0.1"},
      {"just outside tolerance", make_group(2, 1, 20, 2), {56, 56}, 3, "ceil(1.12 x 2 ready) = 3"},
      {"scale up", make_group(2, 1, 20, 2), {100, 100}, 4, "ceil(2 x 2 ready) = 4"},
      {"scale down", make_group(4, 1, 20, 4), {20, 20, 20, 20}, 2, "ceil(0.4 x 4 ready) = 2"},
      {"missing counts as 100% on a scale-down",
       make_group(4, 1, 20, 4),
       {10, 10, 10, nan},
       3,
       "1 missing, 0 unready; ratio with them 0.65: ceil(0.65 x 4) = 3"},
      {"missing counts as 0 on a scale-up",
       make_group(4, 1, 20, 4),
       {100, 100, 100, nan},
       6,
       "ratio with them 1.5: ceil(1.5 x 4) = 6"},
      {"unready count as 0 on a scale-up",
       make_group(3, 1, 20, 2, 0, 1),
       {100, 100, 100},
       4,
       "0 missing, 1 unready; ratio with them 1.333: ceil(1.333 x 3) = 4"},
      {"unready left out on a scale-down",
       make_group(3, 1, 20, 2, 0, 1),
       {10, 10, 10},
       1,
       "ceil(0.2 x 2 ready) = 1"},
      {"filling that flips the direction keeps current",
       make_group(4, 1, 20, 4),
       {56, nan, nan, nan},
       4,
       "ratio with them 0.28: no change"},
      {"a worker in service for less than a period is unready",
       make_group(2, 1, 20, 1, 1),
       {100, 100},
       2,
       "0 missing, 1 unready; ratio with them 1: no change"},
      {"no ready worker has a value",
       make_group(2, 1, 20, 0, 0, 2),
       {50, 50},
       nan,
       "no metrics for any ready worker"},
  };
  for (const Row& r : rows) {
    CAPTURE(std::string(r.name));
    const HpaConfig c = cpu_config();
    const HpaProposal p =
        hpa_proposal(c, c.metrics[0], per_worker(c, r.group, r.values), r.group, kNow);
    CAPTURE(p.reason);
    CHECK(p.replicas == r.want);
    CHECK(p.reason.find(r.reason) != std::string::npos);
  }
}

TEST_CASE("HPA: Object and External proposals") {
  struct Row {
    const char* name;
    HpaTargetType type;
    double target;
    std::optional<double> value;
    GroupState group;
    std::optional<int> want;
  };
  const Row rows[] = {
      {"average value", HpaTargetType::average_value, 10, 45, make_group(2, 1, 20, 2), 5},
      {"average value within tolerance", HpaTargetType::average_value, 10, 21,
       make_group(2, 1, 20, 2), 2},
      {"value: ratio x ready", HpaTargetType::value, 100, 300, make_group(2, 1, 20, 2), 6},
      {"value within tolerance", HpaTargetType::value, 100, 105, make_group(2, 1, 20, 2), 2},
      {"value from zero replicas", HpaTargetType::value, 100, 250, make_group(0, 0, 20, 0), 3},
      {"no data", HpaTargetType::value, 100, std::nullopt, make_group(2, 1, 20, 2), std::nullopt},
  };
  for (const Row& r : rows) {
    CAPTURE(std::string(r.name));
    HpaConfig c = external_config();
    c.metrics[0].target_type = r.type;
    c.metrics[0].target = r.target;
    const HpaProposal p = hpa_proposal(c, c.metrics[0], external_value(c, r.value), r.group, kNow);
    CAPTURE(p.reason);
    CHECK(p.replicas == r.want);
  }
}

TEST_CASE("HPA: behavior (stabilization, rate limits, selectPolicy, limits)") {
  using std::chrono::seconds;
  const HpaRatePolicy pods1{HpaRatePolicy::Type::pods, 1, seconds(60)};
  struct Row {
    const char* name;
    int current;
    double value;  // proposal = ceil(value / 10)
    std::vector<std::pair<Time, int>> recommendations = {};
    std::vector<std::pair<Time, int>> events = {};
    std::optional<HpaRules> up = std::nullopt;
    std::optional<HpaRules> down = std::nullopt;
    std::optional<int> min_replicas = std::nullopt;
    std::optional<int> want = std::nullopt;
    std::vector<std::string> clamped_by = {};
    const char* reason = "";
  };
  const Row rows[] = {
      {"scale-down held by the window",
       5,
       20,
       {{kNow - seconds(100), 5}},
       {},
       {},
       {},
       {},
       std::nullopt,
       {"stabilization_window"},
       "highest recommendation in the last 300s"},
      {"recommendations older than the window do not hold",
       5,
       20,
       {{kNow - seconds(300), 5}},
       {},
       {},
       {},
       {},
       2,
       {},
       "desired 5 -> 2"},
      {"the highest recommendation in the window wins",
       5,
       20,
       {{kNow - seconds(200), 4}, {kNow - seconds(100), 3}},
       {},
       {},
       {},
       {},
       4,
       {"stabilization_window"}},
      {"default scale-up: max(+100%, +4 pods)",
       2,
       200,
       {},
       {},
       {},
       {},
       {},
       6,
       {"rate_limit"},
       "scale-up rate limit 6"},
      {"selectPolicy Min",
       2,
       200,
       {},
       {},
       HpaRules{Duration::zero(), HpaSelect::min, default_hpa_scale_up().policies},
       {},
       {},
       4,
       {"rate_limit"}},
      {"selectPolicy Disabled",
       2,
       200,
       {},
       {},
       HpaRules{Duration::zero(), HpaSelect::disabled, {}},
       {},
       {},
       std::nullopt,
       {"rate_limit"}},
      {"changes within the period use up the budget",
       6,
       200,
       {},
       {{kNow - seconds(5), 4}},
       {},
       {},
       {},
       std::nullopt,
       {"rate_limit"}},
      {"changes older than the period do not",
       6,
       200,
       {},
       {{kNow - seconds(15), 4}},
       {},
       {},
       {},
       12,
       {"rate_limit"}},
      {"scale-down by one pod per minute",
       5,
       20,
       {},
       {},
       {},
       HpaRules{Duration::zero(), HpaSelect::max, {pods1}},
       {},
       4,
       {"rate_limit"}},
      {"scale-up within the rate", 2, 35, {}, {}, {}, {}, {}, 4, {}, "desired 2 -> 4"},
      {"the HPA's own minimum", 2, 10, {}, {}, {}, {}, 3, 3, {}, "below min_replicas"},
      {"zero replicas disable scaling",
       0,
       50,
       {},
       {},
       {},
       {},
       1,
       std::nullopt,
       {},
       "disabled while current replicas is 0"},
      // The scale-up window: the lowest recommendation within it (Kubernetes' default is none).
      {"scale-up window: a lower recommendation in it holds the scale-up to it",
       2,
       50,
       {{kNow - seconds(30), 3}},
       {},
       scale_up_window(seconds(60)),
       {},
       {},
       3,
       {"stabilization_window"},
       "stabilized to 3 (lowest recommendation in the last 60s): desired 2 -> 3"},
      {"scale-up window: the lowest in it wins",
       2,
       50,
       {{kNow - seconds(50), 4}, {kNow - seconds(20), 3}, {kNow - seconds(10), 4}},
       {},
       scale_up_window(seconds(60)),
       {},
       {},
       3,
       {"stabilization_window"},
       "stabilized to 3"},
      {"scale-up window: a recommendation at current holds the scale-up entirely",
       2,
       50,
       {{kNow - seconds(59), 2}},
       {},
       scale_up_window(seconds(60)),
       {},
       {},
       std::nullopt,
       {"stabilization_window"},
       "stabilized to 2 (lowest recommendation in the last 60s): no change"},
      {"scale-up window: a recommendation as old as the window no longer holds",
       2,
       50,
       {{kNow - seconds(60), 2}},
       {},
       scale_up_window(seconds(60)),
       {},
       {},
       5,
       {},
       "desired 2 -> 5"},
      {"scale-up window: higher recommendations in it do not raise the proposal",
       2,
       50,
       {{kNow - seconds(30), 9}},
       {},
       scale_up_window(seconds(60)),
       {},
       {},
       5,
       {},
       "desired 2 -> 5"},
      {"no scale-up window: a lower recommendation does not hold",
       2,
       50,
       {{kNow - seconds(5), 2}},
       {},
       {},
       {},
       {},
       5,
       {},
       "desired 2 -> 5"},
      {"scale-up window: does not hold a scale-down",
       5,
       20,
       {{kNow - seconds(30), 5}},
       {},
       scale_up_window(seconds(60)),
       HpaRules{Duration::zero(), HpaSelect::max, default_hpa_scale_down().policies},
       {},
       2,
       {},
       "desired 5 -> 2"},
  };
  for (const Row& r : rows) {
    CAPTURE(std::string(r.name));
    HpaConfig c = external_config();
    if (r.up) c.scale_up = *r.up;
    if (r.down) c.scale_down = *r.down;
    c.min_replicas = r.min_replicas;
    c.max_replicas = 20;
    HpaHistory h;
    h.recommendations.assign(r.recommendations.begin(), r.recommendations.end());
    h.scale_events.assign(r.events.begin(), r.events.end());
    h.last_desired = r.current;
    const GroupState g = make_group(r.current, 0, 30, r.current);
    const Decision d = hpa_decide(c, external_value(c, r.value), g, kNow, h);
    CAPTURE(d.reason);
    CHECK(d.desired == r.want);
    CHECK(d.clamped_by == r.clamped_by);
    CHECK(d.reason.find(r.reason) != std::string::npos);
  }
}

TEST_CASE("HPA: the policy remembers recommendations and observed changes") {
  HpaConfig c = external_config();
  HpaPolicy policy(c);
  GroupState g = make_group(2, 1, 20, 2);
  // 2 -> 6 (+100% or +4 pods, the larger), then the group follows.
  Decision d = policy.decide(external_value(c, 200), g, kNow);
  REQUIRE(d.desired == 6);
  g = make_group(6, 1, 20, 6);
  // 5 s later: the +4 is within the 15 s period, so no more room.
  d = policy.decide(external_value(c, 200), g, kNow + std::chrono::seconds(5));
  CHECK(d.desired == std::nullopt);
  CHECK(d.clamped_by == std::vector<std::string>{"rate_limit"});
  // Low load now: the 300 s window remembers the recommendation of 20.
  d = policy.decide(external_value(c, 10), g, kNow + std::chrono::seconds(20));
  CHECK(d.desired == std::nullopt);
  CHECK(d.clamped_by == std::vector<std::string>{"stabilization_window"});
  d = policy.decide(external_value(c, 10), g, kNow + std::chrono::seconds(330));
  CHECK(d.desired == 1);
}

TEST_CASE("HPA: a 30 s scale-up window in virtual time: load rises, the policy waits it out") {
  using std::chrono::seconds;
  HpaConfig c = external_config();
  c.scale_up = scale_up_window(seconds(30));
  c.max_replicas = 20;
  HpaPolicy policy(c);
  struct Step {
    int t;         // seconds after kNow
    double value;  // proposal = ceil(value / 10)
    std::optional<int> want;
  };
  // Quiet at 2 until t = 0, then 50 (a proposal of 5) from t = 10 on: the recommendation of 2 at
  // t = 0 holds the group for the 30 s after it; at t = 30 it has left the window.
  const Step steps[] = {
      {-20, 20, std::nullopt}, {-10, 20, std::nullopt}, {0, 20, std::nullopt},
      {10, 50, std::nullopt},  {20, 50, std::nullopt},  {30, 50, 5},
  };
  const GroupState g = make_group(2, 1, 20, 2);
  for (const Step& s : steps) {
    CAPTURE(s.t);
    const Decision d = policy.decide(external_value(c, s.value), g, kNow + seconds(s.t));
    CAPTURE(d.reason);
    CHECK(d.desired == s.want);
  }
}
