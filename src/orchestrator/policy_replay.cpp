#include "orchestrator/policy_replay.h"

#include <cassert>
#include <csignal>
#include <set>

#include "core/duration.h"
#include "core/errors.h"
#include "fleet/provider.h"

namespace flotilla {

// Workers that exist and serve nothing (the Provider contract, in virtual time): each announces
// itself `boot` after launch and exits 0 `exit_after_stop` after stop(), or at once on SIGKILL.
class PolicyReplay::IdleFleet final : public Provider {
 public:
  IdleFleet(Scheduler& scheduler, Duration boot, Duration exit_after_stop)
      : scheduler_(scheduler), boot_(boot), exit_after_stop_(exit_after_stop) {}

  void set_callbacks(Callbacks callbacks) override { callbacks_ = std::move(callbacks); }

  WorkerId launch(const LaunchSpec&) override {
    const std::uint64_t n = ++launched_;
    const WorkerId id = format_worker_id("i-", n);
    running_.insert(id);
    scheduler_.schedule_after(boot_, [this, id, n] {
      if (running_.count(id) && callbacks_.on_listening)
        callbacks_.on_listening(id, Endpoint{"idle", static_cast<std::uint16_t>(n)});
    });
    return id;
  }

  void stop(const WorkerId& id, Duration) override {
    if (!running_.count(id) || !stopping_.insert(id).second) return;
    scheduler_.schedule_after(exit_after_stop_, [this, id] { exit(id, WorkerExit{0, 0}); });
  }

  void signal(const WorkerId& id, int sig) override {
    if (sig == SIGKILL && running_.count(id))
      scheduler_.schedule_after(Duration::zero(), [this, id] {
        exit(id, WorkerExit{-1, SIGKILL});
      });
  }

  std::optional<int> pid(const WorkerId&) const override { return std::nullopt; }
  std::size_t running() const override { return running_.size(); }

 private:
  void exit(const WorkerId& id, const WorkerExit& how) {
    if (running_.erase(id) == 0) return;
    stopping_.erase(id);
    if (callbacks_.on_exit) callbacks_.on_exit(id, how);
  }

  Scheduler& scheduler_;
  const Duration boot_;
  const Duration exit_after_stop_;
  Callbacks callbacks_;
  std::uint64_t launched_ = 0;
  std::set<WorkerId> running_;
  std::set<WorkerId> stopping_;
};

namespace {

ScalingLoopConfig loop_config(const ReplayTiming& timing) {
  ScalingLoopConfig config;
  config.period = timing.period;
  config.evaluation_delay = timing.evaluation_delay;
  config.max_records = std::max<std::size_t>(timing.periods, 1);
  return config;
}

}  // namespace

PolicyReplay::PolicyReplay(GroupConfig group, ReplayTiming timing, ReplayFeed feed)
    : timing_(timing),
      feed_(std::move(feed)),
      fleet_(std::make_unique<IdleFleet>(scheduler_, timing.boot, timing.exit_after_stop)),
      group_(scheduler_, *fleet_, std::move(group)),
      feed_task_(scheduler_, timing.period,
                 [this] {
                   if (next_period_ >= timing_.periods) return;
                   const GroupState state = group_.state();
                   feed_({next_period_++, feed_task_.tick_time(), state, loop_, store_});
                 }),
      loop_(scheduler_, store_, group_, loop_config(timing)) {
  assert(timing_.period > Duration::zero() && timing_.first_period_end > Time::zero());
  // The replay's workers pass their health check as soon as they announce themselves.
  group_.set_callbacks(
      {[this](const WorkerId& id, const Endpoint&) { group_.mark_healthy(id); }, nullptr, nullptr});
}

PolicyReplay::~PolicyReplay() = default;

void PolicyReplay::add_policy(std::unique_ptr<ScalingPolicy> policy) {
  loop_.add_policy(std::move(policy));
}

void PolicyReplay::run() {
  if (timing_.periods == 0) return;
  group_.start();
  // Started before the loop, so that at equal times the feed runs first.
  feed_task_.start(timing_.first_period_end);
  loop_.set_origin(timing_.origin);
  loop_.start(timing_.first_period_end + timing_.evaluation_delay);
  const auto last = static_cast<Duration::rep>(timing_.periods - 1);
  scheduler_.run_until(timing_.first_period_end + last * timing_.period + timing_.evaluation_delay);
  loop_.stop();
  feed_task_.stop();
}

// --- `flotilla policy replay` ---------------------------------------------------------------

namespace {

constexpr const char* kReplayGroup = "replay";

// A customized metric as the loop reads it: ScalingLoop names the running group and target
// group in these two dimensions, and the replay's target group is named after its group.
// Every in-service worker reports the row's value; every other metric read is the value as is.
ReplayFeed measured_feed(std::vector<std::optional<double>> values) {
  return [values = std::move(values)](const ReplayPeriod& p) {
    const std::optional<double>& v = values[p.index];
    if (!v) return;
    std::set<std::pair<std::string, std::string>> per_worker = {
        {kNamespaceEc2, kMetricCpuUtilization}};
    std::set<MetricId> series;
    for (const auto& policy : p.loop.policies()) {
      for (const MetricRequest& r : policy->metrics()) {
        if (r.kind == MetricKind::per_worker) per_worker.insert({r.id.ns, r.id.name});
        if (r.kind == MetricKind::custom) series.insert(p.loop.localize(r.id));
        if (r.kind == MetricKind::request_count_per_target)
          series.insert(target_group_metric(kMetricRequestCountPerTarget, kReplayGroup));
      }
    }
    // The loop publishes the group's CPU itself, from the workers' series.
    for (const auto& [name, alarm] : p.loop.alarms())
      if (alarm->config().metric != p.loop.group_cpu_metric())
        series.insert(alarm->config().metric);
    for (const WorkerInfo& w : p.group.workers) {
      if (w.state != LifecycleState::in_service) continue;
      for (const auto& [ns, name] : per_worker)
        p.store.put(make_metric_id(ns, name, {{kDimensionInstanceId, w.id}}), p.end, *v);
    }
    for (const MetricId& id : series) p.store.put(id, p.end, *v);
  };
}

}  // namespace

std::unique_ptr<PolicyReplay> replay_recorded_metric(std::unique_ptr<ScalingPolicy> policy,
                                                     const RecordedMetric& metric,
                                                     const ReplayCapacity& capacity) {
  assert(metric.period > Duration::zero() && !metric.values.empty());
  GroupConfig group;
  group.name = kReplayGroup;
  group.min = capacity.min;
  group.max = capacity.max;
  group.desired = capacity.capacity;
  ReplayTiming timing;
  timing.period = metric.period;
  timing.first_period_end = kReplayLeadIn;
  timing.origin = kReplayLeadIn;
  timing.periods = metric.values.size();
  auto replay =
      std::make_unique<PolicyReplay>(std::move(group), timing, measured_feed(metric.values));
  replay->add_policy(std::move(policy));
  for (const auto& [name, alarm] : replay->loop().alarms()) {
    if (alarm->config().period < metric.period)
      throw UserError(metric.file, "",
                      "a period no longer than the Period of the policy's alarm " + name + " (" +
                          format_duration(alarm->config().period) +
                          "; it would only see missing data), got " +
                          format_duration(metric.period));
  }
  replay->run();
  return replay;
}

Time recorded_time_origin(const RecordedMetric& metric) { return kReplayLeadIn - metric.start; }

std::string recorded_time_label(const RecordedMetric& metric, Time t) {
  return metric.format_time(t - recorded_time_origin(metric));
}

}  // namespace flotilla
