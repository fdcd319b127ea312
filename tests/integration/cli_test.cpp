// The CLI as a user runs it: the real binaries, the repository's own files.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "support/files.h"
#include "support/paths.h"
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
