// The shipped scenarios run live, end to end, as a user runs them: real workers, the balancer,
// health checks, faults, the report. Each spends its scenario's duration in real seconds.
#include <doctest/doctest.h>

#include <signal.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "support/fault_scenarios.h"
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
// Runs scenarios/NAME.json live and checks that it exited 0 and passed; returns the report.
// `inspect` sees the output folder before it is removed.
nlohmann::json run_shipped_scenario(const std::string& name, std::chrono::seconds timeout = 150s,
                                    const std::function<void(const fs::path&)>& inspect = {}) {
  const auto out = fresh_temp_dir("shipped-" + name);
  const auto scenario = (kSource / "scenarios" / (name + ".json")).string();
  const auto r =
      run_process({kFlotilla, "run", scenario, "--quiet", "--out", out.string()}, timeout);
  INFO(r.out, r.err);
  CHECK(r.exit_code == 0);
  auto report = nlohmann::json::parse(read_file(out / "report.json"));
  CHECK(report["passed"] == true);
  if (inspect) inspect(out);
  fs::remove_all(out);
  return report;
}

// A shipped scenario for a scaling policy: it passes, and the policy left its decisions in the
// report; returns the report.
nlohmann::json run_policy_scenario(const std::string& name) {
  auto report = run_shipped_scenario(name);
  CHECK(report["decisions"].size() >= 1);
  CHECK(report["requests"]["errors"].get<long>() <= report["requests"]["sent"].get<long>() / 100);
  return report;
}
}  // namespace

namespace {
// The first scaling activity after traffic started that raised the desired capacity, as
// "FROM -> TO", or "" when there is none.
std::string first_scale_out(const nlohmann::json& report) {
  for (const auto& a : report["activities"])
    if (a["t"].get<double>() >= 0 && a["to"].get<int>() > a["from"].get<int>())
      return std::to_string(a["from"].get<int>()) + " -> " + std::to_string(a["to"].get<int>());
  return "";
}
}  // namespace

// The longest runs first: ctest starts tests in the order they are listed.
// The traffic shapes live: a sine, a trace at four times its speed, a day's trace in 3 minutes.
TEST_CASE("run: a diurnal sine scales out for its peak and back in live (diurnal-sine)") {
  const auto report = run_shipped_scenario("diurnal-sine", 300s);
  CHECK(report["capacity"]["max_in_service"].get<int>() > report["capacity"]["initial"].get<int>());
  CHECK(report["capacity"]["final"].get<int>() < report["capacity"]["max_in_service"].get<int>());
}
TEST_CASE("run: a burst replayed from a trace scales out and back in live (trace-burst)") {
  const auto report = run_shipped_scenario("trace-burst", 200s);
  CHECK(report["capacity"]["max_in_service"].get<int>() >= 3);
  CHECK(report["capacity"]["final"].get<int>() < report["capacity"]["max_in_service"].get<int>());
}
TEST_CASE("run: a day's trace played in 3 minutes live (diurnal-day)") {
  const auto report = run_shipped_scenario("diurnal-day", 350s);
  CHECK(first_scale_out(report) != "");
}

namespace {
struct Row {
  int in_service = 0;
  double p99_ms = NAN;
  long ok = 0;
};

std::vector<Row> read_timeseries(const fs::path& csv) {
  std::istringstream in(read_file(csv));
  std::string line;
  std::getline(in, line);  // header
  std::vector<Row> rows;
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::stringstream fields(line);
    for (std::string cell; std::getline(fields, cell, ',');) cells.push_back(cell);
    while (cells.size() < 10) cells.emplace_back();
    Row r;
    r.ok = std::stol(cells[2]);
    r.p99_ms = cells[5].empty() ? NAN : std::stod(cells[5]);
    r.in_service = std::stoi(cells[6]);
    rows.push_back(r);
  }
  return rows;
}
}  // namespace

// The model against the real thing: the same scenario (a spike and a kill) live and simulated.
TEST_CASE("run --sim: faithful to a live run of flash-sale, which passes in both") {
  const auto live = fresh_temp_dir("fidelity-live");
  const auto sim = fresh_temp_dir("fidelity-sim");
  const std::string scenario = (kSource / "scenarios/flash-sale.json").string();
  const auto rl = run_process({kFlotilla, "run", scenario, "--quiet", "--out", live.string()}, 200s);
  INFO(rl.out, rl.err);
  REQUIRE(rl.exit_code == 0);
  const auto rs =
      run_process({kFlotilla, "run", scenario, "--sim", "--quiet", "--out", sim.string()}, 60s);
  REQUIRE(rs.exit_code == 0);
  // Exit code 0 is a run whose expectations held; the report says so too.
  CHECK(nlohmann::json::parse(read_file(live / "report.json"))["passed"] == true);
  CHECK(nlohmann::json::parse(read_file(sim / "report.json"))["passed"] == true);

  const auto live_rows = read_timeseries(live / "timeseries.csv");
  const auto sim_rows = read_timeseries(sim / "timeseries.csv");
  REQUIRE(live_rows.size() == sim_rows.size());
  std::size_t close = 0;
  for (std::size_t k = 0; k < live_rows.size(); ++k)
    close += std::abs(live_rows[k].in_service - sim_rows[k].in_service) <= 1 ? 1 : 0;
  const double share = static_cast<double>(close) / static_cast<double>(live_rows.size());
  CAPTURE(share);
  CHECK(share >= 0.9);

  const double live_p99 =
      nlohmann::json::parse(read_file(live / "report.json"))["latency_ms"]["p99"].get<double>();
  const double sim_p99 =
      nlohmann::json::parse(read_file(sim / "report.json"))["latency_ms"]["p99"].get<double>();
  CAPTURE(live_p99);
  CAPTURE(sim_p99);
  CHECK(std::abs(sim_p99 - live_p99) <= 0.25 * live_p99);
  fs::remove_all(live);
  fs::remove_all(sim);
}


