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

// The balancer's and the target group's settings: Flotilla's run defaults, then what the
// scenario's balancer block says.
struct BalancerSettings {
  BalancerConfig listener;
  TargetGroupConfig group;
};

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
  config.group.launch =
      LaunchSpec{spec.worker_executable, {"--profile", scenario.fleet.profile, "--port", "0"}, "",
                 spec.seed};
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

std::unique_ptr<Environment> make_world(const WorkerProfile& profile, const ScenarioRunSpec& spec,
                                        BalancerConfig balancer) {
  if (spec.simulated) {
    SimulatedOptions options;
    options.balancer = std::move(balancer);
    options.profile = profile;
    options.seed = spec.seed;
    return make_simulated(std::move(options));
  }
  if (::access(spec.worker_executable.c_str(), X_OK) != 0)
    throw UserError("--worker " + spec.worker_executable +
                    ": expected the flotilla-worker executable (build it with `make`)");
  LiveOptions options;
  options.balancer = std::move(balancer);
  return make_live(std::move(options));
}

}  // namespace

ScenarioRunResult run_scenario_once(const Scenario& scenario, const ScenarioRunSpec& spec,
                                    std::ostream& out) {
  const WorkerProfile profile = load_worker_profile(scenario.fleet.profile);
  BalancerSettings balancer = balancer_settings(scenario, spec.seed);
  SystemConfig config = system_config(scenario, profile, spec, balancer.group);
  const double time_scale = scenario.effective_time_scale();
  std::unique_ptr<Environment> env = make_world(profile, spec, std::move(balancer.listener));
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
    // The last complete second.
    if (snap.seconds.size() >= 2) {
      const SecondStats& s = snap.seconds[snap.seconds.size() - 2];
      progress.offered_rps = s.offered;
      progress.ok = s.ok;
      progress.errors = s.errors;
      if (s.latency.count > 0) progress.p99_ms = to_millis(s.latency.p99);
    }
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
  for (const auto& a : system.group().activities())
    record.activities.push_back({seconds_since(a.t, origin), a.from, a.to, a.cause, a.failed});
  for (const auto& e : system.events())
    record.events.push_back({seconds_since(e.t, origin), e.kind, e.detail});
  for (const auto& a : system.group().activities())
    if (a.from == a.to && !a.failed)
      record.events.push_back(
          {seconds_since(a.t, origin), std::string(kEventWorkerReplaced), a.cause});
  std::stable_sort(record.events.begin(), record.events.end(),
                   [](const RunEvent& a, const RunEvent& b) { return a.t < b.t; });
  record.decisions = decisions_json(system.scaling_loop().records(), origin);
  for (const auto& [name, alarm] : system.scaling_loop().alarms()) {
    AlarmRecord a{name, alarm->config().describe(), {}};
    for (const AlarmEvaluation& e : alarm->history())
      a.transitions.push_back({seconds_since(e.t, origin), std::string(to_string(e.previous)),
                               std::string(to_string(e.state)), e.reason});
    record.alarms.push_back(std::move(a));
  }
  const auto& target_totals = system.target_totals();
  for (const WorkerHistory& h : system.group().history()) {
    auto since = [&](const std::optional<Time>& t) -> std::optional<double> {
      if (!t) return std::nullopt;
      return seconds_since(*t, origin);
    };
    WorkerRecord w{h.id,        h.zone, since(h.launched_at), since(h.in_service_at),
                   since(h.ended_at), 0,      0,                    h.end_cause};
    if (auto it = target_totals.find(h.id); it != target_totals.end()) {
      w.requests = it->second.requests;
      w.errors = it->second.errors;
    }
    if (w.end_cause.empty()) w.end_cause = "run finished";
    record.workers.push_back(std::move(w));
  }
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
