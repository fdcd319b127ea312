// A scenario's expectations as a user and a CI system see them: the exit code, the summary's
// PASS and FAIL lines with their observed values, report.json, and `--junit FILE`.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "support/files.h"
#include "support/paths.h"
#include "support/subprocess.h"

using namespace flotilla::test;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

// Ten seconds at 50 requests/s over two workers, in virtual time; the p99 bound cannot hold (a
// request takes 20 ms on average), the others do.
std::string write_scenario(const fs::path& dir) {
  const auto path = (dir / "expect-fails.json").string();
  nlohmann::json doc = nlohmann::json::parse(R"({
    "name": "expect-fails", "duration": "10s",
    "fleet": { "min": 2, "max": 2 },
    "traffic": { "start_rps": 50, "stages": [ { "duration": "10s", "target": 50 } ] },
    "expect": [ { "metric": "success_rate", "min": 0.99 },
                { "metric": "in_service", "at": "5s", "min": 2 },
                { "metric": "p99_ms", "after": "2s", "stat": "max", "max": 0.001 },
                { "metric": "availability", "min": 0.9 } ] })");
  doc["fleet"]["profile"] = (kSource / "fleet/standard.json").string();
  std::ofstream(path) << doc.dump(2);
  return path;
}

}  // namespace

TEST_CASE("run --sim: a failed expectation exits 1, summary, report and JUnit say which") {
  const auto dir = fresh_temp_dir("expect-fails");
  const auto scenario = write_scenario(dir);
  const auto junit = dir / "junit.xml";
  const auto r = run_process({kFlotilla, "run", scenario, "--sim", "--quiet", "--out",
                              (dir / "out").string(), "--junit", junit.string()},
                             60s);
  INFO(r.out, r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.out.find("PASS  success_rate >= 0.99") != std::string::npos);
  CHECK(r.out.find("PASS  in_service at 5s >= 2") != std::string::npos);
  CHECK(r.out.find("FAIL  max p99_ms after 2s <= 0.001   observed ") != std::string::npos);
  CHECK(r.out.find("PASS  availability >= 0.9") != std::string::npos);
  CHECK(r.out.find("SLO          p99 <= 500ms") != std::string::npos);
  CHECK(r.out.find("Result: FAILED") != std::string::npos);

  const auto report = nlohmann::json::parse(read_file(dir / "out/report.json"));
  CHECK(report.at("passed") == false);
  const auto& e = report.at("expectations");
  REQUIRE(e.size() == 4);
  CHECK(e[2].at("passed") == false);
  CHECK(e[2].at("observed").get<double>() > 1);
  CHECK(e[2].at("window") == nlohmann::json{{"after", 2.0}});
  CHECK(report.at("slo").at("availability") == 0.999);
  CHECK(report.at("slo").at("throughput_rps").get<double>() > 40);

  const std::string xml = read_file(junit);
  CAPTURE(xml);
  CHECK(xml.find("<testsuite name=\"expect-fails\" tests=\"4\" failures=\"1\"") !=
        std::string::npos);
  CHECK(xml.find("<testcase name=\"max p99_ms after 2s &lt;= 0.001\" classname=\"expect-fails\" "
                 "time=\"0\">\n      <failure message=\"observed ") != std::string::npos);
  CHECK(xml.find("<testcase name=\"success_rate &gt;= 0.99\" classname=\"expect-fails\" "
                 "time=\"0\"/>") != std::string::npos);
  fs::remove_all(dir);
}

TEST_CASE("run --junit: a file that cannot be written is refused before the run (exit 2)") {
  const auto dir = fresh_temp_dir("expect-junit-bad");
  const auto scenario = write_scenario(dir);
  const auto r = run_process({kFlotilla, "run", scenario, "--sim", "--quiet", "--out",
                              (dir / "out").string(), "--junit", "/nonexistent/dir/junit.xml"},
                             60s);
  INFO(r.out, r.err);
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("--junit /nonexistent/dir/junit.xml: expected a file that can be written") !=
        std::string::npos);
  CHECK_FALSE(fs::exists(dir / "out/report.json"));
  fs::remove_all(dir);
}

// A run that breaks: no worker ever passes the target group's health check (a matcher that no
// /health answer meets), so the initial fleet never comes up. In virtual time the fleet-ready
// deadline passes at once.
TEST_CASE("run --sim: a run that breaks exits 1 and says why, on stderr and in the JUnit file") {
  const auto dir = fresh_temp_dir("run-breaks");
  nlohmann::json doc = nlohmann::json::parse(read_file(kSource / "scenarios/steady.json"));
  doc["fleet"]["profile"] = (kSource / "fleet/standard.json").string();
  doc["policies"] = {(kSource / "policies/cpu-target-50.json").string()};
  doc["balancer"]["health_check"] = {{"matcher", "418"}};
  const auto scenario = (dir / "never-healthy.json").string();
  std::ofstream(scenario) << doc.dump(2);
  const auto junit = dir / "junit.xml";
  const auto r = run_process({kFlotilla, "run", scenario, "--sim", "--out", (dir / "out").string(),
                              "--junit", junit.string()},
                             60s);
  INFO(r.out, r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("flotilla: the initial workers did not become healthy in time") !=
        std::string::npos);
  CHECK(r.out.find("launching 2 workers") != std::string::npos);
  CHECK(r.out.find("fleet ready") == std::string::npos);
  CHECK(r.out.find("Result: PASSED") == std::string::npos);
  const std::string xml = read_file(junit);
  CAPTURE(xml);
  CHECK(xml.find("tests=\"1\" failures=\"1\"") != std::string::npos);
  CHECK(xml.find("<failure message=\"the initial workers did not become healthy in time\" "
                 "type=\"run\">") != std::string::npos);

  // The same scenario with a matcher the workers meet runs and passes: the matcher alone broke it.
  doc["balancer"]["health_check"] = {{"matcher", "200"}};
  std::ofstream(scenario) << doc.dump(2);
  const auto ok = run_process(
      {kFlotilla, "run", scenario, "--sim", "--quiet", "--out", (dir / "out-ok").string()}, 60s);
  INFO(ok.out, ok.err);
  CHECK(ok.exit_code == 0);
  fs::remove_all(dir);
}
