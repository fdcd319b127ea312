#pragma once
// One scenario run in one world: the shared core of `flotilla run` and `flotilla compare`.
// It assembles the system from the scenario (system.h) in the live or the simulated world
// (environment.h), waits for the initial workers, replays the traffic and the faults, samples
// the fleet once a second, and returns the run's record (report.h) with everything but the
// expectations' verdicts.
//
// The scenario must have been loaded and checked (load_scenario). User mistakes found while
// assembling (a policy file, the worker executable, a port in use) throw UserError before
// anything starts.
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "scenario/report.h"
#include "scenario/scenario.h"

namespace flotilla {

struct ScenarioRunSpec {
  bool simulated = false;
  std::uint64_t seed = 1;
  // Live only: the flotilla-worker executable (checked to be executable).
  std::string worker_executable;
  // Replaces the scenario's policies when set (compare).
  std::optional<std::vector<std::string>> policy_files;
  // Print the live progress line, decisions, activities and events while running.
  bool progress = true;
  std::string started_at;  // wall clock, for the record
  std::string output_dir;  // for the record
};

struct ScenarioRunResult {
  RunRecord record;
  // The run broke: the initial workers never came up, or it was interrupted.
  bool broke = false;
  std::string why;  // when broke
};

ScenarioRunResult run_scenario_once(const Scenario& scenario, const ScenarioRunSpec& spec,
                                    std::ostream& out);

}  // namespace flotilla
