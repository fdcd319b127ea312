// The CLI as a user runs it: the real binaries, the repository's own files.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "support/files.h"
#include "support/paths.h"
#include "support/pty.h"
#include "support/subprocess.h"

using namespace flotilla::test;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

TEST_CASE("validate: every shipped file in fleet/, policies/ and scenarios/ is valid") {
  std::vector<std::string> argv = {kFlotilla, "validate"};
  int files = 0;
  for (const char* folder : {"fleet", "policies", "scenarios"}) {
    for (const auto& entry : fs::directory_iterator(kSource / folder)) {
      if (entry.path().extension() != ".json") continue;
      argv.push_back(entry.path().string());
      ++files;
    }
  }
  CHECK(files >= 4);
  const auto r = run_process(argv, 30s);
  INFO(r.out, r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("FAIL") == std::string::npos);
}

TEST_CASE("validate: a mistake names the file, the field and what was expected, exit 2") {
  const auto dir = fresh_temp_dir("validate");
  const auto bad = (dir / "bad-scenario.json").string();
  std::ofstream(bad) << R"({"name":"x","fleet":{"profile":")"
                     << (kSource / "fleet/standard.json").string()
                     << R"(","min":1,"max":2},"traffic":{"stages":[{"duration":"5s","target":10},
                          {"duration":"5s","target":"lots"}]}})";
  const auto r = run_process({kFlotilla, "validate", bad}, 30s);
  INFO(r.out, r.err);
  CHECK(r.exit_code == 2);
  CHECK(r.out.find(bad) != std::string::npos);
  CHECK(r.out.find("/traffic/stages/1/target") != std::string::npos);
  CHECK(r.out.find("expected") != std::string::npos);
  fs::remove_all(dir);
}

TEST_CASE("run: user mistakes exit 2 with a message, and start nothing") {
  struct Row {
    std::vector<std::string> args;
    std::string says;
  };
  const Row rows[] = {
      {{"run", "/nonexistent/scenario.json"}, "/nonexistent/scenario.json"},
      {{"run"}, "scenario"},
      {{"run", (kSource / "scenarios/steady.json").string(), "--seed", "abc"}, "--seed"},
      {{"frobnicate"}, "frobnicate"},
      {{"run", (kSource / "scenarios/steady.json").string(), "--worker", "/nonexistent/worker"},
       "/nonexistent/worker"},
  };
  for (const auto& row : rows) {
    std::vector<std::string> argv = {kFlotilla};
    argv.insert(argv.end(), row.args.begin(), row.args.end());
    const auto r = run_process(argv, 30s);
    CAPTURE(row.says);
    INFO(r.out, r.err);
    CHECK(r.exit_code == 2);
    CHECK((r.err + r.out).find(row.says) != std::string::npos);
  }
}

namespace {

// A scenario that refers to a profile missing its capacity: the mistake is in another file.
std::string write_scenario_with_bad_profile(const fs::path& dir) {
  std::ofstream(dir / "bad-profile.json") << R"({"name":"p","service_time":{"mean":"10ms"},
                                                 "capacity":"many"})";
  const auto path = (dir / "uses-bad-profile.json").string();
  std::ofstream(path)
      << R"({"name":"x","fleet":{"profile":")" << (dir / "bad-profile.json").string()
      << R"(","min":1,"max":2},"traffic":{"stages":[{"duration":"5s","target":10}]}})";
  return path;
}

std::string write_bad_stage_scenario(const fs::path& dir) {
  const auto path = (dir / "bad-scenario.json").string();
  std::ofstream(path)
      << R"({"name":"x","fleet":{"profile":")" << (kSource / "fleet/standard.json").string()
      << R"(","min":1,"max":2},"traffic":{"stages":[{"duration":"5s","target":"lots"}]}})";
  return path;
}

// flash-sale with every path made absolute, so it runs from a scratch folder, plus `extra`
// expectations.
std::string write_flash_sale(const fs::path& dir, const nlohmann::json& extra) {
  auto doc = nlohmann::json::parse(read_file(kSource / "scenarios/flash-sale.json"));
  doc["fleet"]["profile"] = (kSource / doc["fleet"]["profile"].get<std::string>()).string();
  for (auto& p : doc["policies"]) p = (kSource / p.get<std::string>()).string();
  for (const auto& e : extra) doc["expect"].push_back(e);
  const auto path = (dir / "flash-sale.json").string();
  std::ofstream(path) << doc.dump();
  return path;
}

