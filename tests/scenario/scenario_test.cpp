#include "scenario/scenario.h"

#include <doctest/doctest.h>

#include <unistd.h>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>

#include "core/errors.h"

namespace flotilla {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// A private folder laid out like the repository: fleet/, policies/, scenarios/.
struct TempRepo {
  fs::path root;
  TempRepo() {
    static std::atomic<int> counter{0};
    root = fs::temp_directory_path() / ("flotilla-scenario-test-" + std::to_string(::getpid()) +
                                        "-" + std::to_string(counter++));
    fs::create_directories(root / "fleet");
    fs::create_directories(root / "policies");
    fs::create_directories(root / "scenarios");
    std::ofstream(root / "fleet/p.json") << "{}";
    std::ofstream(root / "policies/q.json") << "{}";
  }
  ~TempRepo() {
    std::error_code ec;
    fs::remove_all(root, ec);
  }
  std::string scenario_path() const { return (root / "scenarios/s.json").string(); }
};

json valid_document() {
  return json::parse(R"({
    "name": "flash-sale", "description": "d", "duration": "90s", "seed": 7,
    "fleet": { "profile": "fleet/p.json", "min": 2, "max": 10, "desired": 3 },
    "balancer": { "algorithm": "least_outstanding_requests" },
    "policies": [ "policies/q.json" ],
    "metrics": { "period": "2s" },
    "traffic": { "start_rps": 40, "arrivals": "poisson", "path": "/buy",
                 "stages": [ { "duration": "20s", "target": 40 },
                             { "duration": "5s", "target": 320 },
                             { "duration": "500ms", "target": 100 } ] },
    "faults": [ { "at": "60s", "kill": { "count": 2 } }, { "at": "45s", "kill": { "count": 1 } } ],
    "expect": [ { "metric": "error_rate", "max": 0.01 },
                { "metric": "max_in_service", "min": 3 },
                { "metric": "p99_ms", "min": 1, "max": 250 } ] })");
}

// What parse_scenario says about a document: the UserError's pointer, what it expected and its
// whole message (pointer "<no error>" if it accepts the document).
struct Outcome {
  std::string pointer = "<no error>";
  std::string expected;
  std::string message;
};
Outcome parse_outcome(const json& doc, const std::string& path) {
  Outcome out;
  try {
    parse_scenario(doc, path);
  } catch (const UserError& e) {
    out = {e.pointer(), e.expected(), e.what()};
  }
  return out;
}

}  // namespace

TEST_CASE("load_scenario: a valid file") {
  TempRepo repo;
  std::ofstream(repo.scenario_path()) << valid_document().dump();
  const Scenario s = load_scenario(repo.scenario_path());
  CHECK(s.file == repo.scenario_path());
  CHECK(s.name == "flash-sale");
  CHECK(s.description == "d");
  CHECK(s.duration == 90s);
  CHECK(s.seed == 7);
  CHECK(fs::equivalent(s.fleet.profile, repo.root / "fleet/p.json"));
  CHECK(s.fleet.min == 2);
  CHECK(s.fleet.max == 10);
  CHECK(s.fleet.desired == 3);
  CHECK(s.balancer.algorithm == "least_outstanding_requests");
  REQUIRE(s.policies.size() == 1);
  CHECK(fs::equivalent(s.policies[0], repo.root / "policies/q.json"));
  CHECK(s.metrics_period == 2s);
  // The metrics period stands in for CloudWatch's minute: 2 s / 60 s.
  CHECK(s.effective_time_scale() == doctest::Approx(2.0 / 60.0));
  CHECK_FALSE(s.time_scale.has_value());
  CHECK(s.traffic.start_rps == 40);
  CHECK(s.traffic.arrivals == Arrivals::kPoisson);
  CHECK(s.traffic.requests.front().path == "/buy");
  REQUIRE(s.traffic.stages.size() == 3);
  CHECK(s.traffic.stages[1] == Stage{5s, 320});
  CHECK(s.traffic.stages[2] == Stage{500ms, 100});
  REQUIRE(s.faults.size() == 2);  // sorted by time
  CHECK(s.faults[0].at == 45s);
  CHECK(s.faults[0].workers.count == 1);
  CHECK(s.faults[0].kind == FaultKind::kKill);
  CHECK(s.faults[0].describe() == "kill 1 worker");
  CHECK(s.faults[1].describe() == "kill 2 workers");
  REQUIRE(s.expect.size() == 3);
  CHECK(s.expect[0].text() == "error_rate <= 0.01");
  CHECK(s.expect[1].text() == "max_in_service >= 3");
  CHECK(s.expect[2].text() == "1 <= p99_ms <= 250");
  // Stages end at 25.5 s; the last target holds to 90 s.
  const RateSchedule schedule = s.rate_schedule();
  CHECK(schedule.duration() == 90s);
  CHECK(schedule.rate_at(80s) == doctest::Approx(100));
}

