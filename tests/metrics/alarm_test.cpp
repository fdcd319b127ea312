#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <vector>

#include "core/virtual_scheduler.h"
#include "metrics/alarm.h"

using namespace flotilla;

namespace {

constexpr double kThreshold = 50;

// "0 - X" -> one datapoint per character, oldest first, a minute apart: 0 = 10 (not breaching
// "> 50"), X = 90 (breaching), - = missing.
std::vector<AlarmDatapoint> pattern(std::string_view text) {
  std::vector<AlarmDatapoint> out;
  for (char c : text) {
    if (c == ' ') continue;
    const Time end = std::chrono::minutes(out.size() + 1);
    if (c == '-')
      out.push_back({end, std::nullopt});
    else
      out.push_back({end, c == 'X' ? 90.0 : 10.0});
  }
  return out;
}

AlarmConfig config(int n, int m, TreatMissingData treat) {
  AlarmConfig c;
  c.name = "test";
  c.metric = make_metric_id("AWS/EC2", "CPUUtilization");
  c.evaluation_periods = n;
  c.datapoints_to_alarm = m;
  c.threshold = kThreshold;
  c.comparison = ComparisonOperator::greater_than_threshold;
  c.treat_missing_data = treat;
  return c;
}

constexpr auto kOk = AlarmState::ok;
constexpr auto kAlarm = AlarmState::alarm;
constexpr auto kNoData = AlarmState::insufficient_data;
constexpr auto kMissing = TreatMissingData::missing;
constexpr auto kIgnore = TreatMissingData::ignore;
constexpr auto kBreaching = TreatMissingData::breaching;
constexpr auto kNotBreaching = TreatMissingData::not_breaching;

}  // namespace

TEST_CASE("evaluate_alarm: CloudWatch's documented 3-of-3 table, every TreatMissingData") {
  struct Row {
    const char* range;
    TreatMissingData treat;
    AlarmState current;
    AlarmState want;
  };
  // CloudWatch's table (evaluation range 5): rows x columns MISSING, IGNORE, BREACHING,
  // NOT BREACHING. "Retain current state" rows are run from two different states.
  const Row rows[] = {
      {"0 - X - X", kMissing, kAlarm, kOk},      {"0 - X - X", kIgnore, kAlarm, kOk},
      {"0 - X - X", kBreaching, kAlarm, kOk},    {"0 - X - X", kNotBreaching, kAlarm, kOk},
      {"- - - - 0", kMissing, kAlarm, kOk},      {"- - - - 0", kIgnore, kAlarm, kOk},
      {"- - - - 0", kBreaching, kAlarm, kOk},    {"- - - - 0", kNotBreaching, kAlarm, kOk},
      {"- - - - -", kMissing, kOk, kNoData},     {"- - - - -", kIgnore, kOk, kOk},
      {"- - - - -", kIgnore, kAlarm, kAlarm},    {"- - - - -", kBreaching, kOk, kAlarm},
      {"- - - - -", kNotBreaching, kAlarm, kOk}, {"0 X X - X", kMissing, kOk, kAlarm},
      {"0 X X - X", kIgnore, kOk, kAlarm},       {"0 X X - X", kBreaching, kOk, kAlarm},
      {"0 X X - X", kNotBreaching, kOk, kAlarm}, {"- - X - -", kMissing, kOk, kAlarm},
      {"- - X - -", kIgnore, kOk, kOk},          {"- - X - -", kIgnore, kNoData, kNoData},
      {"- - X - -", kBreaching, kOk, kAlarm},    {"- - X - -", kNotBreaching, kAlarm, kOk},
  };
  for (const Row& r : rows) {
    const std::string range = r.range;
    const std::string treat(to_string(r.treat));
    const std::string current(to_string(r.current));
    CAPTURE(range);
    CAPTURE(treat);
    CAPTURE(current);
    const AlarmEvaluation ev = evaluate_alarm(config(3, 3, r.treat), r.current, pattern(r.range));
    CHECK(to_string(ev.state) == to_string(r.want));
    CHECK(ev.previous == r.current);
    CHECK_FALSE(ev.reason.empty());
  }
}

