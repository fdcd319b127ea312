// `flotilla run --sim` as a user runs it: the same scenario file and outputs as a live run, no
// worker binary needed, byte-identical replays (its fidelity to a live run is in
// live_scenario_test.cpp).
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "support/files.h"
#include "support/paths.h"
#include "support/subprocess.h"

using namespace flotilla::test;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

nlohmann::json report_without_run_fields(const fs::path& file) {
  auto j = nlohmann::json::parse(read_file(file));
  j.erase("started_at");
  j.erase("output_dir");
  return j;
}

}  // namespace

TEST_CASE("run --sim: needs no worker binary, writes the same outputs, mode simulated") {
  const auto out = fresh_temp_dir("sim-outputs");
  const auto r =
      run_process({kFlotilla, "run", (kSource / "scenarios/flash-sale.json").string(), "--sim",
                   "--quiet", "--worker", "/nonexistent/flotilla-worker", "--out", out.string()},
                  60s);
  INFO(r.out, r.err);
  CHECK(r.exit_code == 0);
  const auto report = nlohmann::json::parse(read_file(out / "report.json"));
  CHECK(report["mode"] == "simulated");
  CHECK(report["passed"] == true);
  CHECK(report["requests"]["sent"].get<long>() == 12000);
  CHECK(read_file(out / "timeseries.csv")
            .rfind("t,offered_rps,ok,errors,p50_ms,p99_ms,in_service,pending,desired,cpu_avg",
                   0) == 0);
  CHECK(r.out.find("Result: PASSED") != std::string::npos);
  fs::remove_all(out);
}

TEST_CASE("run --sim: the same scenario and seed give byte-identical outputs") {
  const auto a = fresh_temp_dir("sim-det-a");
  const auto b = fresh_temp_dir("sim-det-b");
  for (const auto& dir : {a, b}) {
    const auto r = run_process({kFlotilla, "run", (kSource / "scenarios/flash-sale.json").string(),
                                "--sim", "--quiet", "--out", dir.string()},
                               60s);
    REQUIRE(r.exit_code == 0);
  }
  CHECK(read_file(a / "timeseries.csv") == read_file(b / "timeseries.csv"));
  CHECK(report_without_run_fields(a / "report.json") ==
        report_without_run_fields(b / "report.json"));
  fs::remove_all(a);
  fs::remove_all(b);
}

TEST_CASE("compare --sim: one row per policy in the order given, the frontier, the files") {
  const auto out = fresh_temp_dir("compare");
  const auto r = run_process(
      {kFlotilla, "compare", (kSource / "scenarios/flash-sale.json").string(), "--sim", "--json",
       "--policy", (kSource / "policies/cpu-target-50.json").string(), "--policy",
       (kSource / "policies/aws-step-cpu.json").string(), "--policy",
       (kSource / "policies/hpa-cpu.yaml").string(), "--out", out.string()},
      120s);
  INFO(r.out, r.err);
  REQUIRE(r.exit_code == 0);
  const auto j = nlohmann::json::parse(r.out);
  const auto& rows = j.at("policies");
  REQUIRE(rows.size() == 3);
  CHECK(rows[0]["policy"] == "cpu-target-50");
  CHECK(rows[1]["policy"] == "aws-step-cpu");
  CHECK(rows[2]["policy"] == "hpa-cpu");
  for (const auto& row : rows) {
    for (const char* key : {"policy", "instance_hours", "slo_violation_seconds", "error_rate",
                            "p99_ms", "scale_out_count", "scale_in_count", "on_frontier"})
      CHECK_MESSAGE(row.contains(key), key);
    CHECK(row["instance_hours"].get<double>() > 0);
  }
  // The frontier as defined: no row at least as good on both and better on one.
  for (const auto& a : rows) {
    bool dominated = false;
    for (const auto& b : rows) {
      const double ca = a["instance_hours"], cb = b["instance_hours"];
      const long va = a["slo_violation_seconds"], vb = b["slo_violation_seconds"];
      dominated = dominated || (cb <= ca && vb <= va && (cb < ca || vb < va));
    }
    CHECK(a["on_frontier"].get<bool>() == !dominated);
  }
  for (const char* name : {"cpu-target-50", "aws-step-cpu", "hpa-cpu"}) {
    CHECK(fs::exists(out / name / "report.json"));
    CHECK(fs::exists(out / name / "timeseries.csv"));
  }
  CHECK(nlohmann::json::parse(read_file(out / "compare.json")) == j);
  const auto csv = read_file(out / "compare.csv");
  CHECK(std::count(csv.begin(), csv.end(), '\n') == 4);
  fs::remove_all(out);
}

TEST_CASE("compare: a bad policy file is refused before anything runs, exit 2") {
  const auto r = run_process({kFlotilla, "compare", (kSource / "scenarios/flash-sale.json").string(),
                              "--sim", "--policy", "/nonexistent/policy.json"},
                             30s);
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("/nonexistent/policy.json") != std::string::npos);
  CHECK(r.out.empty());
}

TEST_CASE("run --sim: opens no socket and starts no process (under a filter that refuses both)") {
  const std::string sandbox = WITHOUT_SOCKETS_OR_PROCESSES;
  const auto out = fresh_temp_dir("sim-sandboxed");
  const std::string scenario = (kSource / "scenarios/flash-sale.json").string();
  const auto sim =
      run_process({sandbox, kFlotilla, "run", scenario, "--sim", "--quiet", "--out", out.string()},
                  60s);
  INFO(sim.out, sim.err);
  CHECK(sim.exit_code == 0);
  CHECK(nlohmann::json::parse(read_file(out / "report.json"))["passed"] == true);
  // The filter bites: the same scenario live cannot even open its listener.
  const auto live =
      run_process({sandbox, kFlotilla, "run", scenario, "--quiet", "--out", out.string()}, 60s);
  INFO(live.out, live.err);
  CHECK(live.exit_code != 0);
  fs::remove_all(out);
}