TEST_CASE("parse_scenario: defaults of the optional fields") {
  TempRepo repo;
  const json doc = json::parse(R"({
    "name": "minimal",
    "fleet": { "profile": "fleet/p.json", "min": 1, "max": 3 },
    "traffic": { "stages": [ { "duration": "10s", "target": 5 }, { "duration": 2, "target": 0 } ] } })");
  const Scenario s = parse_scenario(doc, repo.scenario_path());
  CHECK(s.description.empty());
  CHECK(s.duration == 12s);  // the stages' total
  CHECK(s.seed == 1);
  CHECK(s.fleet.desired == 1);
  CHECK(s.balancer.algorithm == "round_robin");
  CHECK(s.policies.empty());
  CHECK(s.metrics_period == 5s);
  CHECK(s.traffic.start_rps == 0);
  CHECK(s.traffic.arrivals == Arrivals::kUniform);
  CHECK(s.traffic.requests.front().path == "/");
  CHECK(s.faults.empty());
  CHECK(s.expect.empty());
  CHECK(s.slo.latency == 500ms);
  CHECK(s.slo.error_rate == 0.01);
  CHECK(s.slo.availability == 0.999);
}

TEST_CASE("parse_scenario: the slo block, and expectations over the run's windows and faults") {
  TempRepo repo;
  json doc = valid_document();
  doc["slo"] = {{"latency", "250ms"}, {"error_rate", 0.05}, {"availability", 0.99}};
  doc["expect"] = json::parse(R"([
      { "metric": "recovery_seconds", "max": 10 },
      { "metric": "availability", "min": 0.99 },
      { "metric": "p99_ms", "after": "89s", "max": 500 } ])");
  const Scenario s = parse_scenario(doc, repo.scenario_path());
  CHECK(s.slo.latency == 250ms);
  CHECK(s.slo.error_rate == 0.05);
  CHECK(s.slo.availability == 0.99);
  REQUIRE(s.expect.size() == 3);
  CHECK(s.expect[0].text() == "recovery_seconds <= 10");
  CHECK(s.expect[2].text() == "max p99_ms after 89s <= 500");
}

