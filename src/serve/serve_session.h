#pragma once
// ServeSession: `flotilla serve`'s running system (orchestrator/system.h, built from a scenario
// file as `run` builds it) and what the admin API, the dashboard, /metrics and the end-of-session
// report read from it. Unlike a run it has no end of its own: the file's traffic and faults, if
// any, play on schedule from the start, and then it goes on serving whatever traffic arrives at
// the balancer until shutdown().
//
// What it keeps, each bounded by `retention` (default 3 hours):
//   seconds()   one row per second as the balancer saw it (every client's traffic, not only
//               the built-in load generator's) and the fleet at that second's end;
//   the system's activities, decisions, alarm transitions, events and worker histories
//               (System::prune_before, once a minute).
//
// Written against Environment, so the same session runs in virtual time (tests) and live
// (serve_command.h).
//
// Threading: the control-plane thread, the one that runs the environment.
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "balancer/data_plane.h"
#include "core/random.h"
#include "core/scheduler.h"
#include "orchestrator/environment.h"
#include "orchestrator/scenario_run.h"
#include "orchestrator/system.h"
#include "scenario/fault.h"
#include "scenario/report.h"
#include "scenario/scenario.h"
#include "scenario/traffic.h"
#include "serve/admin_requests.h"

namespace flotilla {

class FaultInjector;

struct ServeSettings {
  // Seed and the flotilla-worker executable, as for a run (simulated is the environment's).
  ScenarioRunSpec spec;
  Duration retention = kDefaultRetentionAge;
  // The wall clock when the session started: the API's RFC 3339 times count from it (the
  // control plane reads no clock but its scheduler).
  std::chrono::system_clock::time_point wall_origin{};
};

// One second as the balancer saw it. Responses are counted when they complete; errors are 5xx
// answers (the targets' and the balancer's own), the way an ALB's HTTPCode_*_5XX_Count counts
// them: a 404 is the client's mistake, not the service's.
struct ServeSecond {
  double t = 0;  // the second's start, seconds since the session started
  std::uint64_t ok = 0;
  std::uint64_t errors = 0;
  std::optional<double> p50_ms, p99_ms;  // TargetResponseTime of the second's responses
  double offered_rps = 0;                // the built-in load generator's rate (0: none)
  int desired = 0;
  int in_service = 0;
  int pending = 0;
  std::optional<double> cpu;  // the group's average CPUUtilization, percent
};

// A moment the charts mark: "activity" (a scaling activity or a replacement), "alarm" (a state
// change), "fault" (a fault started or ended) or "kill" (a signal sent from the API).
struct ServeMarker {
  double t = 0;
  std::string kind;
  std::string detail;
};

// The built-in open-loop load generator, as the API controls it.
struct LoadStatus {
  bool running = false;
  std::optional<double> rps;  // the rate now, when running
  // Over every load the session ran: requests sent, answered ok, and failed.
  std::uint64_t sent = 0;
  std::uint64_t ok = 0;
  std::uint64_t errors = 0;
};

class ServeSession {
 public:
  // UserError for a policy file or profile that cannot be read. The environment outlives the
  // session.
  ServeSession(Environment& env, const Scenario& scenario, ServeSettings settings);
  ~ServeSession();
  ServeSession(const ServeSession&) = delete;
  ServeSession& operator=(const ServeSession&) = delete;

  // Starts the balancer (UserError if its port is in use), launches the group, and starts the
  // file's traffic and faults. Time 0 of the session is now.
  void start();
  // Stops taking new requests, lets those in flight finish for at most `drain` (run on the
  // environment), then stops every worker. Idempotent.
  void shutdown(Duration drain);
  // The whole session (what retention kept) as a run's record; the file's expectations, if any,
  // are evaluated against it.
  RunRecord record();

  System& system() { return *system_; }
  Environment& environment() { return env_; }
  const Scenario& scenario() const { return scenario_; }
  const ServeSettings& settings() const { return settings_; }
  Time origin() const { return origin_; }
  double seconds_since_start(Time t) const;
  // RFC 3339 UTC with milliseconds: "2026-12-01T15:40:00.250Z".
  std::string wall_time(Time t) const;
  // The wall clock at session time `t`, as time since the Unix epoch, and back.
  Duration wall_since_epoch(Time t) const;
  Time time_at_wall(Duration since_epoch) const;

  const std::deque<ServeSecond>& seconds() const { return seconds_; }
  // Every marker after `after` seconds (all without), oldest first.
  std::vector<ServeMarker> markers(std::optional<double> after = std::nullopt) const;

  // SetDesiredCapacity / UpdateAutoScalingGroup: the limits first, then desired. Returns an
  // error message naming what is wrong (nothing changes then), empty on success: desired must
  // lie within [min, max] of the group after the change, min <= max, max >= 1 and at most 1000.
  using CapacityChange = flotilla::CapacityChange;
  std::string change_capacity(const CapacityChange& change);
  // Sends `sig` to a worker's process; false when the group has no such worker. Recorded as a
  // "kill" event.
  bool signal_worker(const std::string& id, int sig);
  // Starts a fault now (its `at` ignored); returns its description.
  std::string start_fault(const Fault& fault);
  // Replaces the built-in load with `schedule` from now; stop_load() ends it.
  void start_load(RateSchedule schedule);
  void stop_load();
  LoadStatus load_status() const;
  // Every load the session ran, summed: totals, errors by kind and the latency histogram of
  // successful requests (no per-second figures); nullopt before the first.
  std::optional<LoadSnapshot> load_totals() const;

 private:
  std::size_t retained_seconds() const;
  void sample_second();
  void start_timeline_when_ready();
  void start_traffic(RateSchedule schedule, std::vector<RequestSpec> requests,
                     Connections connections, Arrivals arrivals);

  Environment& env_;
  Scenario scenario_;
  ServeSettings settings_;
  std::unique_ptr<System> system_;
  SeededRandom random_;
  std::unique_ptr<FaultInjector> faults_;
  Time origin_{};
  bool started_ = false;
  bool shut_down_ = false;
  bool timeline_pending_ = false;  // the file's traffic and faults wait for the fleet

  // The built-in load: the one running now and the totals of those before it.
  std::unique_ptr<Traffic> load_;
  std::optional<RateSchedule> load_schedule_;
  Time load_started_{};
  std::optional<LoadSnapshot> finished_loads_;  // summed, of those stopped

  std::deque<ServeSecond> seconds_;
  BalancerStats last_stats_;
  std::unique_ptr<PeriodicTask> sampler_;
  std::unique_ptr<PeriodicTask> pruner_;
  std::size_t prunes_ = 0;
};

}  // namespace flotilla
