#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <vector>

#include "policy_test_support.h"
#include "scaling/step_scaling.h"

using namespace flotilla;
using namespace flotilla::testing;

namespace {

constexpr auto kChange = AdjustmentType::change_in_capacity;
constexpr auto kExact = AdjustmentType::exact_capacity;
constexpr auto kPercent = AdjustmentType::percent_change_in_capacity;

AlarmSnapshot alarm(
    AlarmState state, std::vector<std::optional<double>> values, double threshold = 60,
    ComparisonOperator op = ComparisonOperator::greater_than_or_equal_to_threshold) {
  AlarmSnapshot a;
  a.name = "high";
  a.state = state;
  a.threshold = threshold;
  a.comparison = op;
  a.metric = "AWS/EC2 CPUUtilization{AutoScalingGroupName=g} Average";
  a.datapoints = periods(values);
  return a;
}

// Scale-out steps on a >= 60 alarm: [0, 15) +1, [15, 30) +2, [30, inf) +3.
StepScalingConfig out_steps(AdjustmentType type = kChange) {
  StepScalingConfig c;
  c.name = "steps";
  c.adjustment_type = type;
  c.steps = {{0.0, 15.0, 1}, {15.0, 30.0, 2}, {30.0, std::nullopt, 3}};
  c.warmup = std::chrono::seconds(10);
  return c;
}

}  // namespace

TEST_CASE("adjusted_capacity: AWS's adjustment types and rounding") {
  struct Row {
    const char* name;
    AdjustmentType type;
    int adjustment;
    int base;
    std::optional<int> min_magnitude;
    int want;
  };
  const Row rows[] = {
      {"change +2", kChange, 2, 4, std::nullopt, 6},
      {"change -3", kChange, -3, 4, std::nullopt, 1},
      {"exact ignores the base", kExact, 7, 4, std::nullopt, 7},
      {"percent +50 of 4", kPercent, 50, 4, std::nullopt, 6},
      {"percent truncates toward zero up (12.7 -> 12)", kPercent, 127, 10, std::nullopt, 22},
      {"percent truncates toward zero down (-6.67 -> -6)", kPercent, -67, 10, std::nullopt, 4},
      {"percent between 0 and 1 becomes 1", kPercent, 10, 4, std::nullopt, 5},
      {"percent between -1 and 0 becomes -1", kPercent, -10, 4, std::nullopt, 3},
      {"min magnitude raises a small increase", kPercent, 10, 10, 3, 13},
      {"min magnitude raises a small decrease", kPercent, -10, 10, 3, 7},
      {"min magnitude below the change does nothing", kPercent, 50, 10, 2, 15},
      {"percent of zero with a magnitude", kPercent, 50, 0, 2, 2},
      {"percent of zero without one", kPercent, 50, 0, std::nullopt, 0},
  };
  for (const Row& r : rows) {
    CAPTURE(std::string(r.name));
    CHECK(adjusted_capacity(r.type, r.adjustment, r.base, r.min_magnitude) == r.want);
  }
}

TEST_CASE("check_steps: gaps, overlaps and AWS's bound rules") {
  const auto inf = std::nullopt;
  struct Row {
    const char* name;
    std::vector<StepAdjustment> steps;
    std::vector<std::string> problems;  // substrings, in order
  };
  const Row rows[] = {
      {"contiguous", {{0.0, 10.0, 1}, {10.0, inf, 2}}, {}},
      {"unsorted but contiguous", {{10.0, inf, 2}, {0.0, 10.0, 1}}, {}},
      {"one open-ended step", {{0.0, inf, 1}}, {}},
      {"scale-in steps below the threshold", {{inf, -10.0, -2}, {-10.0, 0.0, -1}}, {}},
      {"none", {}, {"at least one step"}},
      {"gap", {{0.0, 10.0, 1}, {20.0, inf, 2}}, {"gap: no step covers 10 to 20"}},
      {"overlap", {{0.0, 15.0, 1}, {10.0, inf, 2}}, {"overlap with step 0"}},
      {"both bounds infinite", {{inf, inf, 1}}, {"both are infinite"}},
      {"lower above upper",
       {{10.0, 5.0, 1}, {5.0, inf, 1}},
       {"lower bound 10 must be below the upper bound 5"}},
      {"two without upper",
       {{0.0, inf, 1}, {10.0, inf, 2}},
       {"at most one step may have no upper bound"}},
      {"positive upper needs an open end", {{0.0, 10.0, 1}}, {"one step must have no upper bound"}},
      {"negative lower needs an open start",
       {{-10.0, 0.0, -1}},
       {"one step must have no lower bound"}},
  };
  for (const Row& r : rows) {
    CAPTURE(std::string(r.name));
    const auto problems = check_steps(r.steps);
    std::string all;
    for (const auto& p : problems) all += p.message + " | ";
    CAPTURE(all);
    REQUIRE(problems.size() >= r.problems.size());
    if (r.problems.empty()) CHECK(problems.empty());
    for (std::size_t i = 0; i < r.problems.size(); ++i)
      CHECK(all.find(r.problems[i]) != std::string::npos);
  }
}

