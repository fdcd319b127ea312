#pragma once
// System: one running Flotilla, in whatever world its Environment is (environment.h): the data
// plane (the balancer, or its model), the target group with health checks, the Auto Scaling
// group over the environment's workers, the collector and the scaling loop. `run` and `compare`
// drive it from a scenario's timeline; the coming `serve` from a config. It never asks which
// world it is in.
//
// Wiring (the scaling engine and the balancer never include each other; this file connects them):
//   group.on_listening      -> target_group.register_target + a metrics source for the worker
//   target healthy          -> group.mark_healthy
//   target unhealthy        -> group.replace_unhealthy (once it was in service)
//   group.on_leaving_service, on_terminated -> target_group.deregister_target
//   target_group.on_released -> group.target_released (the worker is stopped once idle)
//   target_group.publish    -> data_plane.set_targets
//   data_plane.target_load  -> target group load source (draining, outlier detection)
//   data_plane.stats        -> the collector's AWS/ApplicationELB metrics
//
// Retention: what the system keeps grows with time (activities, decisions, alarm transitions,
// ended workers' history and counters, metric series of gone workers, events) until
// prune_before() drops what is older than a cutoff. `run` and `compare` never call it (their
// reports cover the whole run); `serve` calls it every minute with now - its retention.
//
// Threading: construct, call and destroy on the control-plane thread, the one that runs the
// environment. The environment must outlive the system.
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "balancer/target_group.h"
#include "core/random.h"
#include "core/retained_log.h"
#include "core/scheduler.h"
#include "metrics/collector.h"
#include "metrics/metric_store.h"
#include "orchestrator/environment.h"
#include "orchestrator/fault_provider.h"
#include "scaling/group.h"
#include "scaling/scaling_loop.h"

namespace flotilla {

// How much history a long-running system keeps by default: three hours of per-second data.
inline constexpr Duration kDefaultRetentionAge = std::chrono::hours(3);

struct SystemConfig {
  // Health checks, deregistration delay, slow start, fail open, outlier detection. The group's
  // drain_delay is raised above deregistration_delay: the target group says when to stop.
  TargetGroupConfig target_group;
  GroupConfig group;
  Duration metrics_period = std::chrono::seconds(5);
  std::vector<std::unique_ptr<ScalingPolicy>> policies;
};

// Something that happened to the fleet, for the run's event log.
struct SystemEvent {
  Time t{};
  std::string kind;  // "fault", "target_unhealthy"
  std::string detail;
};

class System {
 public:
  System(Environment& environment, SystemConfig config);
  ~System();
  System(const System&) = delete;
  System& operator=(const System&) = delete;

  // Starts the data plane (UserError if its port is in use), launches the group to desired and
  // starts the collector and the scaling loop.
  void start();
  // Takes every worker out of service and stops it (SIGTERM, then SIGKILL after the group's stop
  // grace), then stops the data plane. Returns once no worker runs, at most `deadline` later.
  void shutdown(Duration deadline);

  Environment& environment() { return env_; }
  // The provider the group launches through: the environment's, with launches that fail on
  // purpose (boot_failure, zone_outage faults).
  FaultProvider& launch_faults() { return *launch_faults_; }
  Group& group() { return *group_; }
  TargetGroup& targets() { return *targets_; }
  MetricStore& store() { return store_; }
  ScalingLoop& scaling_loop() { return *loop_; }
  // The group's average CPUUtilization of the last period gathered by the scaling loop.
  std::optional<double> group_cpu() const;
  // Oldest first.
  const std::deque<SystemEvent>& events() const { return events_.entries(); }
  // Events ever recorded, pruned ones included (resume_index(), core/retained_log.h).
  std::uint64_t events_recorded() const { return events_.recorded(); }
  // Workers launched to replace dead or unhealthy ones (among the activities kept).
  int replaced_workers() const;
  // Each target's counters (requests, errors ...) as the data plane last reported them, by
  // worker id, for every target it ever reported (but those of workers prune_before() dropped
  // from the group's history). Read now, and before every change of the routable set: the data
  // plane stops reporting a target once it is removed and idle, so the read before the change
  // that removes it holds every request routed to it.
  const std::map<std::string, BalancerTargetStats>& target_totals();

  // Drops what is older than `cutoff` everywhere: the group's activities and the history of
  // workers that ended before it (Group::prune_before), the decision log and alarm transitions
  // but the newest of each (ScalingLoop::prune_before), metric series not written to since
  // (MetricStore::prune_before), events, and the target counters of workers no longer in the
  // group's history. What is live stays: running workers, the current alarm states, the newest
  // decision.
  void prune_before(Time cutoff);

  // Adds to the event log and calls on_event.
  void record_event(std::string kind, std::string detail);
  // Called for every new event (after it is recorded), e.g. to print it live.
  std::function<void(const SystemEvent&)> on_event;

 private:
  void wire();
  void note_target_stats();

  Environment& env_;
  Scheduler& scheduler_;
  SystemConfig config_;
  std::unique_ptr<FaultProvider> launch_faults_;
  std::unique_ptr<TargetGroup> targets_;
  MetricStore store_;
  std::unique_ptr<Collector> collector_;
  std::unique_ptr<Group> group_;
  std::unique_ptr<ScalingLoop> loop_;
  std::map<WorkerId, Collector::SourceId> sources_;
  RetainedLog<SystemEvent> events_;
  std::map<std::string, BalancerTargetStats> target_totals_;
};

}  // namespace flotilla