// A step policy that works but removes capacity on a high alarm: one lint warning.
std::string write_wrong_way_policy(const fs::path& dir) {
  std::ofstream(dir / "high.alarm.json")
      << R"({"AlarmName": "high", "Namespace": "AWS/EC2", "MetricName": "CPUUtilization",
             "Statistic": "Average", "Period": 60, "EvaluationPeriods": 2, "Threshold": 70,
             "ComparisonOperator": "GreaterThanThreshold"})";
  const auto path = (dir / "wrong-way.json").string();
  std::ofstream(path) << R"({"type": "step_scaling", "alarm": "high.alarm.json",
                             "steps": [{"lower": 0, "adjustment": -1}]})";
  return path;
}

// A step policy on the alarm write_wrong_way_policy() writes, with no step from 10 to 20 (an
// error).
std::string write_gap_policy(const fs::path& dir) {
  const auto path = (dir / "gap.json").string();
  std::ofstream(path) << R"({"type": "step_scaling", "alarm": "high.alarm.json", "steps": [
      {"lower": 0, "upper": 10, "adjustment": 1}, {"lower": 20, "adjustment": 2}]})";
  return path;
}

// A user mistake: exit 2, nothing on standard output, and standard error says `part`.
void check_refused(const std::vector<std::string>& argv, const std::string& part) {
  const auto r = run_process(argv, 30s);
  INFO(r.out, r.err);
  CHECK(r.exit_code == 2);
  CHECK(r.out.empty());
  CHECK(r.err.find(part) != std::string::npos);
}

const std::regex kSgr("\x1b\\[[0-9;]*m");  // a colour code (Select Graphic Rendition)

bool has_colour(const std::string& text) { return std::regex_search(text, kSgr); }

}  // namespace

TEST_CASE("validate: a refused file shows FAIL alone, never ok before it") {
  const auto dir = fresh_temp_dir("validate-fail-alone");
  const std::string good = (kSource / "fleet/standard.json").string();
  const std::string bad = write_bad_stage_scenario(dir);
  const std::string bad_profile = write_scenario_with_bad_profile(dir);
  const std::string missing = (dir / "missing.json").string();
  const auto r = run_process({kFlotilla, "validate", good, bad, bad_profile, missing}, 30s);
  INFO(r.out, r.err);
  CHECK(r.exit_code == 2);
  const auto lines = lines_of(r.out);
  REQUIRE(lines.size() == 4);
  CHECK(lines[0].rfind("ok   " + good + ": worker profile", 0) == 0);
  CHECK(lines[1].rfind("FAIL " + bad + ": /traffic/stages/0/target: expected", 0) == 0);
  // The file asked about comes first, then the one the mistake is in.
  CHECK(lines[2].rfind("FAIL " + bad_profile + ": " + (dir / "bad-profile.json").string() +
                           ": /capacity: expected",
                       0) == 0);
  CHECK(lines[3].rfind("FAIL " + missing + ": expected an existing file", 0) == 0);
  for (std::size_t i = 1; i < lines.size(); ++i) {
    CAPTURE(lines[i]);
    CHECK(lines[i].find("ok ") == std::string::npos);
    CHECK(lines[i].find("FAIL", 1) == std::string::npos);
  }
  fs::remove_all(dir);
}

TEST_CASE("validate --json: one object per file with its kind and verdict, the same exit codes") {
  const auto dir = fresh_temp_dir("validate-json");
  const std::string good = (kSource / "fleet/standard.json").string();
  const std::string scenario = (kSource / "scenarios/flash-sale.json").string();
  const std::string bad = write_bad_stage_scenario(dir);
  const std::string bad_profile = write_scenario_with_bad_profile(dir);
  const std::string unknown = (dir / "unknown.json").string();
  std::ofstream(unknown) << "{}";

  const auto r = run_process(
      {kFlotilla, "validate", "--json", good, scenario, bad, bad_profile, unknown}, 30s);
  INFO(r.out, r.err);
  CHECK(r.exit_code == 2);
  const auto doc = nlohmann::json::parse(r.out);  // standard output is the JSON alone
  REQUIRE(doc.is_array());
  REQUIRE(doc.size() == 5);
  struct Row {
    std::string file, kind;
    bool ok;
    std::string error_file, field;
  };
  const Row rows[] = {
      {good, "profile", true, "", ""},
      {scenario, "scenario", true, "", ""},
      {bad, "scenario", false, bad, "/traffic/stages/0/target"},
      {bad_profile, "scenario", false, (dir / "bad-profile.json").string(), "/capacity"},
      {unknown, "unknown", false, unknown, ""},
  };
  for (std::size_t i = 0; i < 5; ++i) {
    const Row& row = rows[i];
    const auto& e = doc[i];
    CAPTURE(e.dump());
    CHECK(e["file"] == row.file);
    CHECK(e["kind"] == row.kind);
    CHECK(e["ok"] == row.ok);
    if (row.ok) {
      CHECK(e.contains("summary"));
      CHECK_FALSE(e.contains("error"));
      continue;
    }
    REQUIRE(e.contains("error"));
    CHECK(e["error"]["file"] == row.error_file);
    CHECK(e["error"]["field"] == row.field);
    CHECK(e["error"]["expected"].is_string());
    CHECK(e["error"]["message"].get<std::string>().find(row.file) == 0);
  }

  const auto ok = run_process({kFlotilla, "validate", "--json", good, scenario}, 30s);
  INFO(ok.out, ok.err);
  CHECK(ok.exit_code == 0);
  CHECK(nlohmann::json::parse(ok.out).size() == 2);
  fs::remove_all(dir);
}

