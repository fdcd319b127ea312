#include "scaling/hpa.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <filesystem>

#include "core/duration.h"
#include "core/format.h"
#include "scaling/decide_util.h"
#include "scaling/policy_file.h"

namespace flotilla {

namespace {

constexpr const char* kWorkerNamespace = "Flotilla/Worker";

bool within(double ratio, double tolerance) { return std::abs(1.0 - ratio) <= tolerance; }

std::string metric_label(const HpaMetric& m) {
  switch (m.type) {
    case HpaMetricType::resource_cpu:
      return "cpu utilization";
    case HpaMetricType::pods:
      return "pods " + m.name;
    case HpaMetricType::object:
      return "object " + m.name;
    case HpaMetricType::external:
      return "external " + m.ns + "/" + m.name;
  }
  return m.name;
}

// Pods and Resource metrics (GetResourceReplicas / calcPlainMetricReplicas).
HpaProposal per_worker(const HpaConfig& c, const HpaMetric& m, const MetricSeries* series,
                       const GroupState& group, Time now) {
  HpaProposal out;
  const std::string label = metric_label(m);
  if (series == nullptr) {
    out.reason = label + ": no data";
    return out;
  }
  const bool cpu = m.type == HpaMetricType::resource_cpu;
  std::vector<double> values;  // ready workers with a value
  int missing = 0, ignored = 0;
  for (const WorkerInfo& w : group.workers) {
    if (w.state != LifecycleState::pending && w.state != LifecycleState::in_service) continue;
    if (w.state == LifecycleState::pending) {
      ++ignored;
      continue;
    }
    std::optional<double> v;
    for (const auto& wv : series->workers)
      if (wv.id == w.id) v = wv.value;
    if (!v) {
      ++missing;
      continue;
    }
    if (cpu && (!w.in_service_since || *w.in_service_since > now - series->period)) {
      ++ignored;
      continue;
    }
    values.push_back(*v);
    out.datapoints.push_back({now, v});
  }
  if (values.empty()) {
    out.reason = label + ": no metrics for any ready worker";
    return out;
  }
  const int current = group.desired;
  auto ratio_of = [&](const std::vector<double>& vs) {
    double sum = 0;
    for (double v : vs) sum += v;
    return sum / static_cast<double>(vs.size()) / m.target;
  };
  const double ratio = ratio_of(values);
  const std::string head = label + " " + format_number(ratio * m.target) + " (target " +
                           format_number(m.target) + ", ratio " + format_number(ratio, 3) + ")";
  const bool rebalance = ignored > 0 && ratio > 1.0;
  const int ready = static_cast<int>(values.size());
  if (!rebalance && missing == 0) {
    if (within(ratio, c.tolerance)) {
      out.replicas = current;
      out.reason = head + ": within tolerance " + format_number(c.tolerance);
      return out;
    }
    out.replicas = ceil_int(ratio * ready);
    out.reason = head + ": ceil(" + format_number(ratio, 3) + " x " + std::to_string(ready) +
                 " ready) = " + std::to_string(*out.replicas);
    return out;
  }
  std::vector<double> filled = values;
  if (missing > 0) {
    // Scale-down: missing workers use 100% of their request (cpu) or the target; scale-up: 0.
    // The controller fills on a scale-up at ratio exactly 1 for plain metrics, not for cpu.
    const bool down = ratio < 1.0;
    const bool up = cpu ? ratio > 1.0 : ratio >= 1.0;
    const double fill = down ? (cpu ? 100.0 : m.target) : 0.0;
    if (down || up) filled.insert(filled.end(), static_cast<std::size_t>(missing), fill);
  }
  if (rebalance) filled.insert(filled.end(), static_cast<std::size_t>(ignored), 0.0);
  const double ratio2 = ratio_of(filled);
  const std::string assumed = std::to_string(missing) + " missing, " + std::to_string(ignored) +
                              " unready; ratio with them " + format_number(ratio2, 3);
  if (within(ratio2, c.tolerance) || (ratio < 1.0 && ratio2 > 1.0) ||
      (ratio > 1.0 && ratio2 < 1.0)) {
    out.replicas = current;
    out.reason = head + ": " + assumed + ": no change";
    return out;
  }
  const int n = static_cast<int>(filled.size());
  int proposal = ceil_int(ratio2 * n);
  if ((ratio2 < 1.0 && proposal > current) || (ratio2 > 1.0 && proposal < current))
    proposal = current;
  out.replicas = proposal;
  out.reason = head + ": " + assumed + ": ceil(" + format_number(ratio2, 3) + " x " +
               std::to_string(n) + ") = " + std::to_string(proposal);
  return out;
}

// Object and External metrics.
HpaProposal single_value(const HpaConfig& c, const HpaMetric& m, const MetricSeries* series,
                         const GroupState& group) {
  HpaProposal out;
  const std::string label = metric_label(m);
  if (series == nullptr || series->periods.empty() || !series->periods.back().value) {
    out.reason = label + ": no data";
    return out;
  }
  out.datapoints = {series->periods.back()};
  const double value = *series->periods.back().value;
  const int current = group.desired;
  const std::string head = label + " " + format_number(value) + " (target " +
                           (m.target_type == HpaTargetType::average_value ? "average " : "") +
                           format_number(m.target) + ")";
  if (m.target_type == HpaTargetType::average_value) {
    const double ratio = current > 0 ? value / (m.target * current) : 2.0;
    if (current > 0 && within(ratio, c.tolerance)) {
      out.replicas = current;
      out.reason = head + ": within tolerance";
      return out;
    }
    out.replicas = ceil_int(value / m.target);
    out.reason = head + ": ceil(" + format_number(value) + " / " + format_number(m.target) +
                 ") = " + std::to_string(*out.replicas);
    return out;
  }
  const double ratio = value / m.target;
  if (current == 0) {
    out.replicas = ceil_int(ratio);
    out.reason = head + ": ceil(" + format_number(ratio, 3) + ")";
    return out;
  }
  if (within(ratio, c.tolerance)) {
    out.replicas = current;
    out.reason = head + ": within tolerance";
    return out;
  }
  out.replicas = ceil_int(ratio * group.in_service);
  out.reason = head + ": ceil(" + format_number(ratio, 3) + " x " +
               std::to_string(group.in_service) + " ready) = " + std::to_string(*out.replicas);
  return out;
}

int scale_up_limit(int current, const HpaHistory& h, const HpaRules& rules, Time now) {
  if (rules.select == HpaSelect::disabled) return current;
  int result = rules.select == HpaSelect::min ? INT_MAX : INT_MIN;
  for (const HpaRatePolicy& p : rules.policies) {
    int added = 0;
    for (const auto& [t, change] : h.scale_events)
      if (change > 0 && t > now - p.period) added += change;
    const int start = current - added;
    const int proposed = p.type == HpaRatePolicy::Type::pods
                             ? start + p.value
                             : static_cast<int>(std::ceil(start * (1.0 + p.value / 100.0)));
    result =
        rules.select == HpaSelect::min ? std::min(result, proposed) : std::max(result, proposed);
  }
  return rules.policies.empty() ? INT_MAX : result;
}

int scale_down_limit(int current, const HpaHistory& h, const HpaRules& rules, Time now) {
  if (rules.select == HpaSelect::disabled) return current;
  int result = rules.select == HpaSelect::min ? INT_MIN : INT_MAX;
  for (const HpaRatePolicy& p : rules.policies) {
    int removed = 0;
    for (const auto& [t, change] : h.scale_events)
      if (change < 0 && t > now - p.period) removed -= change;
    const int start = current + removed;
    const int proposed = p.type == HpaRatePolicy::Type::pods
                             ? start - p.value
                             : static_cast<int>(start * (1.0 - p.value / 100.0));
    result =
        rules.select == HpaSelect::min ? std::max(result, proposed) : std::min(result, proposed);
  }
  return rules.policies.empty() ? INT_MIN : result;
}

Duration longest_period(const HpaConfig& c) {
  Duration d = std::max(c.scale_up.stabilization_window, c.scale_down.stabilization_window);
  for (const auto* rules : {&c.scale_up, &c.scale_down})
    for (const auto& p : rules->policies) d = std::max(d, p.period);
  return d;
}

}  // namespace

HpaRules default_hpa_scale_up(double time_scale) {
  const Duration period = scaled_seconds(15, time_scale);
  return {Duration::zero(),
          HpaSelect::max,
          {{HpaRatePolicy::Type::percent, 100, period}, {HpaRatePolicy::Type::pods, 4, period}}};
}

HpaRules default_hpa_scale_down(double time_scale) {
  return {scaled_seconds(300, time_scale),
          HpaSelect::max,
          {{HpaRatePolicy::Type::percent, 100, scaled_seconds(15, time_scale)}}};
}

std::string hpa_metric_key(const HpaConfig& config, std::size_t i) {
  return "hpa/" + std::to_string(i) + "/" + config.metrics[i].name;
}

HpaProposal hpa_proposal(const HpaConfig& config, const HpaMetric& metric,
                         const MetricsSnapshot& metrics, const GroupState& group, Time now) {
  std::size_t index = 0;
  for (; index < config.metrics.size(); ++index)
    if (&config.metrics[index] == &metric) break;
  const MetricSeries* series = metrics.find(hpa_metric_key(config, index));
  if (metric.type == HpaMetricType::resource_cpu || metric.type == HpaMetricType::pods)
    return per_worker(config, metric, series, group, now);
  return single_value(config, metric, series, group);
}

Decision hpa_decide(const HpaConfig& c, const MetricsSnapshot& metrics, const GroupState& group,
                    Time now, HpaHistory& history) {
  Decision d;
  if (history.last_desired && group.desired != *history.last_desired)
    history.scale_events.push_back(
        {history.last_evaluation, group.desired - *history.last_desired});
  const Duration keep = longest_period(c);
  while (!history.scale_events.empty() && history.scale_events.front().first <= now - keep)
    history.scale_events.pop_front();
  history.last_desired = group.desired;
  history.last_evaluation = now;

  const int current = group.desired;
  const int min = std::max(c.min_replicas.value_or(group.min), group.min);
  const int max = std::min(c.max_replicas.value_or(group.max), group.max);
  if (current == 0 && min != 0) {
    d.reason = "scaling is disabled while current replicas is 0";
    return d;
  }
  if (current > max || current < min) {
    const int to = current > max ? max : min;
    d.rule = current > max ? "current replicas above max_replicas"
                           : "current replicas below min_replicas";
    d.unclamped = to;
    d.desired = to;
    d.reason = d.rule + ": " + desired_arrow(current, to);
    return d;
  }

  std::optional<int> proposal;
  int invalid = 0;
  std::string reasons;
  for (const HpaMetric& m : c.metrics) {
    HpaProposal p = hpa_proposal(c, m, metrics, group, now);
    reasons += (reasons.empty() ? "" : "; ") + p.reason;
    if (!p.replicas) {
      ++invalid;
      continue;
    }
    if (!proposal || *p.replicas > *proposal) {
      proposal = p.replicas;
      d.rule = metric_label(m);
      d.datapoints = p.datapoints;
    }
  }
  if (!proposal) {
    d.reason = reasons + ": no change";
    return d;
  }
  if (invalid > 0 && *proposal < current) {
    d.reason = reasons + ": no scale-down while a metric is missing";
    return d;
  }
  d.unclamped = *proposal;

  // Stabilization: the new recommendation counts; older ones within each window.
  int up = *proposal, down = *proposal;
  for (const auto& [t, r] : history.recommendations) {
    if (t > now - c.scale_up.stabilization_window) up = std::min(up, r);
    if (t > now - c.scale_down.stabilization_window) down = std::max(down, r);
  }
  history.recommendations.push_back({now, *proposal});
  const Duration windows =
      std::max(c.scale_up.stabilization_window, c.scale_down.stabilization_window);
  while (!history.recommendations.empty() && history.recommendations.front().first <= now - windows)
    history.recommendations.pop_front();
  int stabilized = current;
  if (stabilized < up) stabilized = up;
  if (stabilized > down) stabilized = down;
  std::string note;
  if (stabilized != *proposal) {
    d.clamped_by.push_back(kClampStabilization);
    note += "; stabilized to " + std::to_string(stabilized) + " (" +
            (stabilized > *proposal ? "highest recommendation in the last " +
                                          format_duration(c.scale_down.stabilization_window)
                                    : "lowest recommendation in the last " +
                                          format_duration(c.scale_up.stabilization_window)) +
            ")";
  }

  int want = stabilized;
  if (stabilized > current) {
    const int limit = std::max(scale_up_limit(current, history, c.scale_up, now), current);
    if (limit < max && want > limit) {
      want = limit;
      d.clamped_by.push_back(kClampRate);
      note += "; scale-up rate limit " + std::to_string(limit);
    } else if (want > max) {
      want = max;
      d.clamped_by.push_back(kClampMax);
      note += "; max " + std::to_string(max);
    }
  } else if (stabilized < current) {
    const int limit = std::min(scale_down_limit(current, history, c.scale_down, now), current);
    if (limit > min && want < limit) {
      want = limit;
      d.clamped_by.push_back(kClampRate);
      note += "; scale-down rate limit " + std::to_string(limit);
    } else if (want < min) {
      want = min;
      d.clamped_by.push_back(kClampMin);
      note += "; min " + std::to_string(min);
    }
  }
  if (want == current) {
    d.reason = reasons + note + ": no change";
    return d;
  }
  d.desired = want;
  d.reason = reasons + note + ": " + desired_arrow(current, want);
  return d;
}

HpaPolicy::HpaPolicy(HpaConfig config) : config_(std::move(config)) {}

const std::string& HpaPolicy::type() const {
  static const std::string kType = kHpaType;
  return kType;
}

std::vector<MetricRequest> HpaPolicy::metrics() const {
  std::vector<MetricRequest> out;
  for (std::size_t i = 0; i < config_.metrics.size(); ++i) {
    const HpaMetric& m = config_.metrics[i];
    MetricRequest r;
    r.metric = hpa_metric_key(config_, i);
    r.statistic = m.statistic;
    switch (m.type) {
      case HpaMetricType::resource_cpu:
        r.kind = MetricKind::per_worker;
        r.id = make_metric_id(kNamespaceEc2, kMetricCpuUtilization);
        r.statistic = Statistic::average;
        break;
      case HpaMetricType::pods:
        r.kind = MetricKind::per_worker;
        r.id = make_metric_id(kWorkerNamespace, m.name);
        break;
      case HpaMetricType::object:
        r.kind = MetricKind::custom;
        r.id = make_metric_id(kNamespaceApplicationElb, m.name, {{kDimensionTargetGroup, ""}});
        break;
      case HpaMetricType::external:
        r.kind = MetricKind::custom;
        r.id = make_metric_id(m.ns, m.name, m.dimensions);
        break;
    }
    out.push_back(std::move(r));
  }
  return out;
}

Decision HpaPolicy::decide(const MetricsSnapshot& metrics, const GroupState& group, Time now) {
  return hpa_decide(config_, metrics, group, now, history_);
}

}  // namespace flotilla
