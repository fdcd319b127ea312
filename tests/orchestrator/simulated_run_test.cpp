// The whole system in virtual time: the real group, scaling loop, collector, alarms, policies,
// target group and pickers over modelled workers, driven by shipped scenarios. No process, no
// socket, no sleep: each run takes well under a second of wall time.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "core/errors.h"
#include "orchestrator/scenario_run.h"
#include "scenario/report.h"
#include "scenario/scenario.h"
#include "support/fault_scenarios.h"
#include "support/files.h"

using namespace flotilla;

namespace {

const std::string kSourceDir = FLOTILLA_SOURCE_DIR;

RunRecord simulate_path(const std::string& path, std::uint64_t seed = 0) {
  const Scenario scenario = load_scenario(path);
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

RunRecord simulate(const std::string& scenario_file, std::uint64_t seed = 0) {
  return simulate_path(kSourceDir + "/" + scenario_file, seed);
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

TEST_CASE("simulated: the same scenario and seed replay exactly, another seed differs") {
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
  for (const auto& entry : std::filesystem::directory_iterator(kSourceDir + "/scenarios")) {
    if (entry.path().extension() != ".json") continue;
    const std::string name = entry.path().filename().string();
    if (name == "aws-day.json") continue;  // its own test below
    // A user's command without a profile has no model to simulate: --sim refuses it
    // (tests/integration/cli_test.cpp).
    const Scenario scenario = load_scenario(entry.path().string());
    if (scenario.fleet.provider == kProviderCommand && scenario.fleet.profile.empty()) continue;
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
  nlohmann::json doc =
      nlohmann::json::parse(flotilla::test::read_file(kSourceDir + "/scenarios/steady.json"));
  doc["balancer"]["health_check"] = {{"interval", "2s"}, {"healthy_threshold", 3}};
  doc["balancer"]["timeouts"] = {{"response", "3s"}};
  doc["fleet"]["zones"] = {"a", "b"};
  const Scenario s = parse_scenario(doc, kSourceDir + "/scenarios/steady-variant.json");
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
  const Scenario bad = parse_scenario(doc, kSourceDir + "/scenarios/steady-variant.json");
  try {
    run_scenario_once(bad, spec, out);
    FAIL("a bad balancer field must be refused");
  } catch (const UserError& e) {
    CHECK(std::string(e.what()).find("/balancer/timeouts/response") != std::string::npos);
  }
}

TEST_CASE("simulated: report paths per entry of the mix and every worker with its end") {
  const RunRecord r = simulate("scenarios/api-mix.json");
  CHECK(r.passed);
  REQUIRE(r.paths.size() == 3);
  const std::pair<const char*, const char*> order[] = {
      {"GET", "/api/items"}, {"POST", "/api/orders"}, {"GET", "/static/app.js"}};
  std::uint64_t sent = 0, ok = 0;
  for (std::size_t i = 0; i < 3; ++i) {
    CAPTURE(i);
    CHECK(r.paths[i].method == order[i].first);
    CHECK(r.paths[i].path == order[i].second);
    CHECK(r.paths[i].ok + r.paths[i].errors == r.paths[i].sent);
    REQUIRE(r.paths[i].p99_ms.has_value());
    CHECK(*r.paths[i].p50_ms <= *r.paths[i].p99_ms);
    sent += r.paths[i].sent;
    ok += r.paths[i].ok;
  }
  CHECK(r.paths[1].body_bytes == 512);
  CHECK(sent == r.requests.sent);
  CHECK(ok == r.requests.ok);
  // Weights 6 : 3 : 1 of 2000 requests.
  CHECK(r.paths[0].sent == doctest::Approx(1200).epsilon(0.1));
  CHECK(r.paths[1].sent == doctest::Approx(600).epsilon(0.15));
  CHECK(r.paths[2].sent == doctest::Approx(200).epsilon(0.3));

  // Two initial workers, one killed at 12 s and its replacement.
  REQUIRE(r.workers.size() == 3);
  std::uint64_t routed = 0;
  int killed = 0, running = 0;
  for (const auto& w : r.workers) {
    CAPTURE(w.id);
    REQUIRE(w.launched_at.has_value());
    REQUIRE(w.in_service_at.has_value());
    CHECK(*w.launched_at < *w.in_service_at);
    CHECK(w.requests > 100);
    routed += w.requests;
    if (w.end_cause == "signal 9 (SIGKILL)") {
      ++killed;
      REQUIRE(w.ended_at.has_value());
      CHECK(*w.ended_at == doctest::Approx(12.0));
    } else {
      CHECK(w.end_cause == "run finished");
      CHECK_FALSE(w.ended_at.has_value());
      ++running;
    }
  }
  CHECK(killed == 1);
  CHECK(running == 2);
  CHECK(*r.workers[0].launched_at < 0);  // before traffic started
  CHECK(*r.workers[2].launched_at == doctest::Approx(12.0));
  // Every request was routed to a worker; a retry after the kill counts again.
  CHECK(routed >= r.requests.sent);

  // report.json carries both.
  const auto j = to_json(r);
  REQUIRE(j["paths"].size() == 3);
  CHECK(j["paths"][1]["method"] == "POST");
  CHECK(j["paths"][1]["sent"] == r.paths[1].sent);
  REQUIRE(j["workers"].size() == 3);
  CHECK(j["workers"][2]["ended_at"].is_null());
  CHECK(j["workers"][0]["requests"] == r.workers[0].requests);
}

TEST_CASE("simulated: workers taken out by a scale-in say so, one row without a mix") {
  const RunRecord r = simulate("scenarios/flash-sale.json");
  REQUIRE(r.paths.size() == 1);
  CHECK(r.paths[0].method == "GET");
  CHECK(r.paths[0].sent == r.requests.sent);
  int scaled_in = 0;
  for (const auto& w : r.workers)
    scaled_in += w.end_cause.rfind("scale-in to desired ", 0) == 0 && w.ended_at.has_value();
  CHECK(scaled_in >= 1);
  CHECK(r.workers.size() >= 4);
}

namespace {

// A shipped scenario as JSON, its relative paths made absolute so that a copy may live anywhere.
nlohmann::json shipped_scenario(const std::string& name) {
  nlohmann::json doc = nlohmann::json::parse(test::read_file(kSourceDir + "/scenarios/" + name));
  doc["fleet"]["profile"] = kSourceDir + "/" + doc["fleet"]["profile"].get<std::string>();
  if (doc.contains("policies"))
    for (auto& p : doc["policies"]) p = kSourceDir + "/" + p.get<std::string>();
  return doc;
}

RunRecord simulate_json(const std::filesystem::path& dir, const nlohmann::json& doc) {
  const auto path = (dir / "scenario.json").string();
  std::ofstream(path) << doc.dump(2);
  return simulate_path(path);
}

}  // namespace

// Spot's two-minute notice is an AWS duration: it is multiplied by the time scale, which is the
// metrics period over 60 s unless the scenario sets time_scale.
TEST_CASE("simulated: time_scale overrides the default scale, and the report says which") {
  struct Row {
    std::optional<double> time_scale;
    double want_scale;
    const char* want_notice;
  };
  const Row rows[] = {
      {std::nullopt, 2.0 / 60, "got an interruption notice (4s)"},  // metrics period 2 s
      {0.1, 0.1, "got an interruption notice (12s)"},
      {0.025, 0.025, "got an interruption notice (3s)"},
  };
  const auto dir = test::fresh_temp_dir("time-scale");
  for (const Row& row : rows) {
    CAPTURE(row.want_scale);
    nlohmann::json doc = shipped_scenario("spot-interruption.json");
    if (row.time_scale) doc["time_scale"] = *row.time_scale;
    const RunRecord r = simulate_json(dir, doc);
    CHECK(r.time_scale == doctest::Approx(row.want_scale));
    int notices = 0;
    for (const auto& a : r.activities)
      notices += a.cause.find(row.want_notice) != std::string::npos;
    CHECK(notices == 2);
    write_report_json((dir / "report.json").string(), r);
    const auto report = nlohmann::json::parse(test::read_file(dir / "report.json"));
    CHECK(report.at("time_scale").get<double>() == doctest::Approx(row.want_scale));
  }
  std::filesystem::remove_all(dir);
}

// The group publishes GroupTerminatingInstances (draining plus terminating) each period. An alarm
// on it, named by a step policy that adjusts by 0 (it only watches), shows the drain of a
// scale-in: into ALARM while the workers drain, back to OK once they are gone.
TEST_CASE("simulated: GroupTerminatingInstances counts the workers a scale-in drains") {
  const auto dir = test::fresh_temp_dir("terminating");
  std::ofstream(dir / "terminating.alarm.json") << R"({
    "AlarmName": "terminating", "Namespace": "AWS/AutoScaling",
    "MetricName": "GroupTerminatingInstances", "Statistic": "Maximum",
    "Dimensions": [ { "Name": "AutoScalingGroupName", "Value": "any" } ],
    "Period": 60, "EvaluationPeriods": 1, "Threshold": 1,
    "ComparisonOperator": "GreaterThanOrEqualToThreshold" })";
  std::ofstream(dir / "watch-terminating.json") << R"({
    "type": "step_scaling", "alarm": "terminating.alarm.json",
    "adjustment_type": "ChangeInCapacity", "steps": [ { "lower": 0, "adjustment": 0 } ] })";
  nlohmann::json doc = shipped_scenario("scale-in.json");
  doc["policies"].push_back((dir / "watch-terminating.json").string());
  const RunRecord r = simulate_json(dir, doc);
  REQUIRE(count_activities(r, -1) >= 1);
  double scale_in = -1;
  for (const auto& a : r.activities)
    if (a.t >= 0 && a.to < a.from && scale_in < 0) scale_in = a.t;
  REQUIRE(r.alarms.size() == 1);
  std::vector<std::string> states;
  double into_alarm = -1;
  for (const auto& tr : r.alarms[0].transitions) {
    states.push_back(tr.to);
    if (tr.to == "ALARM" && into_alarm < 0) into_alarm = tr.t;
  }
  CAPTURE(states.size());
  REQUIRE(states.size() >= 3);
  CHECK(states[0] == "OK");  // from INSUFFICIENT_DATA, before any scale-in
  CHECK(states[1] == "ALARM");
  CHECK(states[2] == "OK");
  CHECK(states.back() == "OK");
  CHECK(into_alarm >= scale_in);
  CHECK(into_alarm <= scale_in + 2);
  std::filesystem::remove_all(dir);
}
