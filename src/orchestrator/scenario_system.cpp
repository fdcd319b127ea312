#include "orchestrator/scenario_system.h"

#include <unistd.h>

#include <filesystem>

#include "core/errors.h"
#include "orchestrator/balance_config.h"
#include "scaling/decision_log.h"
#include "scaling/policy_file.h"

namespace flotilla {

using namespace std::chrono_literals;

void check_worker_executable(const std::string& path) {
  if (::access(path.c_str(), X_OK) != 0)
    throw UserError("--worker " + path +
                    ": expected the flotilla-worker executable (build it with `make`)");
}

WorkerProfile fleet_profile(const Scenario& scenario) {
  const FleetSpec& fleet = scenario.fleet;
  WorkerProfile profile;
  if (!fleet.profile.empty()) {
    profile = load_worker_profile(fleet.profile);
  } else {
    profile.name = std::filesystem::path(fleet.command.front()).filename().string();
    profile.boot_time = kDefaultCommandBootTime;
  }
  if (fleet.boot_time) profile.boot_time = *fleet.boot_time;
  return profile;
}

LiveProvider live_provider(const Scenario& scenario, const std::string& worker_executable) {
  if (scenario.fleet.provider == kProviderCommand) return LiveProvider::kCommand;
  // The image holds its own flotilla-worker.
  if (scenario.fleet.provider == kProviderSwarm) return LiveProvider::kSwarm;
  check_worker_executable(worker_executable);
  return LiveProvider::kProcess;
}

SwarmProviderOptions swarm_options(const Scenario& scenario) {
  SwarmProviderOptions options;
  if (!scenario.fleet.image.empty()) options.image = scenario.fleet.image;
  options.constraints = scenario.fleet.constraints;
  if (!scenario.fleet.bind.empty()) options.bind = scenario.fleet.bind;
  return options;
}

BalancerSettings balancer_settings(const Scenario& scenario, std::uint64_t seed) {
  BalancerSettings b;
  b.listener.algorithm = scenario.balancer.algorithm;
  b.listener.seed = seed;
  b.group.health_check.interval = 500ms;
  b.group.health_check.timeout = 400ms;
  // A worker leaving service is stopped once its target is released: idle, or after the
  // target group's deregistration delay (System keeps the group's own timer above that).
  b.group.deregistration_delay = 5s;
  scenario_balancer(scenario, b.listener, b.group);
  return b;
}

SystemConfig system_config(const Scenario& scenario, const WorkerProfile& profile,
                           const ScenarioRunSpec& spec, const TargetGroupConfig& group) {
  SystemConfig config;
  const double time_scale = scenario.effective_time_scale();
  for (const auto& path : spec.policy_files.value_or(scenario.policies))
    config.policies.push_back(load_policy_file(path, time_scaled(time_scale)));
  config.target_group = group;
  config.metrics_period = scenario.metrics_period;
  config.group.name = scenario.name;
  config.group.min = scenario.fleet.min;
  config.group.max = scenario.fleet.max;
  config.group.desired = scenario.fleet.desired;
  if (scenario.fleet.provider == kProviderCommand) {
    const auto& command = scenario.fleet.command;
    config.group.launch =
        LaunchSpec{command.front(), {command.begin() + 1, command.end()}, "", std::nullopt};
  } else {
    config.group.launch = LaunchSpec{spec.worker_executable,
                                     {"--profile", scenario.fleet.profile, "--port", "0"},
                                     "",
                                     spec.seed};
  }
  config.group.health_check_grace =
      scenario.fleet.health_check_grace_period.value_or(profile.boot_time + 10s);
  if (scenario.fleet.health_check_type == "EC2")
    config.group.health_check_type = HealthCheckType::kEc2;
  if (scenario.fleet.termination_policy == "OldestInstance")
    config.group.termination_policy = TerminationPolicy::kOldestInstance;
  if (scenario.fleet.termination_policy == "NewestInstance")
    config.group.termination_policy = TerminationPolicy::kNewestInstance;
  config.group.new_workers_protected = scenario.fleet.new_instances_protected_from_scale_in;
  config.group.zones = scenario.fleet.zones;
  config.group.stop_grace = 5s;
  return config;
}

std::unique_ptr<Environment> make_world(const Scenario& scenario, const WorkerProfile& profile,
                                        const ScenarioRunSpec& spec, BalancerConfig balancer) {
  if (spec.simulated) {
    if (scenario.fleet.provider == kProviderCommand && scenario.fleet.profile.empty())
      throw UserError(scenario.file, "/fleet/provider",
                      "the process provider with --sim, or a \"profile\" that models the "
                      "command's server (the simulator cannot run a command), got \"command\"");
    SimulatedOptions options;
    options.balancer = std::move(balancer);
    options.profile = profile;
    options.seed = spec.seed;
    return make_simulated(std::move(options));
  }
  LiveOptions options;
  options.provider = live_provider(scenario, spec.worker_executable);
  options.swarm = swarm_options(scenario);
  options.balancer = std::move(balancer);
  return make_live(std::move(options));
}

void fill_system_record(RunRecord& record, System& system, Time origin) {
  auto since = [&](Time t) { return to_seconds(t - origin); };
  auto since_if = [&](const std::optional<Time>& t) -> std::optional<double> {
    if (!t) return std::nullopt;
    return since(*t);
  };
  for (const auto& a : system.group().activities())
    record.activities.push_back({since(a.t), a.from, a.to, a.cause, a.failed});
  for (const auto& e : system.events()) record.events.push_back({since(e.t), e.kind, e.detail});
  for (const auto& a : system.group().activities())
    if (a.from == a.to && !a.failed)
      record.events.push_back({since(a.t), std::string(kEventWorkerReplaced), a.cause});
  std::stable_sort(record.events.begin(), record.events.end(),
                   [](const RunEvent& a, const RunEvent& b) { return a.t < b.t; });
  record.decisions = decisions_json(system.scaling_loop().records(), origin);
  for (const auto& [name, alarm] : system.scaling_loop().alarms()) {
    AlarmRecord a{name, alarm->config().describe(), {}};
    for (const AlarmEvaluation& e : alarm->history())
      a.transitions.push_back({since(e.t), std::string(to_string(e.previous)),
                               std::string(to_string(e.state)), e.reason});
    record.alarms.push_back(std::move(a));
  }
  const auto& target_totals = system.target_totals();
  for (const WorkerHistory& h : system.group().history()) {
    WorkerRecord w{h.id,    h.zone, since_if(h.launched_at), since_if(h.in_service_at),
                   since_if(h.ended_at), 0, 0, h.end_cause};
    if (auto it = target_totals.find(h.id); it != target_totals.end()) {
      w.requests = it->second.requests;
      w.errors = it->second.errors;
    }
    if (w.end_cause.empty()) w.end_cause = "run finished";
    record.workers.push_back(std::move(w));
  }
}

}  // namespace flotilla
