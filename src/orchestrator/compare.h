#pragma once
// `flotilla compare SCENARIO --policy FILE ... [--sim] [--json] [--out DIR] [--seed N]`: the
// scenario once per policy, each replacing the scenario's policies, on the same traffic, faults
// and seed, then the cost/SLO table (scenario/comparison.h).
//
// Exit code: 0, 1 if a run broke, 2 for bad input (every file is checked before anything
// runs). The scenario's expectations are shown per policy but do not change the exit code.
// With --sim the runs share the machine's cores (at most two at once); live runs go one after
// another (they would compete for the same cores and ports). Progress goes to stderr, so that
// --json's standard output is the JSON alone.
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace flotilla {

struct CompareOptions {
  std::string scenario_path;
  std::vector<std::string> policies;  // at least one
  bool simulated = false;
  bool json = false;
  std::string out_dir;  // empty: nothing written
  std::optional<std::uint64_t> seed;
  std::string worker_executable;  // empty: beside this executable
};

int compare_command(const CompareOptions& options, std::ostream& out, std::ostream& err);

}  // namespace flotilla