TEST_CASE("policy lint --json: the findings with severity, policy, field and message") {
  const auto dir = fresh_temp_dir("lint-json");
  const auto wrong_way = write_wrong_way_policy(dir);
  const auto gap = write_gap_policy(dir);
  const std::string clean = (kSource / "policies/cpu-target-50.json").string();

  struct Row {
    std::vector<std::string> files;
    int exit_code;
    std::vector<std::vector<std::string>> want;  // severity, policy, field, message part
  };
  const Row rows[] = {
      {{clean}, 0, {}},
      {{wrong_way}, 0, {{"warning", wrong_way, "/steps/0/adjustment", "removes capacity"}}},
      {{wrong_way, gap},
       2,
       {{"warning", wrong_way, "/steps/0/adjustment", "removes capacity"},
        {"error", gap, "/steps/1/lower", "gap"}}},
  };
  for (const Row& row : rows) {
    std::vector<std::string> argv = {kFlotilla, "policy", "lint", "--json"};
    argv.insert(argv.end(), row.files.begin(), row.files.end());
    const auto r = run_process(argv, 30s);
    INFO(r.out, r.err);
    CHECK(r.exit_code == row.exit_code);
    const auto doc = nlohmann::json::parse(r.out);
    REQUIRE(doc.is_array());
    REQUIRE(doc.size() == row.want.size());
    for (std::size_t i = 0; i < row.want.size(); ++i) {
      CHECK(doc[i]["severity"] == row.want[i][0]);
      CHECK(doc[i]["policy"] == row.want[i][1]);
      CHECK(doc[i]["field"] == row.want[i][2]);
      CHECK(doc[i]["message"].get<std::string>().find(row.want[i][3]) != std::string::npos);
    }
  }
  fs::remove_all(dir);
}

TEST_CASE("policy import --json: the native policy alone, a file flotilla accepts") {
  const auto dir = fresh_temp_dir("import-json");
  const std::string aws = (kSource / "policies/aws-cpu-target-50.json").string();
  const auto r = run_process({kFlotilla, "policy", "import", "--json", aws}, 30s);
  INFO(r.out, r.err);
  CHECK(r.exit_code == 0);
  const auto doc = nlohmann::json::parse(r.out);
  CHECK(doc["type"] == "target_tracking");
  CHECK(doc["target_value"] == 50);
  const auto plain = run_process({kFlotilla, "policy", "import", aws}, 30s);
  CHECK(nlohmann::json::parse(plain.out) == doc);
  const auto native = (dir / "native.json").string();
  std::ofstream(native) << r.out;
  const auto check = run_process({kFlotilla, "validate", native}, 30s);
  INFO(check.out, check.err);
  CHECK(check.exit_code == 0);

  check_refused({kFlotilla, "policy", "import", "--json", "/nonexistent.json"},
                "/nonexistent.json");
  fs::remove_all(dir);
}

TEST_CASE("run --sim on a pipe: plain periodic lines, no carriage return, no escape code") {
  const auto out = fresh_temp_dir("run-pipe");
  const auto r = run_process({kFlotilla, "run", (kSource / "scenarios/flash-sale.json").string(),
                              "--sim", "--out", out.string()},
                             60s);
  INFO(r.out, r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find('\r') == std::string::npos);
  CHECK(r.out.find('\x1b') == std::string::npos);
  CHECK(r.err.find('\x1b') == std::string::npos);
  CHECK(r.out.find("[ 45s/90s] offered") != std::string::npos);  // the progress, line by line
  CHECK(r.out.find("    PASS  error_rate") != std::string::npos);
  CHECK(r.out.find("  Result: PASSED\n") != std::string::npos);
  fs::remove_all(out);
}