TEST_CASE("parse_scenario: each mistake names its JSON pointer") {
  TempRepo repo;
  struct Row {
    const char* what;
    std::function<void(json&)> edit;
    const char* pointer;
    const char* expected;  // a fragment of what was expected
  };
  const Row rows[] = {
      {"unknown top-level field", [](json& d) { d["colour"] = "red"; }, "/colour", "known fields"},
      {"missing name", [](json& d) { d.erase("name"); }, "/name", "a value"},
      {"name with a space", [](json& d) { d["name"] = "flash sale"; }, "/name", "letters"},
      {"name not a string", [](json& d) { d["name"] = 3; }, "/name", "a string"},
      {"missing fleet", [](json& d) { d.erase("fleet"); }, "/fleet", "a value"},
      {"min above max", [](json& d) { d["fleet"]["min"] = 11; }, "/fleet/min", "<= max (10)"},
      {"negative min", [](json& d) { d["fleet"]["min"] = -1; }, "/fleet/min", "whole number"},
      {"max zero", [](json& d) { d["fleet"]["max"] = 0; }, "/fleet/max", "between 1 and"},
      {"desired above max", [](json& d) { d["fleet"]["desired"] = 11; }, "/fleet/desired",
       "between min (2) and max (10)"},
      {"desired below min", [](json& d) { d["fleet"]["desired"] = 1; }, "/fleet/desired",
       "between min (2) and max (10)"},
      {"fractional desired", [](json& d) { d["fleet"]["desired"] = 2.5; }, "/fleet/desired",
       "whole number"},
      {"unknown fleet field", [](json& d) { d["fleet"]["size"] = 2; }, "/fleet/size",
       "known fields"},
      {"missing profile file", [](json& d) { d["fleet"]["profile"] = "fleet/nope.json"; },
       "/fleet/profile", "existing file"},
      {"missing policy file", [](json& d) { d["policies"][0] = "policies/nope.json"; },
       "/policies/0", "existing file"},
      {"policies not an array", [](json& d) { d["policies"] = "policies/q.json"; }, "/policies",
       "an array"},
      {"unknown algorithm", [](json& d) { d["balancer"]["algorithm"] = "random"; },
       "/balancer/algorithm",
       "\"round_robin\", \"least_outstanding_requests\", \"weighted_round_robin\""},
      {"bad metrics period", [](json& d) { d["metrics"]["period"] = "0s"; }, "/metrics/period",
       "a duration"},
      {"time_scale not positive", [](json& d) { d["time_scale"] = 0; }, "/time_scale",
       "a number between"},
      {"unknown termination policy", [](json& d) { d["fleet"]["termination_policy"] = "Random"; },
       "/fleet/termination_policy", "\"Default\", \"OldestInstance\", \"NewestInstance\""},
      {"unknown health check type", [](json& d) { d["fleet"]["health_check_type"] = "K8S"; },
       "/fleet/health_check_type", "\"EC2\", \"ELB\""},
      {"bad duration", [](json& d) { d["duration"] = "soon"; }, "/duration", "a duration"},
      {"stages longer than the duration", [](json& d) { d["duration"] = "20s"; }, "/duration",
       "the stages' total (25500ms)"},
      {"no stages", [](json& d) { d["traffic"]["stages"] = json::array(); }, "/traffic/stages",
       "non-empty"},
      {"no traffic shape", [](json& d) { d["traffic"].erase("stages"); }, "/traffic",
       "exactly one of \"stages\", \"trace\" and \"sine\""},
      {"negative target", [](json& d) { d["traffic"]["stages"][2]["target"] = -1; },
       "/traffic/stages/2/target", "a number between 0 and 100000"},
      {"target not a number", [](json& d) { d["traffic"]["stages"][2]["target"] = "lots"; },
       "/traffic/stages/2/target", "a number between 0 and 100000"},
      {"bad stage duration", [](json& d) { d["traffic"]["stages"][0]["duration"] = "20 parsecs"; },
       "/traffic/stages/0/duration", "a duration"},
      {"unknown stage field", [](json& d) { d["traffic"]["stages"][1]["rps"] = 3; },
       "/traffic/stages/1/rps", "known fields"},
      {"negative start_rps", [](json& d) { d["traffic"]["start_rps"] = -5; }, "/traffic/start_rps",
       "a number between 0 and 100000"},
      {"unknown arrivals", [](json& d) { d["traffic"]["arrivals"] = "bursty"; },
       "/traffic/arrivals", "\"uniform\", \"poisson\""},
      {"path without slash", [](json& d) { d["traffic"]["path"] = "buy"; }, "/traffic/path",
       "starting with '/'"},
      {"fault after the end", [](json& d) { d["faults"][0]["at"] = "90s"; }, "/faults/0/at",
       "before the scenario's end (90s)"},
      {"fault without a kind", [](json& d) { d["faults"][1].erase("kill"); }, "/faults/1",
       "a fault kind"},
      {"unknown fault kind", [](json& d) { d["faults"][0]["pause"] = json::object(); },
       "/faults/0/pause", "a fault kind"},
      {"kill count zero", [](json& d) { d["faults"][0]["kill"]["count"] = 0; },
       "/faults/0/kill/count", "whole number between 1"},
      {"unknown metric", [](json& d) { d["expect"][1]["metric"] = "happiness"; },
       "/expect/1/metric", "error_rate"},
      {"expectation without bounds", [](json& d) { d["expect"][0].erase("max"); }, "/expect/0",
       "\"min\" or \"max\""},
      {"min above max", [](json& d) { d["expect"][2]["min"] = 300; }, "/expect/2/max",
       "a number >= min (300)"},
      {"unknown expectation field", [](json& d) { d["expect"][0]["below"] = 1; }, "/expect/0/below",
       "known fields"},
      {"empty zones", [](json& d) { d["fleet"]["zones"] = json::array(); }, "/fleet/zones",
       "a non-empty array"},
      {"a zone twice", [](json& d) { d["fleet"]["zones"] = {"a", "b", "a"}; }, "/fleet/zones/2",
       "a zone no other entry names"},
      {"a zone with a space", [](json& d) { d["fleet"]["zones"] = {"us east"}; }, "/fleet/zones/0",
       "a zone name"},
      {"unknown balancer field", [](json& d) { d["balancer"]["colour"] = 1; }, "/balancer/colour",
       "known fields"},
      {"a window past the scenario's end", [](json& d) { d["expect"][2]["after"] = "90s"; },
       "/expect/2/after", "the start of the run's last second (89s)"},
      {"recovery_seconds without faults",
       [](json& d) {
         d.erase("faults");
         d["expect"][0]["metric"] = "recovery_seconds";
       },
       "/expect/0/metric", "no faults to recover from"},
      {"slo availability above 1",
       [](json& d) {
         d["slo"] = {{"availability", 1.5}};
       },
       "/slo/availability", "a number between 0 and 1"},
      {"unknown slo field",
       [](json& d) {
         d["slo"] = {{"throughput", 100}};
       },
       "/slo/throughput", "known fields"},
  };
  for (const auto& row : rows) {
    const std::string what = row.what;
    CAPTURE(what);
    json doc = valid_document();
    row.edit(doc);
    const Outcome o = parse_outcome(doc, repo.scenario_path());
    CAPTURE(o.message);
    CHECK(o.pointer == row.pointer);
    CHECK(o.expected.find(row.expected) != std::string::npos);
    CHECK(o.message.rfind(repo.scenario_path() + ": " + row.pointer + ": expected", 0) == 0);
  }
}

namespace {

// 100 rps for 10 min, a ramp to 400 over 5 min, 400 for the last 5-minute step: 20 min.
constexpr const char* kTraceText = "t_seconds,rps\n0,100\n600,100\n900,400\n";

std::string write_repo_trace(const TempRepo& repo, const char* text = kTraceText) {
  fs::create_directories(repo.root / "scenarios/traces");
  const fs::path path = repo.root / "scenarios/traces/day.csv";
  std::ofstream(path) << text;
  return path.string();
}

json shaped_document(const json& traffic) {
  json doc = json::parse(R"({ "name": "shaped",
    "fleet": { "profile": "fleet/p.json", "min": 1, "max": 3 } })");
  doc["traffic"] = traffic;
  return doc;
}

}  // namespace

