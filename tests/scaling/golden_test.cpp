// Golden tests: every policy file shipped in policies/ replays a recorded metric series in
// virtual time (the scaling loop over a group of idle workers) and its decisions are compared
// with the ones recorded in tests/scaling/golden/<file>.json. A change of behaviour shows up as
// a diff of that file: rerun with FLOTILLA_UPDATE_GOLDEN=1 to rewrite the expectations, and
// review the diff.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/config.h"
#include "replay_support.h"
#include "scaling/decision_log.h"

using namespace flotilla;
using flotilla::testing::load_series;
using flotilla::testing::make_replay;
using flotilla::testing::Series;

namespace fs = std::filesystem;

namespace {

// Replays `series` against the policy in `policy_file`; returns the decision log (times in
// seconds since the start), reduced to what the golden file records.
nlohmann::json replay(const std::string& policy_file, const Series& series) {
  const auto replay = make_replay({policy_file}, series);
  replay->run();
  nlohmann::json out = nlohmann::json::array();
  for (const auto& r : decisions_json(replay->loop().records(), Time::zero())) {
    nlohmann::json p = r["policies"][0];
    out.push_back({{"t", r["t"]},
                   {"desired_before", r["desired_before"]},
                   {"desired_after", r["desired_after"]},
                   {"rule", p["rule"]},
                   {"raw", p["raw"]},
                   {"clamped_by", p["clamped_by"]},
                   {"reason", r["reason"]}});
  }
  return out;
}

}  // namespace

TEST_CASE("Golden: every shipped policy file replays its recorded series as recorded") {
  const fs::path policies = fs::path(FLOTILLA_SOURCE_DIR) / "policies";
  const fs::path golden = fs::path(FLOTILLA_SOURCE_DIR) / "tests/scaling/golden";
  const bool update = std::getenv("FLOTILLA_UPDATE_GOLDEN") != nullptr;
  int replayed = 0;
  for (const auto& entry : fs::directory_iterator(policies)) {
    const std::string name = entry.path().filename().string();
    if (name.find(".alarm.") != std::string::npos) continue;  // used by its policy
    CAPTURE(name);
    const fs::path expected_file = golden / (name + ".golden.json");
    REQUIRE_MESSAGE(fs::exists(expected_file),
                    "no golden file: run with FLOTILLA_UPDATE_GOLDEN=1 to record one");
    nlohmann::json expected = load_json_file(expected_file.string());
    const nlohmann::json decisions =
        replay(entry.path().string(), load_series(expected.at("series")));
    if (update) {
      expected["decisions"] = decisions;
      std::ofstream(expected_file) << expected.dump(2) << "\n";
    }
    // Compared as text so that a failure shows the first differing decision.
    CHECK(decisions.dump(1) == expected.at("decisions").dump(1));
    CHECK_FALSE(decisions.empty());  // a series that makes no decision checks nothing
    ++replayed;
  }
  CHECK(replayed >= 7);
}
