#include "orchestrator/system.h"

#include <algorithm>
#include <set>
#include <string_view>

#include "core/duration.h"
#include "orchestrator/balancer_metrics_source.h"

namespace flotilla {

System::System(Environment& environment, SystemConfig config)
    : env_(environment), scheduler_(environment.scheduler()), config_(std::move(config)) {
  targets_ =
      std::make_unique<TargetGroup>(scheduler_, env_.health_probe(), config_.target_group);
  // The group's own timer is only a backstop for a target group that never releases.
  config_.group.drain_delay =
      std::max(config_.group.drain_delay, config_.target_group.deregistration_delay + 1s);
  collector_ = std::make_unique<Collector>(scheduler_, store_, config_.metrics_period);
  launch_faults_ = std::make_unique<FaultProvider>(scheduler_, env_.provider());
  group_ = std::make_unique<Group>(scheduler_, *launch_faults_, config_.group);
  ScalingLoopConfig loop_config;
  loop_config.period = config_.metrics_period;
  // Worker /metrics answers arrive within the collector's HTTP timeout (a quarter period);
  // evaluate each period once they are in.
  loop_config.evaluation_delay = config_.metrics_period / 2;
  loop_ = std::make_unique<ScalingLoop>(scheduler_, store_, *group_, loop_config);
  for (auto& policy : config_.policies) loop_->add_policy(std::move(policy));
  config_.policies.clear();
  wire();
}

System::~System() {
  // Order: nothing may call into a component after it is gone. The environment's provider
  // SIGKILLs whatever still runs when the environment goes.
  loop_.reset();
  collector_.reset();
  group_.reset();
  targets_.reset();
  env_.data_plane().stop();
}

void System::record_event(std::string kind, std::string detail) {
  events_.push_back({scheduler_.now(), std::move(kind), std::move(detail)});
  if (on_event) on_event(events_.back());
}

void System::prune_before(Time cutoff) {
  group_->prune_before(cutoff);
  loop_->prune_before(cutoff);
  store_.prune_before(cutoff);
  events_.drop_front_while([cutoff](const SystemEvent& e) { return e.t < cutoff; });
  std::set<std::string_view> kept;
  for (const WorkerHistory& h : group_->history()) kept.insert(h.id);
  std::erase_if(target_totals_, [&kept](const auto& entry) { return !kept.contains(entry.first); });
}

void System::wire() {
  const Duration metrics_timeout = std::min<Duration>(config_.metrics_period / 4, 1s);
  Group::Callbacks group_callbacks;
  group_callbacks.on_listening = [this, metrics_timeout](const WorkerId& id,
                                                         const Endpoint& endpoint) {
    targets_->register_target(id, endpoint);
    sources_[id] = collector_->add_source(env_.worker_metrics(id, endpoint, metrics_timeout));
  };
  group_callbacks.on_leaving_service = [this](const WorkerId& id) {
    targets_->deregister_target(id);
  };
  group_callbacks.on_terminated = [this](const WorkerId& id) {
    targets_->deregister_target(id);
    if (auto it = sources_.find(id); it != sources_.end()) {
      collector_->remove_source(it->second);
      sources_.erase(it);
    }
  };
  group_->set_callbacks(std::move(group_callbacks));

  TargetGroup::Callbacks target_callbacks;
  target_callbacks.on_state_change = [this](const std::string& id, TargetState old_state,
                                            TargetState new_state, std::string_view reason) {
    if (new_state == TargetState::kHealthy) group_->mark_healthy(id);
    if (new_state == TargetState::kUnhealthy && old_state == TargetState::kHealthy) {
      record_event("target_unhealthy", id + " (" + std::string(reason) + ")");
      const auto state = group_->worker_state(id);
      if (state == LifecycleState::in_service)
        group_->replace_unhealthy(id, "target health " + std::string(reason));
    }
  };
  target_callbacks.publish = [this](std::vector<BalancerTarget> routable) {
    note_target_stats();
    env_.data_plane().set_targets(std::move(routable));
  };
  target_callbacks.on_released = [this](const std::string& id) { group_->target_released(id); };
  target_callbacks.on_ejection = [this](const std::string& id, bool ejected, Time until) {
    if (ejected)
      record_event("target_ejected",
                   id + " (consecutive failures) for " +
                       format_duration(std::chrono::round<std::chrono::milliseconds>(
                           until - scheduler_.now())));
  };
  targets_->set_callbacks(std::move(target_callbacks));
  // AWS/ApplicationELB metrics of the balancer, with the group's name as the TargetGroup.
  BalancerMetricsConfig balancer_metrics;
  balancer_metrics.target_group = group_->name();
  collector_->add_source(std::make_shared<BalancerMetricsSource>(
      balancer_metrics, [this] { return env_.data_plane().stats(); },
      [this] {
        return HostCounts{static_cast<int>(targets_->healthy_host_count()),
                          static_cast<int>(targets_->unhealthy_host_count())};
      }));
  targets_->set_load_source(
      [this](const std::string& id) { return env_.data_plane().target_load(id); });
}

void System::start() {
  env_.data_plane().start();
  group_->start();
  // One grid for both: the loop evaluates the period the collector just stamped.
  const Time first = scheduler_.now() + config_.metrics_period;
  collector_->start(first);
  loop_->start(first + loop_->config().evaluation_delay);
}

int System::replaced_workers() const {
  // The group records a replacement as an activity that keeps the desired capacity; a failed
  // launch is such an activity too, but replaces nothing.
  return static_cast<int>(
      std::count_if(group_->activities().begin(), group_->activities().end(),
                    [](const Activity& a) { return a.from == a.to && !a.failed; }));
}

void System::note_target_stats() {
  BalancerStats now = env_.data_plane().stats();
  for (auto& [id, stats] : now.targets) target_totals_[id] = std::move(stats);
}

const std::map<std::string, BalancerTargetStats>& System::target_totals() {
  note_target_stats();
  return target_totals_;
}

std::optional<double> System::group_cpu() const {
  const auto& records = loop_->records();
  if (records.empty()) return std::nullopt;
  return records.back().group_cpu;
}

void System::shutdown(Duration deadline) {
  loop_->stop();
  collector_->stop();
  group_->shut_down("run finished");
  Provider& provider = env_.provider();
  // A signal that began this stop does not cut it short; one more does.
  env_.run_until_signal([&provider] { return provider.running() == 0; }, deadline,
                        env_.signals_received() + 1);
  env_.data_plane().stop();
}

}  // namespace flotilla