TEST_CASE("parse_scenario: traffic from a trace") {
  TempRepo repo;
  const std::string csv = write_repo_trace(repo);
  struct Row {
    const char* what;
    json trace;
    double speedup, scale;
    Duration offset, duration;
  };
  const Row rows[] = {
      {"defaults, path from the repository root",
       {{"file", "scenarios/traces/day.csv"}},
       1,
       1,
       0s,
       1200s},
      {"path relative to the scenario's folder", {{"file", "traces/day.csv"}}, 1, 1, 0s, 1200s},
      {"speedup, scale and offset",
       {{"file", "traces/day.csv"}, {"speedup", 60}, {"scale", 0.5}, {"offset", "10m"}},
       60,
       0.5,
       600s,
       10s},
      {"slowed down", {{"file", "traces/day.csv"}, {"speedup", 0.5}}, 0.5, 1, 0s, 2400s},
  };
  for (const auto& row : rows) {
    const std::string what = row.what;
    CAPTURE(what);
    const Scenario s =
        parse_scenario(shaped_document({{"trace", row.trace}}), repo.scenario_path());
    REQUIRE(s.traffic.trace.has_value());
    const TracePlayback& p = *s.traffic.trace;
    CHECK(fs::equivalent(p.trace.file, csv));
    CHECK(p.trace.rows.size() == 3);
    CHECK(p.speedup == row.speedup);
    CHECK(p.scale == row.scale);
    CHECK(p.offset == row.offset);
    CHECK(s.traffic.stages.empty());
    CHECK_FALSE(s.traffic.sine.has_value());
    CHECK(s.duration == row.duration);  // (length - offset) / speedup
    const RateSchedule schedule = s.rate_schedule();
    CHECK(schedule.duration() == s.duration);
    for (Duration t = 0s; t < s.duration; t += s.duration / 40) {
      CAPTURE(to_seconds(t));
      CHECK(schedule.rate_at(t) ==
            doctest::Approx(row.scale * p.trace.rate_at(to_seconds(row.offset + t) +
                                                        to_seconds(t) * (row.speedup - 1))));
    }
  }
  // A duration shorter than the trace plays its start.
  json doc = shaped_document({{"trace", {{"file", "traces/day.csv"}}}});
  doc["duration"] = "5m";
  const Scenario part = parse_scenario(doc, repo.scenario_path());
  CHECK(part.duration == 5min);
  CHECK(part.rate_schedule().expected_total() == doctest::Approx(100 * 300));
  CHECK(part.traffic.describe() ==
        "trace day.csv (3 rows, 1200s, peak 400 rps) at speedup 1, scale 1");
}

TEST_CASE("parse_scenario: traffic from a sine") {
  TempRepo repo;
  const json sine = {{"base", 1000}, {"amplitude", 800}, {"period", "24h"}};
  const Scenario s = parse_scenario(shaped_document({{"sine", sine}}), repo.scenario_path());
  REQUIRE(s.traffic.sine.has_value());
  CHECK(*s.traffic.sine == Sine{1000, 800, 24h});
  CHECK(s.duration == 24h);  // one period
  CHECK(s.rate_schedule().rate_at(6h) == doctest::Approx(1800).epsilon(1e-5));
  CHECK(s.traffic.describe() == "sine 1000 +- 800 rps, period 86400s");
  json doc = shaped_document({{"sine", sine}, {"arrivals", "poisson"}, {"path", "/day"}});
  doc["duration"] = "36h";
  CHECK(parse_outcome(doc, repo.scenario_path()).pointer == "/duration");  // at most 24h
  doc["duration"] = "12h";
  const Scenario half = parse_scenario(doc, repo.scenario_path());
  CHECK(half.duration == 12h);
  CHECK(half.traffic.arrivals == Arrivals::kPoisson);
  CHECK(half.traffic.requests.front().path == "/day");
  // Within 0.01 requests a second of the sine's integral (rate_schedule.h).
  CHECK(std::abs(half.rate_schedule().expected_total() - (1000.0 * 43200 + 800 * 86400 / M_PI)) <=
        0.01 * 43200);
}