TEST_CASE("run --sim on a terminal: a rewritten progress line and colour, none with NO_COLOR") {
  const auto dir = fresh_temp_dir("run-pty");
  const std::string scenario =
      write_flash_sale(dir, nlohmann::json::array({{{"metric", "max_in_service"}, {"min", 100}}}));
  const std::vector<std::string> argv = {kFlotilla, "run",   scenario,
                                         "--sim",   "--out", (dir / "out").string()};

  const auto coloured = run_on_pty(argv, {{"TERM", "xterm"}, {"NO_COLOR", std::nullopt}}, 60s);
  INFO(coloured.out);
  CHECK(coloured.exit_code == 1);  // the impossible expectation fails
  CHECK(coloured.out.find("\r\x1b[K[") != std::string::npos);
  CHECK(coloured.out.find("\x1b[32mPASS\x1b[0m  error_rate") != std::string::npos);
  CHECK(coloured.out.find("\x1b[31mFAIL\x1b[0m  max_in_service >= 100") != std::string::npos);
  CHECK(coloured.out.find("\x1b[31mResult: FAILED\x1b[0m") != std::string::npos);

  // NO_COLOR takes the colour away, not the progress line.
  const auto no_color = run_on_pty(argv, {{"TERM", "xterm"}, {"NO_COLOR", "1"}}, 60s);
  INFO(no_color.out);
  CHECK(no_color.exit_code == 1);
  CHECK_FALSE(has_colour(no_color.out));
  CHECK(no_color.out.find("\r\x1b[K[") != std::string::npos);
  CHECK(no_color.out.find("    FAIL  max_in_service >= 100") != std::string::npos);
  CHECK(no_color.out.find("  Result: FAILED") != std::string::npos);

  // A dumb terminal gets neither: plain lines, as on a pipe.
  const auto dumb = run_on_pty(argv, {{"TERM", "dumb"}, {"NO_COLOR", std::nullopt}}, 60s);
  INFO(dumb.out);
  CHECK(dumb.exit_code == 1);
  CHECK(dumb.out.find('\x1b') == std::string::npos);
  CHECK(dumb.out.find("[ 45s/90s] offered") != std::string::npos);
  fs::remove_all(dir);
}

TEST_CASE(
    "validate and policy lint on a terminal: ok green, FAIL and errors red, warnings yellow") {
  const auto dir = fresh_temp_dir("validate-pty");
  const std::string good = (kSource / "fleet/standard.json").string();
  const std::string bad = write_bad_stage_scenario(dir);
  const auto wrong_way = write_wrong_way_policy(dir);
  const EnvChanges colour = {{"TERM", "xterm"}, {"NO_COLOR", std::nullopt}};
  const EnvChanges no_colour = {{"TERM", "xterm"}, {"NO_COLOR", "1"}};

  const auto v = run_on_pty({kFlotilla, "validate", good, bad}, colour, 30s);
  INFO(v.out);
  CHECK(v.exit_code == 2);
  CHECK(v.out.find("\x1b[32mok\x1b[0m   " + good) != std::string::npos);
  CHECK(v.out.find("\x1b[31mFAIL\x1b[0m " + bad) != std::string::npos);
  const auto v_plain = run_on_pty({kFlotilla, "validate", good, bad}, no_colour, 30s);
  INFO(v_plain.out);
  CHECK_FALSE(has_colour(v_plain.out));
  CHECK(v_plain.out.find("FAIL " + bad) != std::string::npos);
  // --json is for programs: no colour inside it even on a terminal.
  const auto v_json = run_on_pty({kFlotilla, "validate", "--json", good, bad}, colour, 30s);
  INFO(v_json.out);
  CHECK_FALSE(has_colour(v_json.out));

  const auto lint = run_on_pty({kFlotilla, "policy", "lint", wrong_way, bad}, colour, 30s);
  INFO(lint.out);
  CHECK(lint.exit_code == 2);
  CHECK(lint.out.find("\x1b[33mwarning\x1b[0m: removes capacity") != std::string::npos);
  CHECK(lint.out.find("/traffic/stages/0/target: \x1b[31merror\x1b[0m") != std::string::npos);
  const auto lint_plain = run_on_pty({kFlotilla, "policy", "lint", wrong_way, bad}, no_colour, 30s);
  INFO(lint_plain.out);
  CHECK_FALSE(has_colour(lint_plain.out));
  fs::remove_all(dir);
}