// One live scenario per policy type (target tracking on CPU is the steady and flash-sale ones).
TEST_CASE("run: AWS step scaling with its CloudWatch alarm scales out live, 2 -> 4") {
  // 320 requests/s on 2 workers puts average CPU between 75 and 90 %: the alarm's threshold
  // (60) plus the [15, 30) step, +2.
  const auto report = run_policy_scenario("step-scaling");
  CHECK(first_scale_out(report) == "2 -> 4");
}
TEST_CASE("run: AWS target tracking on ALBRequestCountPerTarget scales out live, 2 -> 5") {
  // 240 requests/s on 2 workers is 7,200 requests per target per minute against a target of
  // 3,000: ceil(2 x 7200 / 3000) = 5, and 5 then hold (2,880 per target).
  const auto report = run_policy_scenario("requests-per-target");
  CHECK(first_scale_out(report) == "2 -> 5");
  CHECK(report["capacity"]["max_in_service"].get<int>() == 5);
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

namespace {
// Runs the library's scenario for one fault kind live (tests/support/fault_scenarios.h): it
// passes its expectations, and its report shows the fault and its effect.
void run_fault_scenario(const std::string& name) {
  const FaultScenario* row = nullptr;
  for (const auto& s : kFaultScenarios)
    if (s.name == name) row = &s;
  REQUIRE(row != nullptr);
  const auto report = run_shipped_scenario(name);
  ObservedRun observed;
  for (const auto& e : report["events"]) observed.events.emplace_back(e["kind"], e["detail"]);
  for (const auto& a : report["activities"]) observed.activity_causes.push_back(a["cause"]);
  for (const auto& missing : missing_effects(*row, observed)) FAIL_CHECK(missing);
}
}  // namespace

// Each fault kind live; the simulated counterpart is in tests/orchestrator/simulated_run_test.cpp.
TEST_CASE("run: kill, a third of the fleet at once, live (kill-storm)") {
  run_fault_scenario("kill-storm");
}
TEST_CASE("run: stop, a hung worker replaced, live (hung-worker)") {
  run_fault_scenario("hung-worker");
}
TEST_CASE("run: slow, a gray failure under least outstanding requests, live (gray-failure)") {
  run_fault_scenario("gray-failure");
}
TEST_CASE("run: errors, the worker ejected by outlier detection, live (error-burst)") {
  run_fault_scenario("error-burst");
}
TEST_CASE("run: crash_after, the crashed worker replaced, live (crash-loop)") {
  run_fault_scenario("crash-loop");
}
TEST_CASE("run: boot_failure during a scale-out, live (bad-deploy)") {
  run_fault_scenario("bad-deploy");
}
TEST_CASE("run: latency on the path to one worker, live (slow-network)") {
  run_fault_scenario("slow-network");
}
TEST_CASE("run: flap, a worker whose health check alternates, live (flapping)") {
  run_fault_scenario("flapping");
}
TEST_CASE("run: interruption, two Spot notices, live (spot-interruption)") {
  run_fault_scenario("spot-interruption");
}
TEST_CASE("run: zone_outage, one zone of three out and rebalanced, live (az-outage)") {
  run_fault_scenario("az-outage");
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

TEST_CASE("run: the user's own server as the worker, python's http.server, live (command-python)") {
  std::string csv;
  const auto report = run_shipped_scenario("command-python", 120s, [&](const fs::path& out) {
    csv = read_file(out / "timeseries.csv");
  });
  CHECK(report["requests"]["errors"].get<long>() == 0);
  CHECK(report["capacity"]["max_in_service"].get<int>() == 4);
  CHECK(report["capacity"]["final"].get<int>() == 2);
  int killed = 0;
  for (const auto& w : report["workers"])
    if (w["end_cause"].get<std::string>().find("signal 9") != std::string::npos) ++killed;
  CHECK(killed == 1);
  // CPUUtilization came from the servers' CPU time: a group average every second, small for
  // 30 requests/s of directory listings.
  std::istringstream lines(csv);
  std::string line;
  std::getline(lines, line);
  int rows = 0, with_cpu = 0;
  while (std::getline(lines, line)) {
    ++rows;
    const std::string cpu = line.substr(line.rfind(',') + 1);
    if (cpu.empty()) continue;
    ++with_cpu;
    CHECK(std::stod(cpu) < 50);
  }
  CHECK(rows >= 30);
  CHECK(with_cpu >= rows - 2);
}