TEST_CASE("parse_scenario: each traffic shape's mistakes name their JSON pointer") {
  TempRepo repo;
  write_repo_trace(repo);
  const json trace = {{"file", "traces/day.csv"}};
  const json sine = {{"base", 1000}, {"amplitude", 800}, {"period", "24h"}};
  const json stages = json::array({{{"duration", "10s"}, {"target", 5}}});
  struct Row {
    const char* what;
    json traffic;
    std::optional<std::string> duration;
    const char* pointer;
    const char* expected;  // a fragment of what was expected
  };
  const Row rows[] = {
      {"stages and a trace",
       {{"stages", stages}, {"trace", trace}},
       {},
       "/traffic",
       "exactly one of \"stages\", \"trace\" and \"sine\""},
      {"a trace and a sine", {{"trace", trace}, {"sine", sine}}, {}, "/traffic", "exactly one of"},
      {"all three",
       {{"stages", stages}, {"trace", trace}, {"sine", sine}},
       {},
       "/traffic",
       "exactly one of"},
      {"start_rps with a trace",
       {{"trace", trace}, {"start_rps", 5}},
       {},
       "/traffic/start_rps",
       "no start_rps beside"},
      {"start_rps with a sine",
       {{"sine", sine}, {"start_rps", 5}},
       {},
       "/traffic/start_rps",
       "no start_rps beside"},
      {"trace without a file", {{"trace", json::object()}}, {}, "/traffic/trace/file", "a value"},
      {"trace file not found",
       {{"trace", {{"file", "traces/none.csv"}}}},
       {},
       "/traffic/trace/file",
       "existing file"},
      {"unknown trace field",
       {{"trace", {{"file", "traces/day.csv"}, {"loop", true}}}},
       {},
       "/traffic/trace/loop",
       "known fields"},
      {"speedup 0",
       {{"trace", {{"file", "traces/day.csv"}, {"speedup", 0}}}},
       {},
       "/traffic/trace/speedup",
       "a number between 0.001 and 1000000"},
      {"negative scale",
       {{"trace", {{"file", "traces/day.csv"}, {"scale", -1}}}},
       {},
       "/traffic/trace/scale",
       "a number between 0 and 100000"},
      {"scale past the rate limit",
       {{"trace", {{"file", "traces/day.csv"}, {"scale", 300}}}},
       {},
       "/traffic/trace/scale",
       "a scale that keeps the trace's peak (400 requests/s at t_seconds 900) at most 100000"},
      {"offset at the end",
       {{"trace", {{"file", "traces/day.csv"}, {"offset", "20m"}}}},
       {},
       "/traffic/trace/offset",
       "a duration before the trace's end (1200s)"},
      {"bad offset",
       {{"trace", {{"file", "traces/day.csv"}, {"offset", -5}}}},
       {},
       "/traffic/trace/offset",
       "a duration"},
      {"duration longer than the trace",
       {{"trace", trace}},
       "21m",
       "/duration",
       "a duration <= 1200s (how long the trace plays after offset and speedup)"},
      {"duration longer than the sped-up trace",
       {{"trace", {{"file", "traces/day.csv"}, {"speedup", 60}}}},
       "21s",
       "/duration",
       "a duration <= 20s"},
      {"slowed-down trace longer than a day",
       {{"trace", {{"file", "traces/day.csv"}, {"speedup", 0.01}}}},
       {},
       "/duration",
       "a duration of at most 86400s (the trace plays 120000s after offset and speedup)"},
      {"sine without base",
       {{"sine", {{"amplitude", 1}, {"period", "1m"}}}},
       {},
       "/traffic/sine/base",
       "a value"},
      {"sine without period",
       {{"sine", {{"base", 1}, {"amplitude", 1}}}},
       {},
       "/traffic/sine/period",
       "a value"},
      {"negative amplitude",
       {{"sine", {{"base", 1}, {"amplitude", -1}, {"period", "1m"}}}},
       {},
       "/traffic/sine/amplitude",
       "a number between 0 and 100000"},
      {"sine past the rate limit",
       {{"sine", {{"base", 60000}, {"amplitude", 50000}, {"period", "1m"}}}},
       {},
       "/traffic/sine/amplitude",
       "a number <= 40000 (base + amplitude <= 100000)"},
      {"period too short",
       {{"sine", {{"base", 1}, {"amplitude", 1}, {"period", "500ms"}}}},
       {},
       "/traffic/sine/period",
       "between 1s and 604800s"},
      {"period longer than a day, no duration",
       {{"sine", {{"base", 1}, {"amplitude", 1}, {"period", "48h"}}}},
       {},
       "/duration",
       "a duration of at most 86400s (it defaults to one period, 172800s)"},
      {"unknown sine field",
       {{"sine", {{"base", 1}, {"amplitude", 1}, {"period", "1m"}, {"phase", 1}}}},
       {},
       "/traffic/sine/phase",
       "known fields"},
      {"sine not an object", {{"sine", 1000}}, {}, "/traffic/sine", "an object"},
  };
  for (const auto& row : rows) {
    const std::string what = row.what;
    CAPTURE(what);
    json doc = shaped_document(row.traffic);
    if (row.duration) doc["duration"] = *row.duration;
    const Outcome o = parse_outcome(doc, repo.scenario_path());
    CAPTURE(o.message);
    CHECK(o.pointer == row.pointer);
    CHECK(o.expected.find(row.expected) != std::string::npos);
    CHECK(o.message.rfind(repo.scenario_path() + ": " + row.pointer + ": expected", 0) == 0);
  }
}

TEST_CASE("parse_scenario: a bad trace names the trace file and its line") {
  TempRepo repo;
  const std::string csv = write_repo_trace(repo, "t_seconds,rps\n0,10\n120,10\n60,10\n");
  const Outcome o = parse_outcome(shaped_document({{"trace", {{"file", "traces/day.csv"}}}}),
                                  repo.scenario_path());
  CHECK(o.message == csv + ": line 4: expected t_seconds after 120 (time going forwards), got 60");
}

TEST_CASE("load_scenario: a missing or malformed file is a UserError") {
  TempRepo repo;
  CHECK_THROWS_AS(load_scenario((repo.root / "scenarios/none.json").string()), UserError);
  std::ofstream(repo.scenario_path()) << "{ \"name\": ";
  CHECK_THROWS_AS(load_scenario(repo.scenario_path()), UserError);
}