TEST_CASE("policy lint: one line per finding, a summary, and exit 2 only when one is an error") {
  const auto dir = fresh_temp_dir("lint-plain");
  const auto wrong_way = write_wrong_way_policy(dir);
  const auto gap = write_gap_policy(dir);
  const std::string clean = (kSource / "policies/cpu-target-50.json").string();
  // A scenario is linted through its policies, knowing the fleet: at a minimum of 0 no worker
  // publishes the CPU that would scale it out.
  const auto min0 = (dir / "min0.json").string();
  nlohmann::json scenario = {
      {"name", "min0"},
      {"duration", "10s"},
      {"fleet", {{"profile", (kSource / "fleet/standard.json").string()}, {"min", 0}, {"max", 2}}},
      {"policies", {clean}},
      {"traffic", {{"start_rps", 5}, {"stages", {{{"duration", "10s"}, {"target", 5}}}}}}};
  std::ofstream(min0) << scenario.dump(2);
  const std::string wrong_way_line =
      wrong_way +
      ": /steps/0/adjustment: warning: removes capacity when CPUUtilization is high: check the "
      "alarm's comparison\n";

  struct Row {
    const char* name;
    std::vector<std::string> files;
    int exit_code;
    std::string out;  // all of standard output
  };
  const Row rows[] = {
      {"a clean policy", {clean}, 0, "1 file: 0 errors, 0 warnings\n"},
      {"a shipped scenario",
       {(kSource / "scenarios/scale-in.json").string()},
       0,
       "1 file: 0 errors, 0 warnings\n"},
      {"a warning alone exits 0", {wrong_way}, 0, wrong_way_line + "1 file: 0 errors, 1 warning\n"},
      {"an error exits 2, in file order",
       {wrong_way, gap},
       2,
       wrong_way_line + gap +
           ": /steps/1/lower: error: gap: no step covers 10 to 20 (step 0 ends at 10)\n"
           "2 files: 1 error, 1 warning\n"},
      {"a scenario's policy, at the fleet's minimum",
       {min0},
       2,
       clean +
           ": /metric: error: CPUUtilization comes from the workers: at the group's minimum of 0 "
           "there is no datapoint and the policy never scales out\n"
           "1 file: 1 error, 0 warnings\n"},
      {"a missing file is an error finding",
       {"/nonexistent/policy.json"},
       2,
       "/nonexistent/policy.json: error: an existing file (not found)\n"
       "1 file: 1 error, 0 warnings\n"},
  };
  for (const Row& row : rows) {
    CAPTURE(std::string(row.name));
    std::vector<std::string> argv = {kFlotilla, "policy", "lint"};
    argv.insert(argv.end(), row.files.begin(), row.files.end());
    const auto r = run_process(argv, 30s);
    INFO(r.err);
    CHECK(r.exit_code == row.exit_code);
    CHECK(r.out == row.out);
  }

  check_refused({kFlotilla, "policy", "lint"}, "files is required");
  fs::remove_all(dir);
}

TEST_CASE("policy import: AWS step scaling with its alarm, an HPA manifest, durations scaled") {
  const auto dir = fresh_temp_dir("import-plain");
  const std::string step = (kSource / "policies/aws-step-cpu.json").string();
  const std::string alarm = (kSource / "policies/aws-step-cpu.alarm.json").string();
  const std::string hpa = (kSource / "policies/hpa-cpu.yaml").string();
  struct Row {
    const char* name;
    std::vector<std::string> args;
    std::string type;
    std::string pointer;  // a duration in the output
    std::string want;     // its value
  };
  const Row rows[] = {
      {"step: the alarm beside it, AWS's seconds as written",
       {step},
       "step_scaling",
       "/warmup",
       "60s"},
      {"step: --alarm and --time-scale",
       {step, "--alarm", alarm, "--time-scale", "0.5"},
       "step_scaling",
       "/warmup",
       "30s"},
      {"HPA manifest", {hpa}, "hpa", "/scale_down/stabilization_window", "300s"},
      {"HPA manifest, --time-scale",
       {hpa, "--time-scale", "0.5"},
       "hpa",
       "/scale_up/policies/0/period",
       "30s"},
  };
  for (const Row& row : rows) {
    CAPTURE(std::string(row.name));
    std::vector<std::string> argv = {kFlotilla, "policy", "import"};
    argv.insert(argv.end(), row.args.begin(), row.args.end());
    const auto r = run_process(argv, 30s);
    INFO(r.out, r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(r.err.empty());
    const auto doc = nlohmann::json::parse(r.out);
    CHECK(doc.at("type") == row.type);
    CHECK(doc.at(nlohmann::json::json_pointer(row.pointer)) == row.want);
    if (row.type == "step_scaling") {
      CHECK(doc.at("alarm").at("AlarmName") == "aws-step-cpu-high");
      CHECK(doc.at("steps").size() == 3);
    }
    // What it prints is a policy flotilla accepts.
    const auto native = (dir / "native.json").string();
    std::ofstream(native) << r.out;
    const auto check = run_process({kFlotilla, "validate", native}, 30s);
    INFO(check.out, check.err);
    CHECK(check.exit_code == 0);
  }

  // A mistake in the AWS file: exit 2, nothing on standard output, the file and the field named.
  const auto bad = (dir / "bad.json").string();
  std::ofstream(bad) << R"({"PolicyType": "TargetTrackingScaling",
                            "TargetTrackingConfiguration": {"TargetValue": 50}})";
  check_refused({kFlotilla, "policy", "import", bad},
                bad +
                    ": /TargetTrackingConfiguration/PredefinedMetricSpecification: expected "
                    "PredefinedMetricSpecification or CustomizedMetricSpecification");
  check_refused({kFlotilla, "policy", "import", step, "--time-scale", "0"}, "--time-scale");
  fs::remove_all(dir);
}

