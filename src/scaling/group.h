#pragma once
// Group: the Auto Scaling group. Keeps `desired` workers pending or in service, replaces workers
// that die, never become healthy or fail health checks, and takes workers out of service when
// desired shrinks.
//
// Worker lifecycle (fleet/worker_state.h):
//   launch -> pending --healthy--> in_service --scale-in or replacement--> draining
//   --target_released(id), or drain_delay--> terminating (provider.stop(id, stop_grace): SIGTERM,
//   SIGKILL after stop_grace) --on_exit--> terminated (forgotten).
// A pending worker that is removed goes straight to terminating (it never served traffic).
//
// Health (GroupConfig::health_check_type, AWS's HealthCheckType):
// - kElb: a worker goes in service when mark_healthy(id) says its target passed its health
//   check; replace_unhealthy(id) replaces an in-service worker whose target failed.
// - kEc2: health is the process's: a worker goes in service once it listens (mark_healthy also
//   works), it is replaced only when it exits, and replace_unhealthy() is ignored.
// In both, a worker still pending health_check_grace after launch is replaced. Flotilla differs
// from AWS on purpose: the grace ends early, when the worker first becomes healthy, because a
// worker that was healthy and then fails is really broken; and replace_unhealthy() is ignored for
// a pending worker (the grace decides about it, as AWS ignores checks during the grace).
//
// Replacing unhealthy workers is bounded: at most max(1, desired * max_replacing_percent / 100)
// replacements are in progress at once. A replacement is in progress from the moment the
// unhealthy worker is taken out of service (draining, one activity) until a worker launched in
// its place goes in service; a replacement that fails to boot passes the slot to the next launch.
// Further unhealthy workers wait in service, oldest report first, flagged `unhealthy` in state();
// mark_healthy() on a waiting worker (its target recovered) cancels its replacement. Exits and
// boot failures are not bounded: that capacity is already gone.
//
// Scale-in (desired shrinks) never chooses a protected worker (set_protected, AWS scale-in
// protection): when every candidate is protected, desired still changes and the extra workers
// stay until they are unprotected or exit. Among unprotected workers it picks, in order: pending
// workers, newest first (furthest from serving); in-service workers waiting for an unhealthy
// replacement, oldest report first; then in-service workers by the termination policy:
// - kOldestInstance: launched first; kNewestInstance: launched last.
// - kDefault: AWS's Default balances zones, then prefers the oldest launch template, then the
//   instance closest to its next billing hour. One zone and one launch spec leave only the last
//   step, which for workers younger than an hour is the oldest; Flotilla's Default is therefore
//   the oldest launched first (the same as kOldestInstance) at any age.
// Ties (same launch time) go by launch order, so runs replay exactly.
//
// Draining: an in-service worker taken out of service is draining: on_leaving_service lets the
// orchestrator deregister its target, whose in-flight requests finish; the orchestrator calls
// target_released(id) when the target group let the target go (idle, or its deregistration
// delay passed), and the group stops the worker then. drain_delay bounds the wait: without
// target_released the worker is stopped drain_delay after it left service.
//
// Boot failures: a pending worker that exits (it never became healthy; a launch that could not
// start, exit 127, is one) is recorded as a failed activity ("Launching a new worker failed:
// ... retrying in 4s") and launches are held back for launch_backoff_initial, doubling with
// each consecutive failure up to launch_backoff_max; the count resets when a worker goes in
// service. With zones this holds back the zone that failed, and launches go to the others
// meanwhile (AWS launches into an unaffected Availability Zone). A worker replaced for missing
// health_check_grace is not held back (the grace already paces those).
//
// Zones (GroupConfig::zones, AWS's Availability Zones): every launch goes to the zone with the
// fewest workers pending or in service (ties: the first listed), skipping zones held back after
// a failed launch; the worker carries its zone (LaunchSpec::zone, WorkerInfo::zone). Scale-in
// takes its victim from the zone with the most workers in service, then by the termination
// policy (AWS's Default balances zones first). AZRebalance: once zones differ by two workers
// in service or more and nothing is pending, the group launches one more worker into the
// smallest zone and, once it is in service, takes one out of the largest, until they are even
// (AWS launches before it terminates, so capacity never dips).
//
// Interruptions (interrupt(), a Spot-style notice): the worker leaves service at once and
// drains, a replacement is launched at once (capacity rebalancing), and the worker is stopped
// once drained, killed when the warning runs out.
//
// Provider events: the group installs itself as the provider's callbacks in its constructor and
// clears them in its destructor, so nothing else may call provider.set_callbacks(); the rest of
// the system hears about workers through the group's own callbacks below. The provider must
// outlive the group.
//
// Callbacks (for the orchestrator, which connects them to the balancer's target group):
// - on_listening(id, endpoint): a pending or in-service worker announced its port: register it
//   as a target; once its health check passes, call mark_healthy(id).
// - on_leaving_service(id): stop sending it traffic (deregister). Called once for every worker
//   whose on_listening was called, before its on_terminated.
// - on_terminated(id): the worker's process exited and the group forgot it. Called once for
//   every launched worker.
// Callbacks may call back into the group (target_released from inside on_leaving_service too).
//
// Retention: the activity log and the ended workers' history grow with time; prune_before()
// bounds them by age (serve calls it; run and compare keep everything).
//
// Threading: control plane only; never reads the system clock.
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/retained_log.h"
#include "core/scheduler.h"
#include "fleet/provider.h"
#include "fleet/worker_state.h"
#include "scaling/group_state.h"

