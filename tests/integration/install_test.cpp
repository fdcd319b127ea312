// `make install` as a packager runs it (cmake --install into a DESTDIR), and the installed
// flotilla as a user runs it: from another folder, on an installed scenario and on the user's
// own scenario that names a profile beside it and a policy of the installed share folder.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "support/files.h"
#include "support/paths.h"
#include "support/subprocess.h"

using namespace flotilla::test;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

// `program args...` run with `dir` as its working folder.
ProcessResult run_in(const fs::path& dir, const std::string& command) {
  return run_process({"/bin/sh", "-c", "cd '" + dir.string() + "' && exec " + command}, 120s);
}

}  // namespace

TEST_CASE("install: into a DESTDIR, the installed flotilla runs anywhere and finds its data") {
  const fs::path root = fresh_temp_dir("install");
  const fs::path build = fs::path(FLOTILLA_BIN_DIR).parent_path();
  const auto installed =
      run_process({CMAKE_COMMAND, "--install", build.string(), "--prefix", "/usr/local"}, 120s,
                  {"DESTDIR=" + root.string()});
  INFO(installed.out, installed.err);
  REQUIRE(installed.exit_code == 0);

  const fs::path prefix = root / "usr/local";
  const fs::path flotilla = prefix / "bin/flotilla";
  const fs::path share = prefix / "share/flotilla";
  for (const fs::path& file :
       {flotilla, prefix / "bin/flotilla-worker", share / "fleet/standard.json",
        share / "policies/cpu-target-50.json", share / "schema/scenario.schema.json",
        share / "scenarios/trace-burst.json", share / "scenarios/traces/burst-5m.csv"}) {
    CAPTURE(file);
    CHECK(fs::is_regular_file(file));
  }

  // The same version line as the build's own.
  const auto version = run_process({flotilla.string(), "--version"}, 10s);
  CHECK(version.exit_code == 0);
  CHECK(version.out == run_process({kFlotilla, "--version"}, 10s).out);
  CHECK(version.out.starts_with("flotilla "));

  const fs::path elsewhere = fresh_temp_dir("install-cwd");
  // An installed scenario: its profile, policy and trace resolve inside share/flotilla.
  const auto shipped = run_in(elsewhere, "'" + flotilla.string() + "' run '" +
                                             (share / "scenarios/trace-burst.json").string() +
                                             "' --sim --quiet --out shipped");
  INFO(shipped.out, shipped.err);
  CHECK(shipped.exit_code == 0);
  CHECK(fs::is_regular_file(elsewhere / "shipped/report.json"));

  // The user's scenario: a profile beside it by a relative path, the policy from share/.
  const fs::path mine = elsewhere / "mine";
  fs::create_directories(mine / "profiles");
  fs::copy_file(kSource / "fleet/standard.json", mine / "profiles/mine.json");
  std::ofstream(mine / "scenario.json") << R"({
    "name": "mine",
    "fleet": { "profile": "profiles/mine.json", "min": 2, "max": 4, "desired": 2 },
    "policies": [ "policies/cpu-target-50.json" ],
    "traffic": { "stages": [ { "duration": "60s", "target": 50 } ] }
  })";
  const auto own = run_in(
      elsewhere, "'" + flotilla.string() + "' run mine/scenario.json --sim --quiet --out own");
  INFO(own.out, own.err);
  CHECK(own.exit_code == 0);
  CHECK(fs::is_regular_file(elsewhere / "own/report.json"));

  fs::remove_all(elsewhere);
  fs::remove_all(root);
}