TEST_CASE("policy export: AWS JSON and its alarm, an HPA manifest, refused fields exit 2") {
  const auto dir = fresh_temp_dir("export-cli");
  const std::string step = (kSource / "policies/aws-step-cpu.json").string();
  const std::string alarm = (kSource / "policies/aws-step-cpu.alarm.json").string();
  const std::string hpa = (kSource / "policies/hpa-cpu.yaml").string();
  const std::string simple = (kSource / "policies/simple-cpu.json").string();
  auto read = [](const std::string& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  auto json_of = [](const std::string& text) { return nlohmann::json::parse(text); };

  // The policy on standard output, its alarm in the --alarm-out file: each the original.
  const std::string alarm_out = (dir / "alarm.json").string();
  const auto with_alarm = run_process(
      {kFlotilla, "policy", "export", step, "--to", "aws", "--alarm-out", alarm_out}, 30s);
  INFO(with_alarm.out, with_alarm.err);
  REQUIRE(with_alarm.exit_code == 0);
  CHECK(with_alarm.err.empty());
  CHECK(json_of(with_alarm.out) == json_of(read(step)));
  CHECK(json_of(read(alarm_out)) == json_of(read(alarm)));

  // Without --alarm-out: the policy alone, and a note that the alarm was not written.
  const auto no_alarm = run_process({kFlotilla, "policy", "export", step, "--to", "aws"}, 30s);
  CHECK(no_alarm.exit_code == 0);
  CHECK(json_of(no_alarm.out) == json_of(read(step)));
  CHECK(no_alarm.err.find("aws-step-cpu-high is not written: pass --alarm-out") !=
        std::string::npos);

  // A native policy at a scenario's time scale: AWS's seconds are its own divided by it.
  const auto native = run_process({kFlotilla, "policy", "export", simple, "--to", "aws",
                                   "--time-scale", "0.5", "--alarm-out", alarm_out},
                                  30s);
  INFO(native.out, native.err);
  REQUIRE(native.exit_code == 0);
  CHECK(json_of(native.out).at("Cooldown") == 12);  // "6s" at half speed
  CHECK(json_of(native.out).at("PolicyType") == "SimpleScaling");
  // What the output lacks is said on standard error.
  CHECK(native.err ==
        "flotilla: note: the policy names no AutoScalingGroupName: pass "
        "--auto-scaling-group-name to put-scaling-policy\n");

  // The manifest is YAML that imports as the original does.
  const auto manifest = run_process({kFlotilla, "policy", "export", hpa, "--to", "hpa"}, 30s);
  INFO(manifest.out, manifest.err);
  REQUIRE(manifest.exit_code == 0);
  CHECK(manifest.out.rfind("apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\n", 0) == 0);
  const std::string exported = (dir / "hpa-cpu.yaml").string();
  std::ofstream(exported) << manifest.out;
  const auto again = run_process({kFlotilla, "policy", "import", exported}, 30s);
  const auto first = run_process({kFlotilla, "policy", "import", hpa}, 30s);
  REQUIRE(again.exit_code == 0);
  CHECK(json_of(again.out) == json_of(first.out));

  const std::string target = (kSource / "policies/cpu-target-50.json").string();
  const std::string scheduled = (kSource / "policies/scheduled-business-hours.json").string();
  check_refused({kFlotilla, "policy", "export", target, "--to", "aws"},
                target + ": /scale_in_periods: expected 15");
  check_refused({kFlotilla, "policy", "export", scheduled, "--to", "hpa"},
                scheduled + ": /actions: expected no scheduled actions");
  check_refused({kFlotilla, "policy", "export", hpa, "--to", "aws", "--alarm-out", alarm_out},
                hpa + ": /kind");
  check_refused(
      {kFlotilla, "policy", "export", (kSource / "policies/aws-cpu-target-50.json").string(),
       "--to", "aws", "--alarm-out", alarm_out},
      "--alarm-out: expected a step or simple scaling policy");
  check_refused({kFlotilla, "policy", "export", step, "--to", "k8s"}, "--to");
  check_refused({kFlotilla, "policy", "export", step}, "--to is required");
  check_refused({kFlotilla, "policy", "export", step, "--to", "aws", "--time-scale", "0"},
                "--time-scale");
  fs::remove_all(dir);
}

namespace {

// A loopback port that something listens on while this lives.
class TakenPort {
 public:
  TakenPort() : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof address;
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&address), size) == 0);
    REQUIRE(::listen(fd_, 1) == 0);
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &size) == 0);
    port_ = ntohs(address.sin_port);
  }
  ~TakenPort() { ::close(fd_); }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string port() const { return std::to_string(port_); }

 private:
  int fd_;
  std::uint16_t port_ = 0;
};

}  // namespace

