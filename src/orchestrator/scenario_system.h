#pragma once
// A scenario's system, assembled: what `run`, `compare` and `serve` build from one scenario
// file. Flotilla's defaults for the balancer and the group, then what the scenario says, then the
// world (environment.h) it runs in.
#include <cstdint>
#include <memory>

#include "orchestrator/environment.h"
#include "orchestrator/scenario_run.h"
#include "orchestrator/system.h"
#include "scenario/report.h"
#include "scenario/scenario.h"
#include "worker/profile.h"

namespace flotilla {

// The worker profile the scenario's fleet stands for: its "profile" file; for the command
// provider without one, a profile named after the command's program whose boot_time is the
// fleet's "boot_time" (kDefaultCommandBootTime when absent; it also wins over a profile's).
// UserError for a bad profile file.
WorkerProfile fleet_profile(const Scenario& scenario);

// The balancer's and the target group's settings: Flotilla's run defaults (health checks every
// 500 ms, a 5 s deregistration delay), then what the scenario's balancer block says.
struct BalancerSettings {
  BalancerConfig listener;
  TargetGroupConfig group;
};
BalancerSettings balancer_settings(const Scenario& scenario, std::uint64_t seed);

// The group, its policies (spec.policy_files or the scenario's, AWS durations scaled by the
// scenario's time scale) and the collector's period. UserError for a bad policy file.
SystemConfig system_config(const Scenario& scenario, const WorkerProfile& profile,
                           const ScenarioRunSpec& spec, const TargetGroupConfig& group);

// UserError unless `path` is an executable file (the flotilla-worker the live world launches).
void check_worker_executable(const std::string& path);

// Which provider the live world uses for the scenario's fleet (the process provider checks
// spec.worker_executable, the command provider needs none).
LiveProvider live_provider(const Scenario& scenario, const std::string& worker_executable);
// The swarm provider's settings from the scenario's fleet (image, constraints, bind).
SwarmProviderOptions swarm_options(const Scenario& scenario);

// The simulated world when spec.simulated, else the live one (after live_provider). --sim with
// the command provider models the server with the fleet's profile; without a profile it is a
// UserError naming /fleet/provider.
std::unique_ptr<Environment> make_world(const Scenario& scenario, const WorkerProfile& profile,
                                        const ScenarioRunSpec& spec, BalancerConfig balancer);

// What the system itself knows, into a run's record, times in seconds since `origin`: the
// activities, the events (the system's, and a worker_replaced for each replacement), the decision
// log, the alarms' transitions and every worker the group launched ("run finished" for those
// still running).
void fill_system_record(RunRecord& record, System& system, Time origin);

}  // namespace flotilla
