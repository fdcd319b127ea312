#pragma once
// Group: the Auto Scaling group. Keeps `desired` workers pending or in service, replaces workers
// that die or never become healthy, and takes workers out of service when desired shrinks.
//
// Worker lifecycle (fleet/worker_state.h):
//   launch -> pending --mark_healthy--> in_service --scale-in--> draining --drain_delay-->
//   terminating (provider.stop(id, stop_grace)) --on_exit--> terminated (forgotten).
// A pending worker that is removed goes straight to terminating (it never served traffic).
//
// Scale-in picks, in order: pending workers, newest first (furthest from serving); then
// in-service workers, oldest launched first (AWS's OldestInstance termination policy). The
// choice is deterministic, so runs replay exactly.
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
// Callbacks may call back into the group.
//
// Threading: control plane only; never reads the system clock.
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/scheduler.h"
#include "fleet/provider.h"
#include "fleet/worker_state.h"
#include "scaling/group_state.h"

namespace flotilla {

struct GroupConfig {
  std::string name = "flotilla";  // AutoScalingGroupName
  int min = 1;
  int max = 1;
  int desired = 1;
  LaunchSpec launch;
  // A worker still pending this long after launch is stopped and replaced.
  Duration health_check_grace = std::chrono::seconds(30);
  // SIGTERM to SIGKILL.
  Duration stop_grace = std::chrono::seconds(5);
  // Time between deregistering an in-service worker (draining) and stopping it
  // (AWS: the target group's deregistration delay).
  Duration drain_delay = Duration::zero();
};

// One entry of the activity log: a change of desired capacity (from != to), or a replacement of
// a failed worker at unchanged capacity (from == to).
struct Activity {
  Time t{};
  int from = 0;
  int to = 0;
  std::string cause;
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

  // The worker passed its target health check: pending -> in_service. Ignored for any other
  // state or an unknown id.
  void mark_healthy(const WorkerId& id);
  // The worker failed health checks (AWS: ELB health check type): take it out of service and
  // launch a replacement. Ignored unless pending or in service.
  void replace_unhealthy(const WorkerId& id, const std::string& cause);

  // Clamps to [min, max]; records an Activity when desired changes (the cause says if it was
  // clamped). Returns the new desired capacity.
  int set_desired(int desired, const std::string& cause);
  // Changes the limits (0 <= min <= max) and clamps desired into them.
  void set_limits(int min, int max, const std::string& cause);

  GroupState state() const;
  const std::vector<Activity>& activities() const { return activities_; }
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
    Scheduler::TimerId grace_timer = 0;
    Scheduler::TimerId drain_timer = 0;
  };

  void on_listening(const WorkerId& id, const Endpoint& endpoint);
  void on_exit(const WorkerId& id, const WorkerExit& exit);
  void reconcile();
  void launch_one();
  void remove(Worker& w);
  void leave_service(Worker& w);
  void terminate(const WorkerId& id);
  void record(int from, int to, std::string cause);
  Worker* find(const WorkerId& id);
  const Worker* find(const WorkerId& id) const;
  int active() const;  // pending + in_service: what counts toward desired

  Scheduler& scheduler_;
  Provider& provider_;
  GroupConfig config_;
  Callbacks callbacks_;
  std::vector<Worker> workers_;  // launch order
  std::vector<Activity> activities_;
  std::optional<Time> last_desired_change_;
  bool reconciling_ = false;
  bool reconcile_again_ = false;
  // A provider may report events from inside launch(), before the group knows the new id;
  // they are replayed once the worker is recorded.
  bool in_launch_ = false;
  std::vector<std::function<void()>> early_events_;
};

}  // namespace flotilla