TEST_CASE("every file in scenarios/ loads") {
  const fs::path dir = fs::path(FLOTILLA_SOURCE_DIR) / "scenarios";
  int loaded = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".json") continue;
    CAPTURE(entry.path().string());
    Scenario s;
    try {
      s = load_scenario(entry.path().string());
    } catch (const UserError& e) {
      FAIL(e.what());
    }
    // The name is the file's stem, so `flotilla run flash-sale` and the report agree.
    CHECK(s.name == entry.path().stem().string());
    CHECK(s.rate_schedule().expected_total() > 0);
    ++loaded;
  }
  CHECK(loaded >= 2);
}

}  // namespace flotilla

namespace flotilla {

TEST_CASE("parse_scenario: a request mix, its defaults, and the connections") {
  TempRepo repo;
  json doc = valid_document();
  doc["traffic"].erase("path");
  doc["traffic"]["requests"] = json::parse(R"([
      { "path": "/api", "method": "POST", "weight": 3, "body_bytes": 512 },
      { "path": "/static/logo.png" },
      { "path": "/api/items?id=7", "method": "DELETE", "weight": 0.5 }])");
  doc["traffic"]["connections"] = "new";
  const Scenario s = parse_scenario(doc, repo.scenario_path());
  const std::vector<RequestSpec> expected = {
      {"POST", "/api", 3, 512}, {"GET", "/static/logo.png", 1, 0}, {"DELETE", "/api/items?id=7", 0.5, 0}};
  CHECK(s.traffic.requests == expected);
  CHECK(s.traffic.connections == Connections::kNew);
  CHECK(s.traffic.describe() == "3 stages, a mix of 3 requests, a new connection per request");

  // Without a mix: one GET of "path", on kept-alive connections.
  const Scenario plain = parse_scenario(valid_document(), repo.scenario_path());
  CHECK(plain.traffic.requests == std::vector<RequestSpec>{{"GET", "/buy", 1, 0}});
  CHECK(plain.traffic.connections == Connections::kKeepAlive);
  CHECK(plain.traffic.describe() == "3 stages");
  json bare = valid_document();
  bare["traffic"].erase("path");
  CHECK(parse_scenario(bare, repo.scenario_path()).traffic.requests ==
        std::vector<RequestSpec>{{"GET", "/", 1, 0}});
}

TEST_CASE("parse_scenario: each request mix mistake names its JSON pointer") {
  TempRepo repo;
  struct Row {
    const char* what;
    json traffic;  // merged into the valid document's traffic, less its "path"
    const char* pointer;
    const char* expected;  // a fragment of what was expected
  };
  const json one = json::array({{{"path", "/a"}}});
  const Row rows[] = {
      {"path and requests", {{"path", "/x"}, {"requests", one}}, "/traffic/requests",
       "either \"path\" or \"requests\", not both"},
      {"an empty mix", {{"requests", json::array()}}, "/traffic/requests", "an array of 1 to 100"},
      {"a mix that is not an array", {{"requests", "/a"}}, "/traffic/requests", "an array"},
      {"an entry without a path", {{"requests", json::parse(R"([{"path": "/a"}, {"weight": 2}])")}},
       "/traffic/requests/1/path", "a value"},
      {"a path without its slash", {{"requests", json::parse(R"([{"path": "api"}])")}},
       "/traffic/requests/0/path", "a request path starting with '/'"},
      {"a path with a space", {{"requests", json::parse(R"([{"path": "/a b"}])")}},
       "/traffic/requests/0/path", "without spaces"},
      {"an unknown method", {{"requests", json::parse(R"([{"path": "/a", "method": "get"}])")}},
       "/traffic/requests/0/method", "one of \"GET\", \"POST\", \"PUT\", \"DELETE\", \"PATCH\""},
      {"a weight of 0",
       {{"requests", json::parse(R"([{"path": "/a"}, {"path": "/b", "weight": 0}])")}},
       "/traffic/requests/1/weight", "a number > 0"},
      {"a negative weight", {{"requests", json::parse(R"([{"path": "/a", "weight": -1}])")}},
       "/traffic/requests/0/weight", "a number"},
      {"a weight that is not a number",
       {{"requests", json::parse(R"([{"path": "/a", "weight": "3"}])")}},
       "/traffic/requests/0/weight", "a number"},
      {"a negative body", {{"requests", json::parse(R"([{"path": "/a", "body_bytes": -1}])")}},
       "/traffic/requests/0/body_bytes", "a whole number"},
      {"a fractional body", {{"requests", json::parse(R"([{"path": "/a", "body_bytes": 1.5}])")}},
       "/traffic/requests/0/body_bytes", "a whole number"},
      {"a body over 1 MiB",
       {{"requests", json::parse(R"([{"path": "/a", "body_bytes": 1048577}])")}},
       "/traffic/requests/0/body_bytes", "1048576"},
      {"an unknown entry field",
       {{"requests", json::parse(R"([{"path": "/a", "headers": {}}])")}},
       "/traffic/requests/0/headers", "known fields"},
      {"unknown connections", {{"connections", "reuse"}}, "/traffic/connections",
       "one of \"keep_alive\", \"new\""},
  };
  for (const auto& row : rows) {
    const std::string what = row.what;
    CAPTURE(what);
    json doc = valid_document();
    doc["traffic"].erase("path");
    doc["traffic"].update(row.traffic);
    const Outcome o = parse_outcome(doc, repo.scenario_path());
    CAPTURE(o.message);
    CHECK(o.pointer == row.pointer);
    CHECK(o.expected.find(row.expected) != std::string::npos);
  }
  // 100 entries are a mix; 101 are not.
  json doc = valid_document();
  doc["traffic"].erase("path");
  doc["traffic"]["requests"] = json::array();
  for (int i = 0; i < 100; ++i) doc["traffic"]["requests"].push_back({{"path", "/p" + std::to_string(i)}});
  CHECK(parse_outcome(doc, repo.scenario_path()).pointer == "<no error>");
  doc["traffic"]["requests"].push_back({{"path", "/one-too-many"}});
  CHECK(parse_outcome(doc, repo.scenario_path()).pointer == "/traffic/requests");
}

}  // namespace flotilla