TEST_CASE("evaluate_alarm: M out of N with gaps and each TreatMissingData") {
  struct Row {
    const char* name;
    const char* range;
    int n;
    int m;
    TreatMissingData treat;
    AlarmState current;
    AlarmState want;
    int breaching;
  };
  const Row rows[] = {
      {"2 of 3, newest three breach twice", "0 0 X 0 X", 3, 2, kMissing, kOk, kAlarm, 2},
      {"2 of 3, only one of the newest three", "X X 0 - 0", 3, 2, kMissing, kAlarm, kOk, 1},
      {"gaps filled from farther back", "X 0 X - -", 3, 2, kMissing, kOk, kAlarm, 2},
      {"gaps filled from farther back, ignore", "X 0 X - -", 3, 2, kIgnore, kOk, kAlarm, 2},
      {"gaps filled: treatment not needed", "X 0 0 - -", 3, 2, kBreaching, kAlarm, kOk, 1},
      {"missing: old enough breaching point alarms", "- - - X -", 3, 2, kMissing, kOk, kAlarm, 1},
      {"missing: too recent breaching points wait", "- - - X X", 3, 3, kMissing, kOk, kOk, 2},
      {"missing: waiting keeps INSUFFICIENT_DATA", "- - - X X", 3, 3, kMissing, kNoData, kNoData,
       2},
      {"missing: a good point among too few", "- - 0 - X", 3, 3, kMissing, kAlarm, kOk, 1},
      {"missing: enough real breaching points", "- - - X X", 3, 2, kMissing, kOk, kAlarm, 2},
      {"ignore: two breaching of two needed", "- - - X X", 3, 2, kIgnore, kOk, kAlarm, 2},
      {"ignore: cannot reach M even if missing breached", "- - - 0 X", 3, 3, kIgnore, kAlarm, kOk,
       1},
      {"ignore: could reach M, state kept", "- - - 0 X", 3, 2, kIgnore, kAlarm, kAlarm, 1},
      {"breaching: one real and one filled", "- - - 0 X", 3, 2, kBreaching, kOk, kAlarm, 2},
      {"breaching: filled not enough", "- - - 0 0", 3, 2, kBreaching, kAlarm, kOk, 1},
      {"notBreaching: two real are not three", "- - - X X", 3, 3, kNotBreaching, kAlarm, kOk, 2},
      {"notBreaching: two real are enough for 2", "- - - X X", 3, 2, kNotBreaching, kOk, kAlarm, 2},
      {"1 of 1, breaching", "- - X", 1, 1, kMissing, kNoData, kAlarm, 1},
      {"1 of 1, no data", "- - -", 1, 1, kMissing, kOk, kNoData, 0},
      {"1 of 1, older data fills the gap", "0 - -", 1, 1, kMissing, kAlarm, kOk, 0},
      {"15 of 15 below: one above breaks it", "0 0 0 0 0 0 0 0 0 0 0 0 0 0 X 0 0", 15, 15, kMissing,
       kOk, kOk, 1},
  };
  for (const Row& r : rows) {
    const std::string name = r.name;
    CAPTURE(name);
    const AlarmEvaluation ev =
        evaluate_alarm(config(r.n, r.m, r.treat), r.current, pattern(r.range));
    CHECK(to_string(ev.state) == to_string(r.want));
    CHECK(ev.breaching == r.breaching);
  }
}

TEST_CASE("evaluate_alarm: a value equal to the threshold, for each operator") {
  struct Row {
    ComparisonOperator op;
    double value;
    bool breach;
  };
  using Op = ComparisonOperator;
  const Row rows[] = {
      {Op::greater_than_or_equal_to_threshold, 50, true},
      {Op::greater_than_or_equal_to_threshold, 49.999, false},
      {Op::greater_than_threshold, 50, false},
      {Op::greater_than_threshold, 50.001, true},
      {Op::less_than_threshold, 50, false},
      {Op::less_than_threshold, 49.999, true},
      {Op::less_than_or_equal_to_threshold, 50, true},
      {Op::less_than_or_equal_to_threshold, 50.001, false},
  };
  for (const Row& r : rows) {
    const std::string op(to_string(r.op));
    CAPTURE(op);
    CAPTURE(r.value);
    CHECK(breaches(r.op, r.value, kThreshold) == r.breach);
    AlarmConfig c = config(1, 1, kMissing);
    c.comparison = r.op;
    const auto ev = evaluate_alarm(c, kNoData, {{60s, r.value}});
    CHECK(ev.state == (r.breach ? kAlarm : kOk));
    CHECK(ev.reason.find(std::string(comparison_words(r.op)) + " the threshold (50.0)") !=
          std::string::npos);
  }
}

