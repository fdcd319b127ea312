#include "scaling/scaling_loop.h"

#include <algorithm>
#include <cassert>

namespace flotilla {

ScalingLoop::ScalingLoop(Scheduler& scheduler, MetricStore& store, Group& group,
                         ScalingLoopConfig config)
    : scheduler_(scheduler),
      store_(store),
      group_(group),
      config_(config),
      task_(scheduler, config.period, [this] { tick_at(task_.tick_time()); }) {
  assert(config_.max_records > 0);
}

ScalingLoop::~ScalingLoop() = default;

void ScalingLoop::add_policy(std::unique_ptr<ScalingPolicy> policy) {
  assert(policy);
  policies_.push_back(std::move(policy));
}

void ScalingLoop::start(Time first) { task_.start(first); }
void ScalingLoop::start() {
  task_.start(scheduler_.now() + config_.period + config_.evaluation_delay);
}
void ScalingLoop::stop() { task_.stop(); }

Duration ScalingLoop::warmup() const {
  Duration w = Duration::zero();
  for (const auto& p : policies_)
    for (const auto& r : p->metrics())
      if (r.metric == kAsgAverageCpuUtilization) w = std::max(w, r.warmup);
  return w;
}

MetricId ScalingLoop::group_cpu_metric() const {
  return group_metric(kNamespaceEc2, kMetricCpuUtilization, group_.name());
}

std::optional<double> ScalingLoop::gather_group_cpu(const GroupState& state, Time end) {
  const Duration warm = warmup();
  double sum = 0;
  int n = 0;
  for (const WorkerInfo& w : state.workers) {
    if (w.state != LifecycleState::in_service || !w.in_service_since) continue;
    // Still warming up: its load does not yet reflect a share of the traffic.
    if (*w.in_service_since + warm > end) continue;
    const auto v = store_.statistic(instance_metric(kMetricCpuUtilization, w.id),
                                    Statistic::average, end, config_.period);
    if (!v) continue;
    sum += *v;
    ++n;
  }
  if (n == 0) return std::nullopt;
  const double avg = sum / n;
  store_.put(group_cpu_metric(), end, avg);
  return avg;
}

MetricsSnapshot ScalingLoop::snapshot_for(const ScalingPolicy& policy, Time end) const {
  MetricsSnapshot snap;
  for (const MetricRequest& r : policy.metrics()) {
    // Unknown metrics are left out: the policy then decides on missing data.
    if (r.metric != kAsgAverageCpuUtilization) continue;
    MetricSeries s;
    s.metric = r.metric;
    s.id = group_cpu_metric();
    s.statistic = Statistic::average;
    s.period = config_.period;
    const std::size_t count = static_cast<std::size_t>(std::max(r.periods, 1));
    const auto values = store_.statistics(s.id, s.statistic, end, s.period, count);
    for (std::size_t i = 0; i < count; ++i) {
      const auto back = static_cast<Duration::rep>(count - 1 - i);
      s.periods.push_back({end - back * s.period, values[i]});
    }
    snap.series.push_back(std::move(s));
  }
  return snap;
}

void ScalingLoop::publish_group_metrics(Time t) {
  const GroupState s = group_.state();
  auto put = [&](const char* name, int v) {
    store_.put(group_metric(kNamespaceAutoScaling, name, s.name), t, v);
  };
  put("GroupMinSize", s.min);
  put("GroupMaxSize", s.max);
  put("GroupDesiredCapacity", s.desired);
  put("GroupInServiceInstances", s.in_service);
  put("GroupPendingInstances", s.pending);
  put("GroupTerminatingInstances", s.draining + s.terminating);
  put("GroupTotalInstances", s.pending + s.in_service + s.draining + s.terminating);
}

void ScalingLoop::tick() { tick_at(scheduler_.now()); }

void ScalingLoop::tick_at(Time now) {
  const Time end = now - config_.evaluation_delay;
  const GroupState state = group_.state();

  DecisionRecord rec;
  rec.t = now;
  rec.period_end = end;
  rec.desired_before = state.desired;
  rec.group_cpu = gather_group_cpu(state, end);

  const PolicyEvaluation* best_out = nullptr;
  const PolicyEvaluation* best_in = nullptr;
  std::size_t ins = 0;
  rec.policies.reserve(policies_.size());
  for (const auto& p : policies_) {
    const MetricsSnapshot snap = snapshot_for(*p, end);
    PolicyEvaluation ev;
    ev.policy = p->name();
    if (!snap.series.empty()) ev.values = snap.series.front().periods;
    ev.decision = p->decide(snap, state, end);
    rec.policies.push_back(std::move(ev));
  }
  for (const PolicyEvaluation& ev : rec.policies) {
    const auto& d = ev.decision.desired;
    if (d && *d > state.desired && (!best_out || *d > *best_out->decision.desired)) best_out = &ev;
    if (d && *d < state.desired) {
      ++ins;
      if (!best_in || *d > *best_in->decision.desired) best_in = &ev;
    }
  }

  const PolicyEvaluation* chosen = nullptr;
  if (best_out) {
    chosen = best_out;
  } else if (best_in && ins == rec.policies.size()) {
    chosen = best_in;
  }
  if (chosen) {
    rec.combined = chosen->decision.desired;
    rec.reason = chosen->policy + ": " + chosen->decision.reason;
    rec.desired_after = group_.set_desired(*rec.combined, rec.reason);
  } else {
    rec.desired_after = state.desired;
    if (rec.policies.empty()) {
      rec.reason = "no scaling policies";
    } else {
      if (best_in) rec.reason = "scale-in needs every policy to agree; ";
      for (std::size_t i = 0; i < rec.policies.size(); ++i) {
        if (i > 0) rec.reason += "; ";
        rec.reason += rec.policies[i].policy + ": " + rec.policies[i].decision.reason;
      }
    }
  }

  publish_group_metrics(now);
  records_.push_back(std::move(rec));
  while (records_.size() > config_.max_records) records_.pop_front();
}

}  // namespace flotilla
