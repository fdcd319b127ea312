#pragma once
// `flotilla run`: assembles one live system (balancer + target group + group + collector +
// policies) from a scenario, replays its traffic and faults, checks its expectations and writes
// the report. Returns the process exit code (0: every expectation held; 1: one failed or the
// run broke). User mistakes throw flotilla::UserError.
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>

namespace flotilla {

struct RunOptions {
  std::string scenario_path;
  std::string out_dir;                // empty: runs/<name>-<time>/
  std::optional<std::uint64_t> seed;  // overrides the scenario's seed
  bool quiet = false;                 // no live progress line
  std::string worker_executable;      // empty: flotilla-worker beside this executable
};

int run_scenario(const RunOptions& options, std::ostream& out);

// The flotilla-worker executable beside the running flotilla binary (/proc/self/exe).
std::string default_worker_executable();

}  // namespace flotilla