TEST_CASE("evaluate_alarm: reasons read like CloudWatch's and carry the datapoints") {
  AlarmConfig c = config(3, 3, kMissing);
  const std::vector<AlarmDatapoint> high{
      {1min, std::nullopt}, {2min, 70.0}, {3min, 81.2}, {4min, 78.0}, {5min, 90.1}};
  const auto alarm = evaluate_alarm(c, kNoData, high);
  CHECK(alarm.state == kAlarm);
  CHECK(alarm.t == 5min);
  CHECK(alarm.reason ==
        "Threshold Crossed: 3 out of the last 3 datapoints [90.1, 78.0, 81.2] were greater than "
        "the threshold (50.0) (minimum 3 datapoints for INSUFFICIENT_DATA -> ALARM "
        "transition).");
  CHECK(alarm.used == std::vector<AlarmDatapoint>{{3min, 81.2}, {4min, 78.0}, {5min, 90.1}});
  CHECK(alarm.range == high);

  // Staying in ALARM: no transition suffix.
  CHECK(evaluate_alarm(c, kAlarm, high).reason.find("transition") == std::string::npos);

  const auto ok = evaluate_alarm(c, kAlarm, pattern("0 0 X X 0"));
  CHECK(ok.reason ==
        "Threshold Crossed: 1 out of the last 3 datapoints [10.0, 90.0, 90.0] was not greater "
        "than the threshold (50.0) (minimum 1 datapoint for ALARM -> OK transition).");

  const auto none = evaluate_alarm(c, kOk, pattern("- - - - -"));
  CHECK(none.reason == "Insufficient Data: 5 datapoints were unknown.");
  CHECK(none.used.empty());

  c.treat_missing_data = kBreaching;
  const auto filled = evaluate_alarm(c, kOk, pattern("- - - - X"));
  CHECK(filled.filled == 2);
  CHECK(filled.reason.find("(2 missing datapoints treated as breaching)") != std::string::npos);
}

TEST_CASE("AlarmConfig: range, describe") {
  AlarmConfig c = config(3, 2, kMissing);
  CHECK(c.range() == 5);
  c.evaluation_range = 10;
  CHECK(c.range() == 10);
  c.evaluation_range = 2;  // never fewer than N
  CHECK(c.range() == 3);
  CHECK(c.describe() == "CPUUtilization Average > 50 for 2 of 3 periods of 60s");
  c.statistic = Statistic::percentile_of(99.9);
  c.comparison = ComparisonOperator::less_than_or_equal_to_threshold;
  CHECK(c.describe() == "CPUUtilization p99.9 <= 50 for 2 of 3 periods of 60s");
}

TEST_CASE("enum spellings round-trip") {
  for (auto op :
       {ComparisonOperator::greater_than_or_equal_to_threshold,
        ComparisonOperator::greater_than_threshold, ComparisonOperator::less_than_threshold,
        ComparisonOperator::less_than_or_equal_to_threshold})
    CHECK(parse_comparison_operator(to_string(op)) == op);
  for (auto t : {kMissing, kIgnore, kBreaching, kNotBreaching})
    CHECK(parse_treat_missing_data(to_string(t)) == t);
  CHECK(parse_comparison_operator("GreaterThanUpperThreshold") == std::nullopt);
  CHECK(parse_treat_missing_data("NotBreaching") == std::nullopt);
  CHECK(to_string(AlarmState::insufficient_data) == "INSUFFICIENT_DATA");
}

