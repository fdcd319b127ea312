// `flotilla policy replay` as a user runs it: the real binary, a shipped policy, a metric file.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
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

// One row a minute from 09:00: 30 x 10, 80 x 3 (a scale-out), 10 x 15 (a scale-in), 10 x 2.
std::string rising_and_falling_csv() {
  std::ostringstream text;
  text << "timestamp,value\n";
  for (int i = 0; i < 30; ++i) {
    const int value = i < 10 ? 30 : i < 13 ? 80 : 10;
    char stamp[32];
    std::snprintf(stamp, sizeof stamp, "2026-11-24T09:%02d:00Z", i);
    text << stamp << "," << value << "\n";
  }
  return text.str();
}

const std::string kPolicy = (kSource / "policies/aws-cpu-target-50.json").string();

}  // namespace

TEST_CASE("policy replay: prints each decision at the file's time, and a summary, exit 0") {
  const auto dir = fresh_temp_dir("replay-text");
  const std::string metric = (dir / "cpu.csv").string();
  std::ofstream(metric) << rising_and_falling_csv();
  const auto r = run_process(
      {kFlotilla, "policy", "replay", kPolicy, "--metric", metric, "--capacity", "2"}, 30s);
  INFO(r.out, r.err);
  CHECK(r.exit_code == 0);
  const std::vector<std::string> want = {
      "replaying aws-cpu-target-50 (target_tracking) over " + metric +
          ": 30 periods of 60s from 2026-11-24T09:00:00Z (30 with a value); capacity 2, min 1, "
          "max 10",
      "2026-11-24T09:12:00Z  aws-cpu-target-50 [3 of 3 periods > 50] 80, 80, 80 -> raw 4: "
      "desired 2 -> 4",
      "2026-11-24T09:27:00Z  aws-cpu-target-50 [15 of 15 periods < 45] 10, 10, 10 -> raw 1: "
      "desired 4 -> 1",
      "2 decisions; desired capacity 2 at the start, 1 at the end (1 to 4)",
  };
  CHECK(lines_of(r.out) == want);
  CHECK(r.err.empty());
  fs::remove_all(dir);
}

TEST_CASE("policy replay --json: report.json's decisions, with the policy and the period") {
  const auto dir = fresh_temp_dir("replay-json");
  const std::string metric = (dir / "cpu.csv").string();
  std::ofstream(metric) << rising_and_falling_csv();
  // --capacity defaults to --min.
  const auto r = run_process(
      {kFlotilla, "policy", "replay", kPolicy, "--metric", metric, "--min", "2", "--json"}, 30s);
  INFO(r.out, r.err);
  REQUIRE(r.exit_code == 0);
  const nlohmann::json doc = nlohmann::json::parse(r.out);
  CHECK(doc.at("policy") == "aws-cpu-target-50");
  CHECK(doc.at("type") == "target_tracking");
  CHECK(doc.at("period") == 60);
  CHECK(doc.at("start") == "2026-11-24T09:00:00Z");
  CHECK(doc.at("capacity") ==
        nlohmann::json{{"initial", 2}, {"min", 2}, {"max", 10}, {"final", 2}});
  const nlohmann::json& decisions = doc.at("decisions");
  // 09:12 out, 09:27 in; at 09:28 and 09:29 the policy still asks for 1: logged, held at min.
  REQUIRE(decisions.size() == 4);
  // 2026-11-24T09:12:00Z in Unix seconds: the newest row the decision used.
  CHECK(decisions[0].at("t") == 1795511520.0);
  CHECK(decisions[0].at("desired_before") == 2);
  CHECK(decisions[0].at("desired_after") == 4);
  CHECK(decisions[0].at("policies")[0].at("rule") == "3 of 3 periods > 50");
  CHECK(decisions[0].at("policies")[0].at("datapoints").back() ==
        nlohmann::json{{"t", 1795511520.0}, {"value", 80.0}});
  // ceil(4 x 10 / 50) = 1, held at the minimum of 2.
  for (std::size_t i = 1; i < 4; ++i) {
    CAPTURE(i);
    CHECK(decisions[i].at("t") == 1795512420.0 + 60.0 * static_cast<double>(i - 1));
    CHECK(decisions[i].at("desired_before") == (i == 1 ? 4 : 2));
    CHECK(decisions[i].at("desired_after") == 2);
    CHECK(decisions[i].at("policies")[0].at("raw") == 1);
    CHECK(decisions[i].at("policies")[0].at("clamped_by") == nlohmann::json::array({"min"}));
  }
  fs::remove_all(dir);
}

TEST_CASE("policy replay: mistakes exit 2 and say what was expected") {
  const auto dir = fresh_temp_dir("replay-bad");
  const std::string good = (dir / "good.csv").string();
  std::ofstream(good) << rising_and_falling_csv();
  const std::string backwards = (dir / "backwards.csv").string();
  std::ofstream(backwards) << "timestamp,value\n0,30\n60,31\n30,32\n";
  const std::string no_header = (dir / "no-header.csv").string();
  std::ofstream(no_header) << "0,30\n60,31\n";
  const std::string shape = (dir / "shape.json").string();
  std::ofstream(shape) << R"({"MetricDataResults": []})";
  struct Row {
    std::vector<std::string> args;
    std::string says;
  };
  const Row rows[] = {
      {{kPolicy, "--metric", backwards},
       backwards + ": line 4: expected a timestamp after 60 (time going forwards), got 30"},
      {{kPolicy, "--metric", no_header},
       no_header + ": line 1: expected the header timestamp,value, got \"0,30\""},
      {{kPolicy, "--metric", shape},
       shape + ": expected the output of `aws cloudwatch get-metric-statistics`"},
      {{kPolicy, "--metric", (dir / "missing.csv").string()},
       (dir / "missing.csv").string() + ": expected an existing file (not found)"},
      {{(dir / "missing-policy.json").string(), "--metric", good}, "missing-policy.json"},
      {{kPolicy, "--metric", good, "--capacity", "11"},
       "--capacity: expected a number from --min (1) to --max (10), got 11"},
      {{kPolicy, "--metric", good, "--min", "3", "--max", "2"},
       "--max: expected a number >= 1 and >= --min (3), got 2"},
      {{kPolicy, "--metric", good, "--max", "lots"}, "--max"},
      {{kPolicy}, "--metric"},
  };
  for (const Row& row : rows) {
    std::vector<std::string> argv = {kFlotilla, "policy", "replay"};
    argv.insert(argv.end(), row.args.begin(), row.args.end());
    const auto r = run_process(argv, 30s);
    CAPTURE(row.says);
    INFO(r.out, r.err);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find(row.says) != std::string::npos);
    CHECK(r.out.empty());
  }
  fs::remove_all(dir);
}
