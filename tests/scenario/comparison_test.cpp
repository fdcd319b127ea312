#include "scenario/comparison.h"

#include <doctest/doctest.h>

#include <cmath>
#include <sstream>

namespace flotilla {
namespace {

TimeseriesRow row(std::uint64_t ok, std::uint64_t errors, double p99_ms, int in_service,
                  int pending = 0) {
  TimeseriesRow r;
  r.ok = ok;
  r.errors = errors;
  r.p99_ms = p99_ms;
  r.in_service = in_service;
  r.pending = pending;
  return r;
}

PolicyOutcome outcome(const char* name, double hours, std::int64_t violations, bool broke = false) {
  PolicyOutcome o;
  o.policy = name;
  o.instance_hours = hours;
  o.slo_violation_seconds = violations;
  o.broke = broke;
  return o;
}

}  // namespace

TEST_CASE("instance_hours integrates in-service plus pending workers over the seconds") {
  RunRecord r;
  for (int s = 0; s < 3600; ++s) r.timeseries.push_back(row(10, 0, 20, 2, s < 1800 ? 1 : 0));
  CHECK(instance_hours(r) == doctest::Approx(2.5));
}

TEST_CASE("slo_violation_seconds: p99 over the latency or errors over the rate, per second") {
  SloSpec slo;
  slo.latency = std::chrono::milliseconds(500);
  slo.error_rate = 0.01;
  RunRecord r;
  r.timeseries = {
      row(100, 0, 499, 2),    // fine
      row(100, 0, 501, 2),    // slow
      row(99, 1, 20, 2),      // exactly 1 %: not over
      row(98, 2, 20, 2),      // 2 % errors
      row(0, 0, NAN, 2),      // nothing finished: no verdict
      row(0, 5, NAN, 2),      // only errors
      row(100, 0, NAN, 2),    // no latency figure but fine otherwise
  };
  CHECK(slo_violation_seconds(r, slo) == 3);
}

TEST_CASE("second_meets_slo and availability: the verdict per second, and its share") {
  SloSpec slo;  // 500 ms, 1 %
  struct Row {
    const char* what;
    TimeseriesRow r;
    std::optional<bool> meets;
  };
  const Row rows[] = {
      {"fast, no errors", row(100, 0, 499, 2), true},
      {"at the latency bound", row(100, 0, 500, 2), true},
      {"slow", row(100, 0, 501, 2), false},
      {"errors at the rate bound", row(99, 1, 20, 2), true},
      {"errors over it", row(98, 2, 20, 2), false},
      {"nothing finished: no verdict", row(0, 0, NAN, 2), std::nullopt},
      {"only errors", row(0, 5, NAN, 2), false},
      {"no latency figure, no errors", row(100, 0, NAN, 2), true},
  };
  RunRecord r;
  for (const auto& x : rows) {
    CAPTURE(std::string(x.what));
    CHECK(second_meets_slo(x.r, slo) == x.meets);
    r.timeseries.push_back(x.r);
  }
  // 7 seconds with a verdict, 3 of them missing the SLO.
  CHECK(slo_measured_seconds(r, slo) == 7);
  CHECK(slo_violation_seconds(r, slo) == 3);
  CHECK(availability(r, slo) == doctest::Approx(4.0 / 7.0));
  const RunRecord empty;
  CHECK_FALSE(availability(empty, slo).has_value());
}

namespace {

// One row a second from 0: 'g' meets the SLO, 'b' misses it, '.' finished nothing.
RunRecord seconds_like(const std::string& pattern) {
  RunRecord r;
  r.duration = std::chrono::seconds(pattern.size());
  for (std::size_t k = 0; k < pattern.size(); ++k) {
    TimeseriesRow x = pattern[k] == 'g'   ? row(100, 0, 20, 2)
                      : pattern[k] == 'b' ? row(50, 50, 20, 2)
                                          : row(0, 0, NAN, 2);
    x.t = static_cast<double>(k);
    r.timeseries.push_back(x);
  }
  return r;
}

}  // namespace

TEST_CASE("fault_recoveries: from the fault to the first of 5 seconds in a row within the SLO") {
  struct Row {
    const char* what;
    std::string seconds;
    std::vector<RunEvent> events;
    std::vector<std::pair<bool, double>> want;  // recovered, seconds
  };
  auto fault = [](double t) { return RunEvent{t, "fault", "kill 1 worker"}; };
  const Row rows[] = {
      {"no fault", "gggggggggg", {}, {}},
      {"a fault that never hurt", "gggggggggg", {fault(2)}, {{true, 0}}},
      {"two bad seconds", "ggbbgggggg", {fault(2)}, {{true, 2}}},
      {"a fault inside its second counts from its time", "ggbbgggggg", {fault(2.4)}, {{true, 1.6}}},
      {"the fault's own second may start a streak; a bad one breaks it",
       "gggbgggggggg",
       {fault(2.5)},
       {{true, 1.5}}},
      {"a streak broken before 5 starts again", "gbggggbggggg", {fault(1)}, {{true, 6}}},
      {"seconds with no verdict neither break nor count", "gbgg..ggg.", {fault(1)}, {{true, 1}}},
      {"never 5 in a row: the rest of the run", "gbggggbggg", {fault(1)}, {{false, 9}}},
      {"a fault near the end has no room to recover", "gggggggggg", {fault(8)}, {{false, 2}}},
      {"bad to the end", "ggbbbbbbbb", {fault(2)}, {{false, 8}}},
      {"each fault on its own", "gbgggggbbggggg", {fault(1), fault(7)}, {{true, 1}, {true, 2}}},
      {"fault_end and other events are not faults",
       "ggbbgggggg",
       {fault(2), RunEvent{4, "fault_end", "slow"}, RunEvent{3, "worker_replaced", "x"}},
       {{true, 2}}},
  };
  const SloSpec slo;
  for (const auto& x : rows) {
    CAPTURE(std::string(x.what));
    RunRecord r = seconds_like(x.seconds);
    r.events = x.events;
    const auto got = fault_recoveries(r, slo);
    REQUIRE(got.size() == x.want.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
      CHECK(got[i].recovered == x.want[i].first);
      CHECK(got[i].seconds == doctest::Approx(x.want[i].second));
      CHECK(got[i].fault == "kill 1 worker");
      CHECK(got[i].fault_t == x.events[i].t);
    }
  }
}

TEST_CASE("mark_frontier: nobody else at least as good on both and better on one") {
  struct Case {
    const char* name;
    std::vector<PolicyOutcome> in;
    std::vector<bool> frontier;
  };
  const Case cases[] = {
      {"one policy", {outcome("a", 3, 10)}, {true}},
      {"a trade-off keeps both", {outcome("cheap", 2, 50), outcome("safe", 5, 0)}, {true, true}},
      {"dominated on both", {outcome("a", 2, 10), outcome("b", 3, 20)}, {true, false}},
      {"equal cost, more violations", {outcome("a", 2, 10), outcome("b", 2, 11)}, {true, false}},
      {"identical: neither beats the other", {outcome("a", 2, 10), outcome("b", 2, 10)}, {true, true}},
      {"a broken run is never on it and dominates nobody",
       {outcome("a", 3, 30), outcome("broke", 0, 0, true)},
       {true, false}},
      {"three with one in the middle dominated",
       {outcome("a", 1, 100), outcome("b", 4, 60), outcome("c", 3, 40)},
       {true, false, true}},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    auto outcomes = c.in;
    mark_frontier(outcomes);
    for (std::size_t i = 0; i < outcomes.size(); ++i) {
      CAPTURE(outcomes[i].policy);
      CHECK(outcomes[i].on_frontier == c.frontier[i]);
    }
  }
}

TEST_CASE("comparison_json and the CSV carry the same fields in the order given") {
  std::vector<PolicyOutcome> outcomes = {outcome("b", 2, 3), outcome("a", 1, 9)};
  outcomes[0].p99_ms = 120.5;
  outcomes[0].scale_out_count = 2;
  mark_frontier(outcomes);
  const auto j = comparison_json(outcomes);
  REQUIRE(j.at("policies").size() == 2);
  const auto& first = j.at("policies").at(0);
  CHECK(first.at("policy") == "b");
  for (const char* key : {"policy", "instance_hours", "slo_violation_seconds", "error_rate",
                          "p99_ms", "scale_out_count", "scale_in_count", "on_frontier"})
    CHECK_MESSAGE(first.contains(key), key);
  CHECK(first.at("p99_ms") == 120.5);
  CHECK(j.at("policies").at(1).at("p99_ms").is_null());
  std::ostringstream csv;
  write_comparison_csv(csv, outcomes);
  std::istringstream lines(csv.str());
  std::string header, row_b;
  std::getline(lines, header);
  std::getline(lines, row_b);
  CHECK(header.rfind("policy,instance_hours,slo_violation_seconds,error_rate,p99_ms,", 0) == 0);
  CHECK(row_b.rfind("b,2,3,0,120.5,2,0,true,", 0) == 0);
}

}  // namespace flotilla
