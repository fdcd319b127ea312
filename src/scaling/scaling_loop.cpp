#include "scaling/scaling_loop.h"

#include <algorithm>
#include <cassert>

namespace flotilla {

bool DecisionRecord::logged() const {
  if (combined || min_after || max_after || desired_after != desired_before) return true;
  for (const auto& p : policies)
    if (p.decision.wanted_change(desired_before)) return true;
  return false;
}

ScalingLoop::ScalingLoop(Scheduler& scheduler, MetricStore& store, Group& group,
                         ScalingLoopConfig config)
    : scheduler_(scheduler),
      store_(store),
      group_(group),
      config_(std::move(config)),
      task_(scheduler, config_.period, [this] { tick_at(task_.tick_time()); }) {
  assert(config_.max_records > 0);
}

ScalingLoop::~ScalingLoop() = default;

void ScalingLoop::add_policy(std::unique_ptr<ScalingPolicy> policy) {
  assert(policy);
  for (AlarmConfig& a : policy->alarms()) {
    a.metric = localize(a.metric);
    // The first policy to name an alarm defines it.
    if (alarms_.count(a.name) == 0) {
      const std::string name = a.name;
      alarms_.emplace(name, std::make_unique<Alarm>(scheduler_, store_, std::move(a)));
    }
  }
  policies_.push_back(std::move(policy));
}

void ScalingLoop::start(Time first) { task_.start(first); }
void ScalingLoop::start() {
  task_.start(scheduler_.now() + config_.period + config_.evaluation_delay);
}
void ScalingLoop::stop() { task_.stop(); }

void ScalingLoop::set_origin(Time origin) {
  for (const auto& p : policies_) p->set_origin(origin);
}

Duration ScalingLoop::warmup() const {
  Duration w = Duration::zero();
  for (const auto& p : policies_)
    for (const auto& r : p->metrics())
      if (r.kind == MetricKind::group_cpu) w = std::max(w, r.warmup);
  return w;
}

MetricId ScalingLoop::group_cpu_metric() const {
  return group_metric(kNamespaceEc2, kMetricCpuUtilization, group_.name());
}

const std::string& ScalingLoop::target_group() const {
  return config_.target_group.empty() ? group_.name() : config_.target_group;
}

MetricId ScalingLoop::localize(const MetricId& id) const {
  auto dims = id.dimensions;
  for (auto& [key, value] : dims) {
    if (key == kDimensionAutoScalingGroupName) value = group_.name();
    if (key == kDimensionTargetGroup) value = target_group();
  }
  return make_metric_id(id.ns, id.name, std::move(dims));
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

MetricSeries ScalingLoop::gather(const MetricRequest& r, const GroupState& state, Time end) const {
  MetricSeries s;
  s.metric = r.metric;
  s.period = config_.period;
  s.statistic = r.statistic;
  double scale = 1;
  switch (r.kind) {
    case MetricKind::group_cpu:
      s.id = group_cpu_metric();
      s.statistic = Statistic::average;
      break;
    case MetricKind::request_count_per_target:
      s.id = target_group_metric(kMetricRequestCountPerTarget, target_group());
      s.statistic = Statistic::sum;
      scale = 60.0 / to_seconds(config_.period);
      break;
    case MetricKind::custom:
      s.id = localize(r.id);
      break;
    case MetricKind::per_worker: {
      s.id = r.id;
      for (const WorkerInfo& w : state.workers) {
        if (w.state != LifecycleState::pending && w.state != LifecycleState::in_service) continue;
        const MetricId id = make_metric_id(r.id.ns, r.id.name, {{kDimensionInstanceId, w.id}});
        s.workers.push_back({w.id, store_.statistic(id, r.statistic, end, config_.period)});
      }
      return s;
    }
  }
  const std::size_t count = static_cast<std::size_t>(std::max(r.periods, 1));
  const auto values = store_.statistics(s.id, s.statistic, end, s.period, count);
  for (std::size_t i = 0; i < count; ++i) {
    const auto back = static_cast<Duration::rep>(count - 1 - i);
    auto v = values[i];
    if (v) *v *= scale;
    s.periods.push_back({end - back * s.period, v});
  }
  return s;
}

MetricsSnapshot ScalingLoop::snapshot_for(const ScalingPolicy& policy, const GroupState& state,
                                          Time end) const {
  MetricsSnapshot snap;
  for (const MetricRequest& r : policy.metrics()) snap.series.push_back(gather(r, state, end));
  for (const AlarmConfig& a : policy.alarms()) {
    auto it = alarms_.find(a.name);
    if (it == alarms_.end() || !it->second->last()) continue;
    const Alarm& alarm = *it->second;
    const AlarmEvaluation& ev = *alarm.last();
    AlarmSnapshot as;
    as.name = alarm.name();
    as.state = ev.state;
    as.threshold = alarm.config().threshold;
    as.comparison = alarm.config().comparison;
    as.metric = alarm.config().metric.to_string() + " " + to_string(alarm.config().statistic);
    for (const AlarmDatapoint& p : ev.range) as.datapoints.push_back({p.end, p.value});
    as.reason = ev.reason;
    snap.alarms.push_back(std::move(as));
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
  for (auto& [name, alarm] : alarms_) alarm->evaluate(end);

  rec.policies.reserve(policies_.size());
  for (const auto& p : policies_) {
    const MetricsSnapshot snap = snapshot_for(*p, state, end);
    PolicyEvaluation ev;
    ev.policy = p->name();
    ev.type = p->type();
    ev.role = p->role();
    ev.may_scale_in = p->may_scale_in();
    ev.decision = p->decide(snap, state, end);
    if (!ev.decision.datapoints.empty()) {
      ev.values = ev.decision.datapoints;
    } else if (!snap.series.empty()) {
      ev.values = snap.series.front().periods;
    }
    rec.policies.push_back(std::move(ev));
  }

  CombinedDecision c = combine_decisions(state, rec.policies);
  for (const LimitChange& l : c.limits) {
    group_.set_limits(l.min, l.max, l.cause);
    rec.min_after = l.min;
    rec.max_after = l.max;
  }
  rec.combined = c.desired;
  rec.reason = std::move(c.reason);
  rec.clamped_by = std::move(c.clamped_by);
  rec.desired_after =
      rec.combined ? group_.set_desired(*rec.combined, rec.reason) : group_.desired();
  if (rec.combined && rec.desired_after != *rec.combined)
    rec.clamped_by.push_back(*rec.combined > rec.desired_after ? kClampMax : kClampMin);

  publish_group_metrics(now);
  records_.push_back(std::move(rec));
  records_.drop_beyond(config_.max_records);
}

void ScalingLoop::prune_before(Time cutoff) {
  // The newest record stays: it holds the group's CPU of the last period (System::group_cpu).
  records_.drop_front_while([cutoff](const DecisionRecord& r) { return r.t < cutoff; }, 1);
  for (auto& [name, alarm] : alarms_) alarm->prune_before(cutoff);
}

}  // namespace flotilla