namespace flotilla {

// AWS's HealthCheckType. Flotilla's default is kElb (AWS's is EC2): a hung worker only fails its
// target health check, and scenarios that freeze workers expect them replaced.
enum class HealthCheckType { kEc2, kElb };

// AWS's termination policies that apply to one zone and one launch spec (see Group).
enum class TerminationPolicy { kDefault, kOldestInstance, kNewestInstance };

struct GroupConfig {
  std::string name = "flotilla";  // AutoScalingGroupName
  int min = 1;
  int max = 1;
  int desired = 1;
  LaunchSpec launch;
  HealthCheckType health_check_type = HealthCheckType::kElb;
  TerminationPolicy termination_policy = TerminationPolicy::kDefault;
  // A worker still pending this long after launch is stopped and replaced.
  Duration health_check_grace = std::chrono::seconds(30);
  // SIGTERM to SIGKILL.
  Duration stop_grace = std::chrono::seconds(5);
  // Longest a draining worker waits for target_released(id) before it is stopped anyway; set it
  // above the target group's deregistration delay. Without target_released, the drain time.
  Duration drain_delay = Duration::zero();
  // Unhealthy replacements in progress at once: max(1, desired * this / 100).
  int max_replacing_percent = 10;
  // Held launches after consecutive boot failures: initial, doubling, capped.
  Duration launch_backoff_initial = std::chrono::seconds(1);
  Duration launch_backoff_max = std::chrono::seconds(30);
  // AWS's NewInstancesProtectedFromScaleIn.
  bool new_workers_protected = false;
  // Availability Zones to spread workers over; empty: one zone, unnamed.
  std::vector<std::string> zones;
};

// One entry of the activity log: a change of desired capacity (from != to), or a replacement of
// a failed worker at unchanged capacity (from == to). `failed`: a launch that did not produce a
// healthy worker (AWS's StatusCode Failed); its cause says when the group retries.
struct Activity {
  Time t{};
  int from = 0;
  int to = 0;
  std::string cause;
  bool failed = false;
};

// One worker's life as the group saw it, kept once the worker is forgotten (for reports).
struct WorkerHistory {
  WorkerId id;
  std::string zone;  // "" without zones
  Time launched_at{};
  std::optional<Time> in_service_at;  // when it went in service, if it did
  std::optional<Time> ended_at;       // when its process exited, if it did
  // Why it was taken out, or how it ended when nobody asked it to, whichever came first:
  // "scale-in to desired 3", "AZRebalance", "replaced unhealthy (target health ...)", "not
  // healthy within health_check_grace 11s", an interruption's cause, shut_down()'s cause, or
  // the process's end ("signal 9 (SIGKILL)", "exit 1", "exit 1 before becoming healthy").
  // "" while it runs and nothing asked it to leave.
  std::string end_cause;
};

class Group {
 public:
  struct Callbacks {
    std::function<void(const WorkerId&, const Endpoint&)> on_listening;
    std::function<void(const WorkerId&)> on_leaving_service;
    std::function<void(const WorkerId&)> on_terminated;
  };

  // Requires 0 <= min <= desired <= max (assert: validated by whoever parsed the config).
  Group(Scheduler& scheduler, Provider& provider, GroupConfig config);
  ~Group();
  Group(const Group&) = delete;
  Group& operator=(const Group&) = delete;

  void set_callbacks(Callbacks callbacks);
  // Launches to desired; records the activity "group created".
  void start();

  // The worker passed its target health check: pending -> in_service; for an in-service worker
  // waiting for an unhealthy replacement, cancels the replacement. Ignored otherwise.
  void mark_healthy(const WorkerId& id);
  // The worker's target failed health checks (kElb only): replace it now, or once the
  // replacement budget allows. Ignored with kEc2 and unless the worker is in service.
  void replace_unhealthy(const WorkerId& id, const std::string& cause);
  // The target group released the draining worker's target (idle, or its deregistration delay
  // passed): stop the worker now. Ignored unless the worker is draining.
  void target_released(const WorkerId& id);
  // A Spot-style interruption notice for an in-service worker: out of service now, a
  // replacement launched now, stopped once drained and SIGKILLed `warning` from now whatever
  // remains. Returns false unless the worker is in service.
  bool interrupt(const WorkerId& id, Duration warning, const std::string& cause);
  // Scale-in protection (AWS: ProtectedFromScaleIn). Unprotecting may let a pending scale-in
  // proceed. Returns false for an unknown worker.
  bool set_protected(const WorkerId& id, bool protect);