TEST_CASE("describe_step: inclusive bounds depend on the side of the threshold") {
  CHECK(describe_step({0.0, 10.0, 1}, true) == "[0, 10)");
  CHECK(describe_step({-10.0, 0.0, 1}, false) == "(-10, 0]");
  CHECK(describe_step({30.0, std::nullopt, 1}, true) == "[30, +inf)");
  CHECK(describe_step({std::nullopt, -5.0, 1}, false) == "(-inf, -5]");
}

TEST_CASE("decide_step_scaling: decision table") {
  const auto nan = std::nullopt;
  const auto kAlarm = AlarmState::alarm;
  struct Row {
    const char* name;
    std::optional<AlarmSnapshot> alarm;
    GroupState group;
    std::optional<int> want;
    const char* reason;
    std::optional<int> raw = std::nullopt;
    std::vector<std::string> clamped_by = {};
    StepScalingConfig config = out_steps();
  };
  const Row rows[] = {
      {"never evaluated", nan, make_group(2, 1, 10, 2), nan, "alarm not evaluated yet"},
      {"OK", alarm(AlarmState::ok, {50, 50, 50}), make_group(2, 1, 10, 2), nan,
       "alarm high is OK: no change"},
      {"insufficient data", alarm(AlarmState::insufficient_data, {nan, nan, nan}),
       make_group(2, 1, 10, 2), nan, "INSUFFICIENT_DATA"},
      {"first step at the threshold (lower bound inclusive)", alarm(kAlarm, {50, 60, 60}),
       make_group(2, 1, 10, 2), 3, "step [0, 15): +1: desired 2 -> 3 (2 +1 = 3)", 3},
      {"second step at its lower bound", alarm(kAlarm, {75, 75, 75}), make_group(2, 1, 10, 2), 4,
       "step [15, 30): +2", 4},
      {"value just under the second step", alarm(kAlarm, {74.9, 74.9}), make_group(2, 1, 10, 2), 3,
       "step [0, 15): +1", 3},
      {"open-ended step", alarm(kAlarm, {95, 95}), make_group(2, 1, 10, 2), 5,
       "step [30, +inf): +3", 5},
      {"average of the breaching datapoints", alarm(kAlarm, {40, 70, 80}), make_group(2, 1, 10, 2),
       4, "value 75 (threshold 60)", 4},
      {"clamped to max",
       alarm(kAlarm, {95, 95}),
       make_group(4, 1, 5, 4),
       5,
       "desired 4 -> 5 (4 +3 = 7, clamped to max 5)",
       7,
       {"max"}},
      {"already at max",
       alarm(kAlarm, {95, 95}),
       make_group(5, 1, 5, 5),
       nan,
       "is already at max",
       8,
       {"max"}},
      {"warming workers cover the same step",
       alarm(kAlarm, {62, 62}),
       make_group(3, 1, 10, 2, 1),
       nan,
       "the 1 warming worker already cover",
       3,
       {"warmup"}},
      {"a higher step adds the difference while warming", alarm(kAlarm, {95, 95}),
       make_group(3, 1, 10, 2, 1), 5, "2 +3 (desired 3 less 1 warming)", 5},
      {"pending workers count as warming",
       alarm(kAlarm, {62, 62}),
       make_group(3, 1, 10, 2, 0, 1),
       nan,
       "already cover",
       3,
       {"warmup"}},
      {"a percent step below the warming capacity is covered, not a scale-in",
       alarm(kAlarm, {62, 62}),
       make_group(4, 1, 10, 2, 2),
       nan,
       "2 warming workers already cover",
       3,
       {"warmup"},
       StepScalingConfig{"p",
                         kPercent,
                         {{0.0, std::nullopt, 50}},
                         std::nullopt,
                         MetricAggregation::average,
                         std::chrono::seconds(10)}},
      {"ALARM from missing data only", alarm(kAlarm, {nan, nan, nan}), make_group(2, 1, 10, 2), nan,
       "without a breaching datapoint"},
      {"percent step",
       alarm(kAlarm, {62, 62}),
       make_group(4, 1, 10, 4),
       6,
       "desired 4 -> 6 (4 +50% = 6)",
       6,
       {},
       StepScalingConfig{"p",
                         kPercent,
                         {{0.0, std::nullopt, 50}},
                         std::nullopt,
                         MetricAggregation::average,
                         Duration::zero()}},
      {"exact capacity",
       alarm(kAlarm, {62, 62}),
       make_group(2, 1, 10, 2),
       6,
       "exact capacity = 6",
       6,
       {},
       StepScalingConfig{"e",
                         kExact,
                         {{0.0, std::nullopt, 6}},
                         std::nullopt,
                         MetricAggregation::average,
                         Duration::zero()}},
      {"value matching no step",
       alarm(kAlarm, {65, 65}),
       make_group(2, 1, 10, 2),
       nan,
       "matches no step",
       nan,
       {},
       StepScalingConfig{"g",
                         kChange,
                         {{10.0, std::nullopt, 1}},
                         std::nullopt,
                         MetricAggregation::average,
                         Duration::zero()}},
  };
  for (const Row& r : rows) {
    CAPTURE(std::string(r.name));
    const Decision d = decide_step_scaling(r.config, r.alarm ? &*r.alarm : nullptr, r.group, kNow);
    CAPTURE(d.reason);
    CHECK(d.desired == r.want);
    CHECK(d.reason.find(r.reason) != std::string::npos);
    if (r.raw) CHECK(d.unclamped == r.raw);
    CHECK(d.clamped_by == r.clamped_by);
    if (r.alarm) CHECK(d.datapoints.size() == r.alarm->datapoints.size());
  }
}

