// One short live scenario end to end: real workers, the balancer, health checks, the report.
#include <doctest/doctest.h>

#include <signal.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "support/files.h"
#include "support/paths.h"
#include "support/subprocess.h"

using namespace flotilla::test;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

TEST_CASE("run: a short live scenario passes and writes report.json and timeseries.csv") {
  const auto out = fresh_temp_dir("live");
  const auto scenario = (kSource / "scenarios/steady.json").string();
  const auto r = run_process({kFlotilla, "run", scenario, "--quiet", "--out", out.string()}, 120s);
  INFO(r.out, r.err);
  CHECK_FALSE(r.timed_out);
  CHECK(r.exit_code == 0);

  const auto report = nlohmann::json::parse(read_file(out / "report.json"));
  CHECK(report["passed"] == true);
  for (const char* key : {"scenario", "passed", "requests", "latency_ms", "capacity", "activities",
                          "expectations", "decisions"})
    CHECK_MESSAGE(report.contains(key), key);
  const auto sent = report["requests"]["sent"].get<long>();
  CHECK(sent > 0);
  CHECK(report["requests"]["ok"].get<long>() + report["requests"]["errors"].get<long>() == sent);
  CHECK(report["requests"]["errors"].get<long>() == 0);
  CHECK(report["capacity"]["initial"].get<int>() >= 1);
  CHECK(report["latency_ms"]["p99"].get<double>() > 0);

  const auto csv = read_file(out / "timeseries.csv");
  CHECK(csv.rfind("t,offered_rps,ok,errors,p50_ms,p99_ms,in_service,pending,desired,cpu_avg", 0) ==
        0);
  const auto rows = std::count(csv.begin(), csv.end(), '\n') - 1;
  CHECK(rows >= 10);
  fs::remove_all(out);
}

TEST_CASE("run: no worker outlives flotilla when flotilla is SIGKILLed") {
  const auto out = fresh_temp_dir("orphans");
  Subprocess flotilla(
      {kFlotilla, "run", (kSource / "scenarios/steady.json").string(), "--out", out.string()});
  // Traffic starts once the initial workers are in service.
  const bool started = flotilla.wait_for_output(
      [&] { return flotilla.out().find("traffic starts") != std::string::npos; }, 60000ms);
  INFO(flotilla.out(), flotilla.err());
  REQUIRE(started);
  const auto workers = children_of(flotilla.pid());
  REQUIRE(workers.size() >= 1);
  ::kill(flotilla.pid(), SIGKILL);
  flotilla.finish(10000ms);
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  auto any_alive = [&] {
    for (pid_t w : workers)
      if (process_alive(w)) return true;
    return false;
  };
  while (any_alive() && std::chrono::steady_clock::now() < deadline) flotilla.pump(20ms);
  CHECK_FALSE(any_alive());
  fs::remove_all(out);
}

TEST_CASE("run: scale-in under steady load costs the client no errors") {
  const auto out = fresh_temp_dir("scale-in");
  const auto scenario = (kSource / "scenarios/scale-in.json").string();
  const auto r = run_process({kFlotilla, "run", scenario, "--quiet", "--out", out.string()}, 120s);
  INFO(r.out, r.err);
  CHECK(r.exit_code == 0);
  const auto report = nlohmann::json::parse(read_file(out / "report.json"));
  CHECK(report["requests"]["errors"].get<long>() == 0);
  CHECK(report["requests"]["ok"].get<long>() == report["requests"]["sent"].get<long>());
  int scale_ins = 0;
  for (const auto& a : report["activities"])
    if (a["t"].get<double>() >= 0 && a["to"].get<int>() < a["from"].get<int>()) ++scale_ins;
  CHECK(scale_ins >= 1);
  CHECK(report["capacity"]["final"].get<int>() < report["capacity"]["initial"].get<int>());
  fs::remove_all(out);
}

