// The whole system in virtual time: the real group, scaling loop, collector, alarms, policies,
// target group and pickers over modelled workers, driven by shipped scenarios. No process, no
// socket, no sleep: each run takes well under a second of wall time.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <sstream>

#include "core/errors.h"
#include "orchestrator/scenario_run.h"
#include "support/fault_scenarios.h"
#include "support/files.h"
#include "scenario/report.h"
#include "scenario/scenario.h"

using namespace flotilla;

namespace {

const std::string kSource = FLOTILLA_SOURCE_DIR;

RunRecord simulate(const std::string& scenario_file, std::uint64_t seed = 0) {
  const Scenario scenario = load_scenario(kSource + "/" + scenario_file);
  ScenarioRunSpec spec;
  spec.simulated = true;
  spec.seed = seed != 0 ? seed : scenario.seed;
  spec.progress = false;
  std::ostringstream out;
  ScenarioRunResult result = run_scenario_once(scenario, spec, out);
  REQUIRE_FALSE(result.broke);
  evaluate_expectations(scenario.expect, result.record);
  return std::move(result.record);
}

int count_activities(const RunRecord& r, int direction) {
  int n = 0;
  for (const auto& a : r.activities)
    if (a.t >= 0 && (a.to - a.from) * direction > 0) ++n;
  return n;
}

}  // namespace

TEST_CASE("simulated: a spike scales out, a killed worker is replaced, the drop scales back in") {
  const RunRecord r = simulate("scenarios/flash-sale.json");
  CHECK(r.mode == "simulated");
  CHECK(r.requests.sent > 10000);
  CHECK(r.requests.ok + r.requests.errors == r.requests.sent);
  // The kill at the peak costs the client nothing: what was in flight is retried elsewhere.
  CHECK(r.requests.errors == 0);
  CHECK(count_activities(r, +1) >= 1);
  CHECK(count_activities(r, -1) >= 1);
  CHECK(r.capacity.max_in_service >= 3);
  int kills = 0, replacements = 0;
  for (const auto& e : r.events) {
    kills += e.kind == kEventFault;
    replacements += e.kind == kEventWorkerReplaced;
  }
  CHECK(kills == 1);
  CHECK(replacements >= 1);
  CHECK(r.passed);
  // One row per second, with the fleet's columns filled.
  REQUIRE(r.timeseries.size() == 90);
  CHECK(r.timeseries[60].in_service >= 3);
}

TEST_CASE("simulated: scale-in under steady load drains, and costs the client no errors") {
  const RunRecord r = simulate("scenarios/scale-in.json");
  CHECK(r.requests.errors == 0);
  CHECK(count_activities(r, -1) >= 1);
  CHECK(r.capacity.final_in_service < r.capacity.initial);
  CHECK(r.passed);
}

TEST_CASE("simulated: the same scenario and seed replay exactly; another seed differs") {
  const RunRecord a = simulate("scenarios/flash-sale.json");
  const RunRecord b = simulate("scenarios/flash-sale.json");
  std::ostringstream csv_a, csv_b;
  write_timeseries_csv(csv_a, a);
  write_timeseries_csv(csv_b, b);
  CHECK(csv_a.str() == csv_b.str());
  CHECK(to_json(a).dump() == to_json(b).dump());
  const RunRecord c = simulate("scenarios/flash-sale.json", 99);
  std::ostringstream csv_c;
  write_timeseries_csv(csv_c, c);
  CHECK(csv_c.str() != csv_a.str());
}

TEST_CASE("simulated: every shipped scenario but the day holds its expectations") {
  int ran = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kSource + "/scenarios")) {
    if (entry.path().extension() != ".json") continue;
    const std::string name = entry.path().filename().string();
    if (name == "aws-day.json") continue;  // its own test below
    CAPTURE(name);
    const RunRecord r = simulate("scenarios/" + name);
    for (const auto& e : r.expectations) {
      CAPTURE(e.text);
      CHECK(e.passed);
    }
    ++ran;
  }
  CHECK(ran >= 10);
}

// The library's scenario for each fault kind, in virtual time: the fault shows on the timeline
// and does what it does (the live counterpart is in tests/integration/live_scenario_test.cpp).
TEST_CASE("simulated: each fault kind's scenario shows the fault and its effect") {
  for (const auto& s : test::kFaultScenarios) {
    CAPTURE(s.name);
    const RunRecord r = simulate(std::string("scenarios/") + s.name + ".json");
    test::ObservedRun observed;
    for (const auto& e : r.events) observed.events.emplace_back(e.kind, e.detail);
    for (const auto& a : r.activities) observed.activity_causes.push_back(a.cause);
    for (const auto& missing : test::missing_effects(s, observed)) FAIL_CHECK(missing);
    CHECK(r.passed);
  }
}

// 86 million requests under AWS's target tracking at AWS's time scale (about 30 s here).
TEST_CASE("simulated: a day at AWS's time scale scales out for the evening and back in") {
  const RunRecord r = simulate("scenarios/aws-day.json");
  CHECK(r.requests.sent > 80'000'000);
  CHECK(r.timeseries.size() == 86400);
  CHECK(r.passed);
  // 60 s datapoints: decisions fall on one minute grid.
  REQUIRE(r.decisions.size() >= 2);
  const double first = r.decisions.front().at("t").get<double>();
  for (const auto& d : r.decisions) {
    const double apart = d.at("t").get<double>() - first;
    CHECK(std::fmod(apart, 60.0) == doctest::Approx(0));
  }
}

TEST_CASE("simulated: the scenario's balancer block reaches the balancer and the target group") {
  // A scenario with the balancer file's fields; a bad one names its field under /balancer.
  nlohmann::json doc = nlohmann::json::parse(
      flotilla::test::read_file(kSource + "/scenarios/steady.json"));
  doc["balancer"]["health_check"] = {{"interval", "2s"}, {"healthy_threshold", 3}};
  doc["balancer"]["timeouts"] = {{"response", "3s"}};
  doc["fleet"]["zones"] = {"a", "b"};
  const Scenario s = parse_scenario(doc, kSource + "/scenarios/steady-variant.json");
  ScenarioRunSpec spec;
  spec.simulated = true;
  spec.progress = false;
  std::ostringstream out;
  const ScenarioRunResult r = run_scenario_once(s, spec, out);
  REQUIRE_FALSE(r.broke);
  // Healthy after 3 checks 2 s apart (the first at once): 4 s, not the default 0.5 s.
  REQUIRE_FALSE(r.record.activities.empty());
  CHECK(r.record.activities.front().t <= -4.0);
  doc["balancer"]["timeouts"]["response"] = "soon";
  const Scenario bad = parse_scenario(doc, kSource + "/scenarios/steady-variant.json");
  try {
    run_scenario_once(bad, spec, out);
    FAIL("a bad balancer field must be refused");
  } catch (const UserError& e) {
    CHECK(std::string(e.what()).find("/balancer/timeouts/response") != std::string::npos);
  }
}