TEST_CASE("bad input: folders, empty files, junk, ports in use: exit 2 naming them, no output") {
  const auto dir = fresh_temp_dir("bad-input");
  const std::string folder = (dir / "folder.json").string();
  fs::create_directory(folder);
  const std::string empty = (dir / "empty.json").string();
  std::ofstream{empty};
  const std::string junk = (dir / "junk.json").string();
  {
    std::ofstream out(junk, std::ios::binary);
    for (int i = 0; i < 512; ++i) out.put(static_cast<char>((i * 37) & 0xff));
  }
  const std::string out = (dir / "out").string();
  const std::string serve_file = (kSource / "scenarios/serve-demo.json").string();
  const std::string steady = (kSource / "scenarios/steady.json").string();
  const std::string policy = (kSource / "policies/cpu-target-50.json").string();
  const TakenPort taken;
  const std::string worker = std::string(FLOTILLA_BIN_DIR) + "/flotilla-worker";

  struct Row {
    const char* name;
    std::vector<std::string> argv;
    std::string says;  // in the message, besides exit 2
  };
  const Row rows[] = {
      {"run: a folder",
       {kFlotilla, "run", folder, "--out", out},
       folder + ": expected a JSON file, got a folder"},
      {"run: an empty file",
       {kFlotilla, "run", empty, "--out", out},
       empty + ": expected JSON, got an empty file"},
      {"run: binary junk",
       {kFlotilla, "run", junk, "--out", out},
       junk + ": expected valid JSON (syntax error at line 1"},
      {"run: --junit a folder",
       {kFlotilla, "run", steady, "--sim", "--junit", folder, "--out", out},
       "--junit " + folder},
      {"validate: a folder", {kFlotilla, "validate", folder}, folder + ": expected a JSON file"},
      {"policy lint: an empty file",
       {kFlotilla, "policy", "lint", empty},
       empty + ": error: a scaling policy, got an empty file"},
      {"policy import: a folder",
       {kFlotilla, "policy", "import", folder},
       folder + ": expected a scaling policy file, got a folder"},
      {"policy replay: --metric a folder",
       {kFlotilla, "policy", "replay", policy, "--metric", folder},
       folder + ": expected a metric file, got a folder"},
      {"compare: a policy that is junk",
       {kFlotilla, "compare", steady, "--policy", junk, "--sim", "--out", out},
       junk},
      {"serve: the balancer's port in use",
       {kFlotilla, "serve", serve_file, "--listen", taken.address(), "--admin", "127.0.0.1:0",
        "--out", out},
       taken.address() + " is already in use"},
      {"serve: the admin port in use",
       {kFlotilla, "serve", serve_file, "--listen", "127.0.0.1:0", "--admin", taken.address(),
        "--out", out},
       "--admin " + taken.address()},
      {"serve: --token-file a folder",
       {kFlotilla, "serve", serve_file, "--token-file", folder, "--listen", "127.0.0.1:0",
        "--admin", "127.0.0.1:0", "--out", out},
       "--token-file " + folder + ": expected a file holding a token, got a folder"},
      {"balance: --listen in use",
       {kFlotilla, "balance", "--listen", taken.address(), "--target", "127.0.0.1:1"},
       taken.address() + " is already in use"},
      {"balance: --config empty",
       {kFlotilla, "balance", "--config", empty},
       empty + ": expected JSON, got an empty file"},
      {"load: --rps not a number",
       {kFlotilla, "load", "--url", "http://127.0.0.1:1/", "--rps", "many", "--duration", "1s"},
       "--rps"},
      {"flotilla-worker: --port in use",
       {worker, "--port", taken.port()},
       taken.address() + " is already in use"},
      {"flotilla-worker: --profile a folder",
       {worker, "--profile", folder},
       folder + ": expected a JSON file, got a folder"},
      {"flotilla-worker: --capacity not a number", {worker, "--capacity", "lots"}, "--capacity"},
  };
  for (const Row& row : rows) {
    CAPTURE(std::string(row.name));
    const auto r = run_process(row.argv, 60s);
    INFO(r.out, r.err);
    CHECK(r.exit_code == 2);
    CHECK((r.err + r.out).find(row.says) != std::string::npos);
    CHECK_FALSE(fs::exists(out));
  }
  fs::remove_all(dir);
}

TEST_CASE("bad input: an unreadable file exits 2 saying so") {
  // root reads every file, so the check runs as nobody (setpriv, util-linux).
  if (::geteuid() != 0 || !fs::exists("/usr/bin/setpriv")) return;
  const auto dir = fresh_temp_dir("unreadable");
  fs::permissions(dir, fs::perms::all);
  const std::string file = (dir / "scenario.json").string();
  std::ofstream(file) << "{}";
  fs::permissions(file, fs::perms::none);
  const auto r = run_process({"/usr/bin/setpriv", "--reuid=65534", "--regid=65534",
                              "--clear-groups", kFlotilla, "validate", file},
                             30s);
  INFO(r.out, r.err);
  CHECK(r.exit_code == 2);
  CHECK(r.out.find(file + ": expected a readable file") != std::string::npos);
  fs::remove_all(dir);
}