TEST_CASE("decide_step_scaling: scale-in steps below a low alarm") {
  StepScalingConfig c;
  c.name = "in";
  c.steps = {{std::nullopt, -20.0, -2}, {-20.0, 0.0, -1}};
  c.warmup = std::chrono::seconds(10);
  struct Row {
    const char* name;
    double value;
    GroupState group;
    std::optional<int> want;
    const char* reason;
    std::vector<std::string> clamped_by = {};
  };
  const Row rows[] = {
      {"just below: upper bound inclusive", 30, make_group(4, 1, 10, 4), 3, "step (-20, 0]: -1"},
      {"at the boundary -20 belongs to the lower step", 10, make_group(4, 1, 10, 4), 2,
       "step (-inf, -20]: -2"},
      {"far below", 5, make_group(4, 1, 10, 4), 2, "step (-inf, -20]: -2"},
      {"held while a worker warms up",
       5,
       make_group(4, 1, 10, 3, 1),
       std::nullopt,
       "scale-in held while 1 worker is warming up",
       {"warmup"}},
      {"clamped to min", 5, make_group(2, 1, 10, 2), 1, "clamped to min 1", {"min"}},
      {"already at min", 5, make_group(1, 1, 10, 1), std::nullopt, "already at min", {"min"}},
  };
  for (const Row& r : rows) {
    CAPTURE(std::string(r.name));
    const AlarmSnapshot a = alarm(AlarmState::alarm, {r.value}, 30,
                                  ComparisonOperator::less_than_or_equal_to_threshold);
    const Decision d = decide_step_scaling(c, &a, r.group, kNow);
    CAPTURE(d.reason);
    CHECK(d.desired == r.want);
    CHECK(d.reason.find(r.reason) != std::string::npos);
    CHECK(d.clamped_by == r.clamped_by);
  }
}

TEST_CASE("decide_simple_scaling: decision table") {
  SimpleScalingConfig c;
  c.name = "simple";
  c.adjustment = 2;
  c.cooldown = std::chrono::seconds(300);
  struct Row {
    const char* name;
    AlarmState state;
    GroupState group;
    std::optional<Time> last_change;
    std::optional<int> want;
    const char* reason;
    std::vector<std::string> clamped_by = {};
  };
  const auto never = std::nullopt;
  const Row rows[] = {
      {"OK", AlarmState::ok, make_group(2, 1, 10, 2), never, never, "is OK"},
      {"ALARM adds 2", AlarmState::alarm, make_group(2, 1, 10, 2), never, 4,
       "+2: desired 2 -> 4 (2 +2 = 4)"},
      {"in cooldown",
       AlarmState::alarm,
       make_group(2, 1, 10, 2),
       kNow - std::chrono::seconds(100),
       never,
       "cooldown, 200s left",
       {"cooldown"}},
      {"cooldown over", AlarmState::alarm, make_group(2, 1, 10, 2),
       kNow - std::chrono::seconds(300), 4, "desired 2 -> 4"},
      {"activity in progress",
       AlarmState::alarm,
       make_group(4, 1, 10, 2, 0, 2),
       never,
       never,
       "in progress (2 pending)",
       {"cooldown"}},
      {"clamped to max",
       AlarmState::alarm,
       make_group(9, 1, 10, 9),
       never,
       10,
       "clamped to max 10",
       {"max"}},
  };
  for (const Row& r : rows) {
    CAPTURE(std::string(r.name));
    const AlarmSnapshot a = alarm(r.state, {70});
    GroupState g = r.group;
    g.last_desired_change = r.last_change;
    const Decision d = decide_simple_scaling(c, &a, g, kNow);
    CAPTURE(d.reason);
    CHECK(d.desired == r.want);
    CHECK(d.reason.find(r.reason) != std::string::npos);
    CHECK(d.clamped_by == r.clamped_by);
  }
}