namespace flotilla {
namespace {

// valid_document() with the command provider's fleet.
json command_document() {
  json d = valid_document();
  d["fleet"] = json::parse(R"({ "provider": "command", "min": 2, "max": 10,
      "command": ["python3", "-m", "http.server", "{port}"] })");
  return d;
}

}  // namespace
}  // namespace flotilla

using flotilla::command_document;

TEST_CASE("parse_scenario: the command provider's fleet and its defaults") {
  using namespace flotilla;
  TempRepo repo;
  const Scenario plain = parse_scenario(valid_document(), repo.scenario_path());
  CHECK(plain.fleet.provider == "process");
  CHECK(plain.fleet.command.empty());
  CHECK(plain.fleet.health_check.is_null());

  const Scenario s = parse_scenario(command_document(), repo.scenario_path());
  CHECK(s.fleet.provider == "command");
  CHECK(s.fleet.command == std::vector<std::string>{"python3", "-m", "http.server", "{port}"});
  CHECK(s.fleet.profile.empty());
  CHECK(s.fleet.health_check.is_null());
  CHECK_FALSE(s.fleet.boot_time);
  CHECK(s.faults.size() == 2);  // kill suits a user's server

  json d = command_document();
  d["fleet"]["health_check"] = {{"path", "/health"}};
  d["fleet"]["boot_time"] = "3s";
  d["fleet"]["profile"] = "fleet/p.json";
  d["faults"].push_back({{"at", "10s"}, {"for", "5s"}, {"stop", json::object()}});
  const Scenario full = parse_scenario(d, repo.scenario_path());
  CHECK(full.fleet.health_check == json{{"path", "/health"}});
  CHECK(full.fleet.boot_time == std::chrono::seconds(3));
  CHECK(fs::path(full.fleet.profile).filename() == "p.json");
}

TEST_CASE("parse_scenario: each command provider mistake names its JSON pointer") {
  using namespace flotilla;
  TempRepo repo;
  struct Row {
    const char* what;
    std::function<json()> document;
    const char* pointer;
    const char* expected;
  };
  auto command_with = [](std::function<void(json&)> edit) {
    return [edit] {
      json d = command_document();
      edit(d);
      return d;
    };
  };
  auto process_with = [](std::function<void(json&)> edit) {
    return [edit] {
      json d = valid_document();
      edit(d);
      return d;
    };
  };
  const Row rows[] = {
      {"unknown provider", process_with([](json& d) { d["fleet"]["provider"] = "docker"; }),
       "/fleet/provider", "\"process\", \"command\""},
      {"no command", command_with([](json& d) { d["fleet"].erase("command"); }), "/fleet/command",
       "a value"},
      {"an empty command", command_with([](json& d) { d["fleet"]["command"] = json::array(); }),
       "/fleet/command", "a non-empty array"},
      {"a command as one string",
       command_with([](json& d) { d["fleet"]["command"] = "python3 -m http.server {port}"; }),
       "/fleet/command", "an array"},
      {"no {port}", command_with([](json& d) {
         d["fleet"]["command"] = {"python3", "-m", "http.server"};
       }),
       "/fleet/command", "{port}"},
      {"an empty argument", command_with([](json& d) {
         d["fleet"]["command"] = {"./server", "", "{port}"};
       }),
       "/fleet/command/1", "a non-empty string"},
      {"a health check that is not an object",
       command_with([](json& d) { d["fleet"]["health_check"] = "/health"; }), "/fleet/health_check",
       "an object"},
      {"a negative boot time", command_with([](json& d) { d["fleet"]["boot_time"] = "-1s"; }),
       "/fleet/boot_time", "a duration"},
      {"a missing profile file",
       command_with([](json& d) { d["fleet"]["profile"] = "fleet/nope.json"; }), "/fleet/profile",
       "existing file"},
      {"slow", command_with([](json& d) {
         d["faults"].push_back({{"at", "10s"}, {"for", "5s"}, {"slow", {{"factor", 3}}}});
       }),
       "/faults/2/slow", "control interface"},
      {"errors", command_with([](json& d) {
         d["faults"][0] = {{"at", "10s"}, {"for", "5s"}, {"errors", {{"fraction", 0.5}}}};
       }),
       "/faults/0/errors", "control interface"},
      {"crash_after", command_with([](json& d) {
         d["faults"][1] = {{"at", "10s"}, {"crash_after", {{"requests", 10}}}};
       }),
       "/faults/1/crash_after", "control interface"},
      {"latency", command_with([](json& d) {
         d["faults"][0] = {{"at", "10s"}, {"for", "5s"}, {"latency", {{"delay", "50ms"}}}};
       }),
       "/faults/0/latency", "control interface"},
      {"flap", command_with([](json& d) {
         d["faults"][0] = {{"at", "10s"}, {"for", "5s"}, {"flap", {{"period", "1s"}}}};
       }),
       "/faults/0/flap", "control interface"},
      {"a command with the process provider", process_with([](json& d) {
         d["fleet"]["command"] = {"./server", "{port}"};
       }),
       "/fleet/command", "process provider"},
      {"a health check with the process provider", process_with([](json& d) {
         d["fleet"]["health_check"] = {{"path", "/"}};
       }),
       "/fleet/health_check", "process provider"},
      {"no profile with the process provider",
       process_with([](json& d) { d["fleet"].erase("profile"); }), "/fleet/profile", "a value"},
  };
  for (const Row& row : rows) {
    CAPTURE(row.what);
    const Outcome o = parse_outcome(row.document(), repo.scenario_path());
    CHECK(o.pointer == row.pointer);
    CHECK_MESSAGE(o.expected.find(row.expected) != std::string::npos, o.message);
  }
}

