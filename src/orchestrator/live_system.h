#pragma once
// LiveSystem: one running Flotilla: the balancer (data plane, its own IO threads), the target
// group with health checks, the Auto Scaling group over local worker processes, the collector
// and the scaling loop, wired together on one control-plane io_context. `flotilla run` drives it
// from a scenario's timeline; a later `serve` drives it from a config.
//
// Wiring (the scaling engine and the balancer never include each other; this file connects them):
//   group.on_listening      -> target_group.register_target + a metrics source for the worker
//   target healthy          -> group.mark_healthy
//   target unhealthy        -> group.replace_unhealthy (once it was in service)
//   group.on_leaving_service, on_terminated -> target_group.deregister_target
//   target_group.on_released -> group.target_released (the worker is stopped once idle)
//   target_group.publish    -> balancer.set_targets
//   balancer.stats().targets -> target_group load source (draining, outlier detection)
//
// Threading: construct, call and destroy on the control-plane thread, the one that runs `io`.
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "balancer/balancer.h"
#include "balancer/target_group.h"
#include "core/random.h"
#include "core/scheduler.h"
#include "metrics/collector.h"
#include "metrics/metric_store.h"
#include "scaling/group.h"
#include "scaling/scaling_loop.h"

namespace boost::asio {
class io_context;
}

namespace flotilla {

class ProcessProvider;

struct LiveSystemConfig {
  BalancerConfig balancer;
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

class LiveSystem {
 public:
  LiveSystem(boost::asio::io_context& io, Scheduler& scheduler, LiveSystemConfig config);
  ~LiveSystem();
  LiveSystem(const LiveSystem&) = delete;
  LiveSystem& operator=(const LiveSystem&) = delete;

  // Starts the balancer (UserError if its port is in use), launches the group to desired and
  // starts the collector and the scaling loop.
  void start();
  // Takes every worker out of service and stops it (SIGTERM, then SIGKILL after the group's stop
  // grace), then stops the balancer. Returns once no worker runs; runs `io` meanwhile, at most
  // for `deadline`.
  void shutdown(Duration deadline);

  // Runs `io` until `done()` holds or `deadline` passes; true if it held.
  bool run_until(const std::function<bool()>& done, Duration deadline);

  // SIGKILLs `count` in-service workers chosen at random; returns their ids.
  std::vector<WorkerId> kill_in_service(int count, Random& random);

  Balancer& balancer() { return *balancer_; }
  Group& group() { return *group_; }
  TargetGroup& targets() { return *targets_; }
  MetricStore& store() { return store_; }
  ScalingLoop& scaling_loop() { return *loop_; }
  Provider& provider();
  // The group's average CPUUtilization of the last period gathered by the scaling loop.
  std::optional<double> group_cpu() const;
  const std::vector<SystemEvent>& events() const { return events_; }
  // Workers launched to replace dead or unhealthy ones.
  int replaced_workers() const;

  // Adds to the event log and calls on_event.
  void record_event(std::string kind, std::string detail);
  // Called for every new event (after it is recorded), e.g. to print it live.
  std::function<void(const SystemEvent&)> on_event;

 private:
  void wire();

  boost::asio::io_context& io_;
  Scheduler& scheduler_;
  LiveSystemConfig config_;
  std::unique_ptr<ProcessProvider> provider_;
  std::unique_ptr<Balancer> balancer_;
  std::unique_ptr<TargetGroup> targets_;
  MetricStore store_;
  std::unique_ptr<Collector> collector_;
  std::unique_ptr<Group> group_;
  std::unique_ptr<ScalingLoop> loop_;
  std::map<WorkerId, Collector::SourceId> sources_;
  std::vector<SystemEvent> events_;
};

}  // namespace flotilla
