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

PolicyOutcome at(const char* name, double hours, std::int64_t violations, bool broke = false) {
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

TEST_CASE("mark_frontier: nobody else at least as good on both and better on one") {
  struct Case {
    const char* name;
    std::vector<PolicyOutcome> in;
    std::vector<bool> frontier;
  };
  const Case cases[] = {
      {"one policy", {at("a", 3, 10)}, {true}},
      {"a trade-off keeps both", {at("cheap", 2, 50), at("safe", 5, 0)}, {true, true}},
      {"dominated on both", {at("a", 2, 10), at("b", 3, 20)}, {true, false}},
      {"equal cost, more violations", {at("a", 2, 10), at("b", 2, 11)}, {true, false}},
      {"identical: neither beats the other", {at("a", 2, 10), at("b", 2, 10)}, {true, true}},
      {"a broken run is never on it and dominates nobody",
       {at("a", 3, 30), at("broke", 0, 0, true)},
       {true, false}},
      {"three with one in the middle dominated",
       {at("a", 1, 100), at("b", 4, 60), at("c", 3, 40)},
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
  std::vector<PolicyOutcome> outcomes = {at("b", 2, 3), at("a", 1, 9)};
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