namespace {
// Runs a shipped scenario live and checks that its expectations held and that the scaling
// policy left its decisions in the report; returns the report.
nlohmann::json run_policy_scenario(const std::string& name) {
  const auto out = fresh_temp_dir("policy-" + name);
  const auto scenario = (kSource / "scenarios" / (name + ".json")).string();
  const auto r = run_process({kFlotilla, "run", scenario, "--quiet", "--out", out.string()}, 150s);
  INFO(r.out, r.err);
  CHECK(r.exit_code == 0);
  const auto report = nlohmann::json::parse(read_file(out / "report.json"));
  CHECK(report["passed"] == true);
  CHECK(report["decisions"].size() >= 1);
  CHECK(report["requests"]["errors"].get<long>() <= report["requests"]["sent"].get<long>() / 100);
  fs::remove_all(out);
  return report;
}
}  // namespace

// One live scenario per policy type (target tracking on CPU is the steady and flash-sale ones).
TEST_CASE("run: AWS step scaling with its CloudWatch alarm scales out live") {
  run_policy_scenario("step-scaling");
}
TEST_CASE("run: AWS target tracking on ALBRequestCountPerTarget scales out live") {
  run_policy_scenario("requests-per-target");
}
TEST_CASE("run: a Kubernetes HPA manifest scales out live") { run_policy_scenario("hpa"); }
TEST_CASE("run: scheduled actions set capacity on their cron and at times live") {
  run_policy_scenario("scheduled");
}
TEST_CASE("run: simple scaling adds a worker per alarm and waits out its cooldown live") {
  run_policy_scenario("simple-scaling");
}
TEST_CASE("run: scale-out-only target tracking and a step scale-in policy both act live") {
  // AWS's rule for several policies: the step policy's scale-in needs no tracking policy's
  // agreement (the old rule, in only if every policy says in, never scaled in here).
  const auto report = run_policy_scenario("tracking-and-step");
  int outs = 0, ins = 0;
  for (const auto& a : report["activities"]) {
    if (a["t"].get<double>() < 0) continue;  // the group's creation
    const auto cause = a["cause"].get<std::string>();
    CAPTURE(cause);
    if (a["to"].get<int>() > a["from"].get<int>()) {
      ++outs;
      CHECK(cause.rfind("cpu-target-50-out-only: ", 0) == 0);
    } else if (a["to"].get<int>() < a["from"].get<int>()) {
      ++ins;
      CHECK(cause.rfind("step-cpu-low: ", 0) == 0);
    }
  }
  CHECK(outs >= 1);
  CHECK(ins >= 1);
}

TEST_CASE("run: api-mix live gives a row per path and per worker, the killed one's end") {
  const auto report = run_policy_scenario("api-mix");
  REQUIRE(report["paths"].size() == 3);
  long sent = 0;
  for (const auto& p : report["paths"]) {
    CAPTURE(p.dump());
    CHECK(p["sent"].get<long>() > 100);
    CHECK(p["ok"].get<long>() + p["errors"].get<long>() == p["sent"].get<long>());
    CHECK(p["p99_ms"].get<double>() > 0);
    sent += p["sent"].get<long>();
  }
  CHECK(sent == report["requests"]["sent"].get<long>());
  CHECK(report["paths"][1]["method"] == "POST");
  CHECK(report["paths"][1]["body_bytes"] == 512);
  // The same requests as --sim sends: the mix's choice depends on the seed alone.
  CHECK(report["paths"][0]["sent"] == 1153);
  CHECK(report["paths"][1]["sent"] == 628);

  REQUIRE(report["workers"].size() == 3);
  long routed = 0;
  int killed = 0;
  for (const auto& w : report["workers"]) {
    CAPTURE(w.dump());
    CHECK(w["launched_at"].is_number());
    CHECK(w["in_service_at"].is_number());
    CHECK(w["requests"].get<long>() > 100);
    routed += w["requests"].get<long>();
    if (w["end_cause"] == "signal 9 (SIGKILL)") {
      ++killed;
      CHECK(w["ended_at"].get<double>() == doctest::Approx(12).epsilon(0.05));
    } else {
      CHECK(w["end_cause"] == "run finished");
      CHECK(w["ended_at"].is_null());
    }
  }
  CHECK(killed == 1);
  CHECK(routed >= sent);
}