TEST_CASE("Alarm: starts in INSUFFICIENT_DATA, records transitions with their datapoints") {
  VirtualScheduler sched;
  MetricStore store;
  AlarmConfig c = config(3, 2, kMissing);
  c.period = 60s;
  Alarm alarm(sched, store, c);
  CHECK(alarm.state() == kNoData);
  CHECK_FALSE(alarm.last().has_value());

  std::vector<std::string> transitions;
  int evaluations = 0;
  alarm.on_evaluation = [&](const AlarmEvaluation&) { ++evaluations; };
  alarm.on_transition = [&](const AlarmEvaluation& ev) {
    transitions.push_back(std::string(to_string(ev.previous)) + "->" +
                          std::string(to_string(ev.state)));
  };
  // CPU per minute, two samples a minute (a 30 s collection interval): the alarm's Average
  // covers both. Minutes 1-3 low, 4-6 high, then nothing.
  const double per_minute[] = {20, 30, 40, 80, 85, 90};
  for (int i = 0; i < 6; ++i) {
    store.put(c.metric, std::chrono::minutes(i) + 30s, per_minute[i] - 5);
    store.put(c.metric, std::chrono::minutes(i + 1), per_minute[i] + 5);
  }
  alarm.start(1min);
  sched.run_until(1min);
  // One datapoint of 3 and it does not breach: OK.
  CHECK(alarm.state() == kOk);
  sched.run_until(4min);
  CHECK(alarm.state() == kOk);
  sched.run_until(5min);  // 40, 80, 85: 2 of 3
  CHECK(alarm.state() == kAlarm);
  sched.run_until(12min);  // data stops after minute 6; the range runs dry at minute 11
  CHECK(alarm.state() == kNoData);
  alarm.stop();
  sched.run_until(20min);
  CHECK(evaluations == 12);
  CHECK(transitions ==
        std::vector<std::string>{"INSUFFICIENT_DATA->OK", "OK->ALARM", "ALARM->INSUFFICIENT_DATA"});

  REQUIRE(alarm.history().size() == 3);
  const AlarmEvaluation& fired = alarm.history()[1];
  CHECK(fired.t == 5min);
  CHECK(fired.used == std::vector<AlarmDatapoint>{{3min, 40.0}, {4min, 80.0}, {5min, 85.0}});
  CHECK(fired.reason.find("2 out of the last 3 datapoints [85.0, 80.0, 40.0]") !=
        std::string::npos);
  // Minutes 7-11 (5 periods) without data: still ALARM while any datapoint remains in range
  // (ALARM from minute 6's points filling the gap), then INSUFFICIENT_DATA.
  CHECK(alarm.history()[2].t == 11min);
}

TEST_CASE("Alarm: a delay evaluates the range ending before the tick") {
  VirtualScheduler sched;
  MetricStore store;
  AlarmConfig c = config(1, 1, kMissing);
  c.period = 10s;
  Alarm alarm(sched, store, c);
  store.put(c.metric, 10s, 99);
  alarm.start(15s, 10s, 5s);
  sched.run_until(15s);
  REQUIRE(alarm.last());
  CHECK(alarm.last()->t == 10s);
  CHECK(alarm.state() == kAlarm);
  // Evaluate by hand: the owner of the evaluation order may call it directly.
  CHECK(alarm.evaluate(100s).state == kNoData);
  CHECK(alarm.history().size() == 2);
}

TEST_CASE("Alarm: prune_before drops old transitions but the one into the current state") {
  VirtualScheduler sched;
  MetricStore store;
  AlarmConfig c = config(1, 1, kMissing);
  c.period = 60s;
  Alarm alarm(sched, store, c);
  // One datapoint a minute, breaching every other minute: a transition each minute.
  for (int i = 1; i <= 6; ++i) {
    store.put(c.metric, std::chrono::minutes(i), i % 2 == 0 ? 90 : 10);
    alarm.evaluate(std::chrono::minutes(i));
  }
  REQUIRE(alarm.history().size() == 6);  // NO_DATA->OK at 1 min, then a change every minute
  CHECK(alarm.transitions_recorded() == 6);
  struct Row {
    Time cutoff;
    std::size_t kept;
    Time oldest;
  };
  // Cumulative, in order.
  const Row rows[] = {
      {Time(1min), 6, Time(1min)},  // nothing before the first
      {Time(3min), 4, Time(3min)},  // 1 and 2 min go; 3 min is at the cutoff
      {Time(1h), 1, Time(6min)},    // all before: the newest, into the current state, stays
  };
  for (const Row& r : rows) {
    CAPTURE(r.cutoff.count());
    alarm.prune_before(r.cutoff);
    REQUIRE(alarm.history().size() == r.kept);
    CHECK(alarm.history().front().t == r.oldest);
  }
  CHECK(alarm.history().back().state == alarm.state());
  CHECK(alarm.state() == kAlarm);
  CHECK(alarm.transitions_recorded() == 6);
}