  // Clamps to [min, max]; records an Activity when desired changes (the cause says if it was
  // clamped). Returns the new desired capacity.
  int set_desired(int desired, const std::string& cause);
  // Changes the limits (0 <= min <= max) and clamps desired into them.
  void set_limits(int min, int max, const std::string& cause);
  // Min, max and desired to 0 and every worker leaves, protected or not (AWS:
  // delete-auto-scaling-group --force-delete). In-service workers still drain.
  void shut_down(const std::string& cause);

  // Drops the activities recorded before `cutoff` and the history of workers that ended before
  // it; a running worker's entry stays.
  void prune_before(Time cutoff);

  GroupState state() const;
  // Oldest first: every activity since start(), or since the last prune_before() cutoff.
  const std::deque<Activity>& activities() const { return activities_.entries(); }
  // Activities ever recorded, pruned ones included: a reader that remembers this finds the new
  // ones with resume_index(activities().size(), activities_recorded(), seen) (core/retained_log.h).
  std::uint64_t activities_recorded() const { return activities_.recorded(); }
  // Every worker launched, in launch order (those that ended before a prune_before() cutoff
  // left out).
  const std::vector<WorkerHistory>& history() const { return history_; }
  const GroupConfig& config() const { return config_; }
  const std::string& name() const { return config_.name; }
  int desired() const { return config_.desired; }
  std::optional<LifecycleState> worker_state(const WorkerId& id) const;

 private:
  struct Worker {
    WorkerId id;
    LifecycleState state = LifecycleState::pending;
    Time launched_at{};
    std::optional<Time> in_service_since;
    std::optional<Endpoint> endpoint;
    bool announced = false;  // on_listening was called
    bool protect = false;    // from scale-in
    // Reported unhealthy and waiting for the replacement budget; `unhealthy_seq` orders reports.
    bool unhealthy = false;
    std::uint64_t unhealthy_seq = 0;
    std::string unhealthy_cause;
    bool replacement = false;  // holds a replacement slot until it goes in service
    bool rebalance = false;    // launched by AZRebalance: not counted against desired yet
    std::size_t zone = 0;      // index into zones_
    std::size_t history = 0;   // index into history_
    Scheduler::TimerId grace_timer = 0;
    Scheduler::TimerId drain_timer = 0;
    Scheduler::TimerId kill_timer = 0;  // an interruption's end
  };
  // One Availability Zone's launch history: failed launches hold it back.
  struct Zone {
    std::string name;
    int consecutive_failures = 0;
    Time held_until{};
  };

  void on_listening(const WorkerId& id, const Endpoint& endpoint);
  void on_exit(const WorkerId& id, const WorkerExit& exit);
  void reconcile();
  void start_replacements();
  void launch_one(std::size_t zone, bool rebalance = false);
  // The zone for the next launch: the fewest workers pending or in service among the zones not
  // held at `now`; nullopt when every zone is held.
  std::optional<std::size_t> launch_zone(Time now) const;
  // AZRebalance: launches into the smallest zone when zones are out of balance.
  void maybe_rebalance();
  // When the next launch can go somewhere, if one is wanted and none can now.
  void arm_launch_timer();
  Worker* scale_in_victim();
  void go_in_service(Worker& w);
  // Takes the worker out (pending: stopped; in service: drained, then stopped); `cause` is its
  // end_cause unless it has one.
  void remove(Worker& w, const std::string& cause);
  void note_end_cause(const Worker& w, const std::string& cause);
  void leave_service(Worker& w);
  void terminate(const WorkerId& id);
  void record(int from, int to, std::string cause, bool failed = false);
  Worker* find(const WorkerId& id);
  const Worker* find(const WorkerId& id) const;
  // pending + in_service: what counts toward desired (a pending AZRebalance launch does not)
  int active() const;
  int in_zone(std::size_t zone, bool in_service_only) const;
  int replacements_in_progress() const;
  int replacement_budget() const;
  Duration launch_backoff(int failures) const;  // failures >= 1

  Scheduler& scheduler_;
  Provider& provider_;
  GroupConfig config_;
  Callbacks callbacks_;
  std::vector<Worker> workers_;  // launch order
  RetainedLog<Activity> activities_;
  std::vector<WorkerHistory> history_;
  // AZRebalance launches that went in service since reconcile() last ran: the workers it then
  // takes out of the largest zone leave for AZRebalance, not for a scale-in.
  int rebalance_removals_ = 0;
  std::optional<Time> last_desired_change_;
  // Replacement slots taken by workers taken out for health, not yet given to a launch.
  int unassigned_replacements_ = 0;
  std::uint64_t unhealthy_reports_ = 0;
  std::vector<Zone> zones_;  // at least one
  Scheduler::TimerId launch_timer_ = 0;
  bool reconciling_ = false;
  bool reconcile_again_ = false;
  // A provider may report events from inside launch(), before the group knows the new id;
  // they are replayed once the worker is recorded.
  bool in_launch_ = false;
  std::vector<std::function<void()>> early_events_;
};

}  // namespace flotilla