TEST_CASE("--version: both programs print the project's version and the commit") {
  const std::regex line(R"((flotilla|flotilla-worker) \d+\.\d+\.\d+( \(commit [0-9a-f]+\))?\n)");
  for (const std::string& program :
       {kFlotilla, std::string(FLOTILLA_BIN_DIR) + "/flotilla-worker"}) {
    const auto r = run_process({program, "--version"}, 10s);
    INFO(r.out, r.err);
    CHECK(r.exit_code == 0);
    CHECK(std::regex_match(r.out, line));
    CHECK(r.err.empty());
  }
}

namespace {

// scenarios/command-python.json with its policy path made absolute and `edit` applied.
std::string write_command_scenario(const fs::path& dir, const std::string& name,
                                   const std::function<void(nlohmann::json&)>& edit) {
  auto doc = nlohmann::json::parse(read_file(kSource / "scenarios/command-python.json"));
  for (auto& p : doc["policies"]) p = (kSource / p.get<std::string>()).string();
  edit(doc);
  const auto path = (dir / (name + ".json")).string();
  std::ofstream(path) << doc.dump();
  return path;
}

}  // namespace

TEST_CASE("run: the command provider's mistakes exit 2 naming the field, and start nothing") {
  const auto dir = fresh_temp_dir("command-mistakes");
  using Json = nlohmann::json;
  struct Row {
    const char* name;
    std::function<void(Json&)> edit;
    std::vector<std::string> flags;
    const char* pointer;
    const char* says;
  };
  const Row rows[] = {
      {"missing-command",
       [](Json& d) { d["fleet"].erase("command"); },
       {},
       "/fleet/command",
       "nothing (the field is missing)"},
      {"no-port",
       [](Json& d) {
         d["fleet"]["command"] = {"python3", "-m", "http.server"};
       },
       {},
       "/fleet/command",
       "{port}"},
      {"empty-command",
       [](Json& d) { d["fleet"]["command"] = Json::array(); },
       {},
       "/fleet/command",
       "a non-empty array"},
      {"slow-fault",
       [](Json& d) {
         d["faults"][0] = {{"at", "5s"}, {"for", "5s"}, {"slow", {{"factor", 2}}}};
       },
       {},
       "/faults/0/slow",
       "control interface"},
      {"errors-fault",
       [](Json& d) {
         d["faults"].push_back({{"at", "5s"}, {"for", "5s"}, {"errors", {{"fraction", 0.5}}}});
       },
       {},
       "/faults/1/errors",
       "control interface"},
      {"bad-provider",
       [](Json& d) { d["fleet"]["provider"] = "docker"; },
       {},
       "/fleet/provider",
       "\"command\""},
      {"bad-health-check",
       [](Json& d) {
         d["fleet"]["health_check"] = {{"pth", "/"}};
       },
       {},
       "/fleet/health_check/pth",
       "did you mean \"path\"?"},
      {"sim-without-profile", [](Json&) {}, {"--sim"}, "/fleet/provider", "profile"},
  };
  for (const Row& row : rows) {
    CAPTURE(row.name);
    const auto path = write_command_scenario(dir, row.name, row.edit);
    std::vector<std::string> argv = {kFlotilla, "run", path, "--out", (dir / "out").string()};
    argv.insert(argv.end(), row.flags.begin(), row.flags.end());
    const auto r = run_process(argv, 30s);
    INFO(r.out, r.err);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find(path + ": " + row.pointer + ": ") != std::string::npos);
    CHECK(r.err.find(row.says) != std::string::npos);
    CHECK(r.out.find("launching") == std::string::npos);
  }
  CHECK_FALSE(fs::exists(dir / "out"));
  fs::remove_all(dir);
}

TEST_CASE("run --sim: the command provider with a profile runs on the profile's model") {
  const auto dir = fresh_temp_dir("command-sim");
  const auto path = write_command_scenario(dir, "modelled", [](nlohmann::json& d) {
    d["fleet"]["profile"] = (kSource / "fleet/standard.json").string();
    // The scheduled actions hold in the model too; its kill's errors are the model's business.
    d["expect"] = {{{"metric", "max_in_service"}, {"min", 4}},
                   {{"metric", "final_in_service"}, {"max", 2}}};
  });
  const auto r =
      run_process({kFlotilla, "run", path, "--sim", "--out", (dir / "out").string()}, 60s);
  INFO(r.out, r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("  Result: PASSED\n") != std::string::npos);
  fs::remove_all(dir);
}
