#include "orchestrator/scenario_run.h"

#include <unistd.h>

#include <cmath>
#include <iomanip>
#include <ostream>
#include <sstream>

#include "core/duration.h"
#include "core/errors.h"
#include "core/format.h"
#include "core/random.h"
#include "core/retained_log.h"
#include "core/terminal.h"
#include "orchestrator/balance_config.h"
#include "orchestrator/environment.h"
#include "orchestrator/fault_injector.h"
#include "orchestrator/scenario_system.h"
#include "orchestrator/system.h"
#include "scaling/decision_log.h"
#include "scaling/policy_file.h"
#include "worker/profile.h"

namespace flotilla {

namespace {

// How long the initial workers may take to pass their health checks before traffic starts.
constexpr Duration kFleetReadyTimeout = 60s;
// Stopping every worker at the end: SIGTERM, the group's stop grace, SIGKILL.
constexpr Duration kShutdownDeadline = 15s;

double seconds_since(Time t, Time origin) { return to_seconds(t - origin); }

// What the timeline samples once a second, beside the load's own figures.
struct FleetSample {
  int in_service = 0;
  int pending = 0;
  int desired = 0;
  std::optional<double> cpu;
};

}  // namespace

ScenarioRunResult run_scenario_once(const Scenario& scenario, const ScenarioRunSpec& spec,
                                    std::ostream& out) {
  const WorkerProfile profile = fleet_profile(scenario);
  BalancerSettings balancer = balancer_settings(scenario, spec.seed);
  SystemConfig config = system_config(scenario, profile, spec, balancer.group);
  const double time_scale = scenario.effective_time_scale();
  std::unique_ptr<Environment> env =
      make_world(scenario, profile, spec, std::move(balancer.listener));
  Scheduler& scheduler = env->scheduler();
  System system(*env, std::move(config));
  SeededRandom random(spec.seed);
  ScenarioRunResult result;

  const bool live_output = spec.progress;
  const bool tty = live_output && cursor_control_allowed(STDOUT_FILENO);
  bool line_open = false;  // a progress line without its newline is on the terminal
  auto say = [&](const std::string& text) {
    if (!live_output) return;
    if (line_open) out << "\r\033[K";
    out << text << "\n" << std::flush;
    line_open = false;
  };

  system.start();
  say("balancer " + (env->mode() == kModeLive ? "listening on " : std::string()) +
      env->balancer_address() + "; launching " + std::to_string(scenario.fleet.desired) +
      " workers (" + profile.name + ")");

  const int initial_desired = scenario.fleet.desired;
  const bool ready = env->run_until(
      [&] { return system.group().state().in_service >= initial_desired; },
      kFleetReadyTimeout + profile.boot_time);
  if (!ready) {
    result.broke = true;
    result.why = env->interrupted() ? "interrupted"
                                    : "the initial workers did not become healthy in time";
    system.shutdown(kShutdownDeadline);
    return result;
  }

  // Traffic starts now; every time in the report counts from here.
  const Time origin = scheduler.now();
  std::uint64_t activities_shown = system.group().activities_recorded();
  say("fleet ready: " + std::to_string(initial_desired) + " in service; traffic starts");
  system.on_event = [&](const SystemEvent& e) {
    std::ostringstream line;
    line << "  " << std::fixed << std::setprecision(1) << seconds_since(e.t, origin) << "s  "
         << e.kind << ": " << e.detail;
    say(line.str());
  };

  LoadConfig load_config;
  load_config.requests = scenario.traffic.requests;
  load_config.connections = scenario.traffic.connections;
  load_config.schedule = scenario.rate_schedule();
  load_config.arrivals = scenario.traffic.arrivals;
  load_config.seed = spec.seed;
  std::unique_ptr<Traffic> load = env->make_traffic(load_config);
  load->start();

  FaultInjector faults(system, random, time_scale);
  faults.schedule(scenario.faults, origin);

  std::vector<FleetSample> fleet_samples;  // index k: the state at the end of second k
  int max_in_service = initial_desired;
  int min_in_service = initial_desired;
  auto sample_fleet = [&] {
    const GroupState state = system.group().state();
    max_in_service = std::max(max_in_service, state.in_service);
    min_in_service = std::min(min_in_service, state.in_service);
    return FleetSample{state.in_service, state.pending, state.desired, system.group_cpu()};
  };

  // A simulated run goes by faster than it can be read: its progress line comes about 50 times
  // a run, not every simulated second.
  const auto duration_s = static_cast<std::int64_t>(std::ceil(to_seconds(scenario.duration)));
  const std::int64_t progress_every =
      env->mode() == kModeLive ? 1 : std::max<std::int64_t>(1, duration_s / 50);
  bool load_finished = false;
  std::uint64_t decisions_shown = 0;
  std::string last_held;
  system.scaling_loop().set_origin(origin);
  PeriodicTask timeline(scheduler, 1s, [&] {
    fleet_samples.push_back(sample_fleet());
    // The decision log: every change of desired capacity, and a held-back wish once per streak.
    const auto& records = system.scaling_loop().records();
    for (std::size_t i = resume_index(records.size(), system.scaling_loop().records_recorded(),
                                      decisions_shown);
         i < records.size(); ++i) {
      const DecisionRecord& r = records[i];
      if (!r.logged()) {
        last_held.clear();
        continue;
      }
      const std::string line = format_decision_line(r, origin);
      if (r.desired_after == r.desired_before) {
        // The same wish held back by the same limits is shown once, not every period.
        std::string held = std::to_string(r.combined.value_or(r.desired_before));
        for (const auto& p : r.policies)
          held += "|" + p.policy + ":" + std::to_string(p.decision.desired.value_or(-1));
        for (const auto& c : r.clamped_by) held += "|" + c;
        if (held == last_held) continue;
        last_held = std::move(held);
      } else {
        last_held.clear();
      }
      say("  " + line);
    }
    decisions_shown = system.scaling_loop().records_recorded();
    // Activities the policies did not cause: replacements and failed launches.
    const auto& activities = system.group().activities();
    for (std::size_t i = resume_index(activities.size(), system.group().activities_recorded(),
                                      activities_shown);
         i < activities.size(); ++i) {
      const auto& a = activities[i];
      if (a.from != a.to) continue;
      std::ostringstream line;
      line << "  " << std::fixed << std::setprecision(1) << seconds_since(a.t, origin) << "s  "
           << (a.failed ? "FAILED " : "") << a.cause;
      say(line.str());
    }
    activities_shown = system.group().activities_recorded();
    const LoadSnapshot snap = load->snapshot(2);
    load_finished = snap.finished;
    if (!live_output || fleet_samples.size() % static_cast<std::size_t>(progress_every) != 0)
      return;
    ProgressLine progress;
    progress.elapsed = std::min(scheduler.now() - origin, scenario.duration);
    progress.total = scenario.duration;
    set_last_second(progress, snap);
    progress.in_service = fleet_samples.back().in_service;
    progress.desired = fleet_samples.back().desired;
    const std::string text = format_progress_line(progress);
    if (tty) {
      out << "\r\033[K" << text << std::flush;
      line_open = true;
    } else {
      out << text << "\n" << std::flush;
    }
  });
  timeline.start(origin + 1s);

  // The load ends by itself once its schedule is sent and answered (bounded by its request
  // timeout).
  env->run_until([&] { return load_finished; },
                 scenario.duration + load_config.request_timeout + 5s);
  timeline.stop();
  const bool interrupted = env->interrupted();
  if (!load_finished) load->stop();
  fleet_samples.push_back(sample_fleet());
  const GroupState final_state = system.group().state();
  say(interrupted ? "interrupted: stopping the fleet" : "traffic done: stopping the fleet");

  RunRecord& record = result.record;
  record.scenario = scenario.name;
  record.description = scenario.description;
  record.mode = std::string(env->mode());
  record.seed = spec.seed;
  record.duration = scenario.duration;
  record.started_at = spec.started_at;
  record.output_dir = spec.output_dir;
  const LoadSnapshot final_load = load->snapshot();
  fill_requests(record, final_load);
  fill_paths(record, final_load, scenario.traffic.requests);
  record.timeseries = load_timeseries(final_load);
  for (std::size_t k = 0; k < record.timeseries.size(); ++k) {
    // Row k covers second k; the fleet was sampled at its end.
    const FleetSample& f = fleet_samples[std::min(k, fleet_samples.size() - 1)];
    auto& row = record.timeseries[k];
    row.in_service = f.in_service;
    row.pending = f.pending;
    row.desired = f.desired;
    row.cpu_avg = f.cpu ? *f.cpu : std::nan("");
  }
  record.capacity.initial = initial_desired;
  record.capacity.max_in_service = max_in_service;
  record.capacity.min_in_service = min_in_service;
  record.capacity.final_in_service = final_state.in_service;
  fill_system_record(record, system, origin);
  record.time_scale = time_scale;
  record.slo = scenario.slo;

  system.shutdown(kShutdownDeadline);
  if (interrupted) {
    result.broke = true;
    result.why = "interrupted";
  }
  return result;
}

}  // namespace flotilla