TEST_CASE("parse_scenario: the swarm provider's fleet, its defaults and its mistakes") {
  using namespace flotilla;
  TempRepo repo;
  auto swarm_with = [](std::function<void(json&)> edit) {
    json d = valid_document();
    d["fleet"]["provider"] = "swarm";
    edit(d);
    return d;
  };
  const Scenario plain = parse_scenario(swarm_with([](json&) {}), repo.scenario_path());
  CHECK(plain.fleet.provider == "swarm");
  CHECK(plain.fleet.image.empty());  // the provider's default
  CHECK(plain.fleet.constraints.empty());
  CHECK_FALSE(plain.fleet.profile.empty());
  CHECK(plain.faults.size() == 2);  // every fault of a flotilla-worker suits it

  const Scenario full = parse_scenario(
      swarm_with([](json& d) {
        d["fleet"]["image"] = "flotilla-worker:test";
        d["fleet"]["constraints"] = {"node.role==manager", "node.labels.zone!=a"};
        d["fleet"]["bind"] = "0.0.0.0";
        d["faults"].push_back({{"at", "10s"}, {"for", "5s"}, {"slow", {{"factor", 3}}}});
      }),
      repo.scenario_path());
  CHECK(full.fleet.image == "flotilla-worker:test");
  CHECK(full.fleet.bind == "0.0.0.0");
  CHECK(plain.fleet.bind.empty());
  CHECK(full.fleet.constraints ==
        std::vector<std::string>{"node.role==manager", "node.labels.zone!=a"});

  struct Row {
    const char* what;
    json document;
    const char* pointer;
    const char* expected;
  };
  json process_image = valid_document();
  process_image["fleet"]["image"] = "flotilla-worker:latest";
  json command_constraints = command_document();
  command_constraints["fleet"]["constraints"] = {"node.role==manager"};
  const Row rows[] = {
      {"no profile", swarm_with([](json& d) { d["fleet"].erase("profile"); }), "/fleet/profile",
       "a value"},
      {"an empty image", swarm_with([](json& d) { d["fleet"]["image"] = ""; }), "/fleet/image",
       "a non-empty string"},
      {"constraints as one string",
       swarm_with([](json& d) { d["fleet"]["constraints"] = "node.role==manager"; }),
       "/fleet/constraints", "an array"},
      {"a constraint without == or !=", swarm_with([](json& d) {
         d["fleet"]["constraints"] = {"node.role==manager", "manager"};
       }),
       "/fleet/constraints/1", "== or !="},
      {"a command", swarm_with([](json& d) {
         d["fleet"]["command"] = {"./server", "{port}"};
       }),
       "/fleet/command", "swarm provider"},
      {"a bind that is not an address", swarm_with([](json& d) { d["fleet"]["bind"] = "node"; }),
       "/fleet/bind", "an IPv4 address"},
      {"an image with the process provider", process_image, "/fleet/image",
       "\"provider\": \"swarm\""},
      {"constraints with the command provider", command_constraints, "/fleet/constraints",
       "command provider"},
  };
  for (const Row& row : rows) {
    CAPTURE(row.what);
    const Outcome o = parse_outcome(row.document, repo.scenario_path());
    CHECK(o.pointer == row.pointer);
    CHECK_MESSAGE(o.expected.find(row.expected) != std::string::npos, o.message);
  }
}
