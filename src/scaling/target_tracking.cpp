#include "scaling/target_tracking.h"

#include "core/format.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "core/duration.h"

namespace flotilla {

TargetTrackingPolicy::TargetTrackingPolicy(TargetTrackingConfig config)
    : config_(std::move(config)) {}

const std::string& TargetTrackingPolicy::type() const {
  static const std::string kType = kTargetTrackingType;
  return kType;
}

std::vector<MetricRequest> TargetTrackingPolicy::metrics() const {
  return {{config_.metric, std::max(config_.scale_out_periods, config_.scale_in_periods),
           config_.warmup}};
}

namespace {

// Consecutive periods, newest backwards, whose value exists and satisfies `pred`.
template <typename Pred>
int trailing(const std::vector<PeriodValue>& periods, Pred pred) {
  int n = 0;
  for (auto it = periods.rbegin(); it != periods.rend(); ++it) {
    if (!it->value || !pred(*it->value)) break;
    ++n;
  }
  return n;
}

// ceil(n x metric / target), tolerant of floating-point noise just above a whole number.
int capacity_for(int n, double metric, double target) {
  const double exact = static_cast<double>(n) * metric / target;
  return static_cast<int>(std::ceil(exact - 1e-9));
}

}  // namespace

Decision TargetTrackingPolicy::decide(const MetricsSnapshot& metrics, const GroupState& group,
                                      Time now) {
  const std::string metric_name = kMetricCpuUtilization;
  const MetricSeries* series = metrics.find(config_.metric);
  if (series == nullptr || series->periods.empty() || !series->periods.back().value)
    return {std::nullopt, "insufficient data: no " + metric_name + " for the latest period", {}};

  const double value = *series->periods.back().value;
  const double target = config_.target_value;
  const double low = target * config_.scale_in_ratio;
  const std::string v = format_number(value);
  const std::string t = format_number(target);
  const int n = group.in_service_warmed(now, config_.warmup);
  if (n == 0) {
    return {std::nullopt,
            metric_name + " " + v + " but no worker is in service past warm-up: no change",
            {}};
  }
  const std::string formula = "ceil(" + std::to_string(n) + " x " + v + " / " + t + ")";
  const int computed = capacity_for(n, value, target);
  const int clamped = std::clamp(computed, group.min, group.max);
  auto arrow = [&](int to) {
    std::string s = "desired " + std::to_string(group.desired) + " -> " + std::to_string(to);
    if (computed > group.max)
      s += " (" + formula + " = " + std::to_string(computed) + ", clamped to max " +
           std::to_string(group.max) + ")";
    else if (computed < group.min)
      s += " (" + formula + " = " + std::to_string(computed) + ", clamped to min " +
           std::to_string(group.min) + ")";
    else
      s += " (" + formula + ")";
    return s;
  };

  const int out_periods = config_.scale_out_periods;
  const int above = trailing(series->periods, [&](double x) { return x > target; });
  if (above >= out_periods) {
    const std::string head =
        metric_name + " " + v + " > " + t + " for " + std::to_string(out_periods) + " periods: ";
    if (clamped > group.desired) return {clamped, head + arrow(clamped), computed};
    if (group.desired >= group.max)
      return {std::nullopt, head + "desired " + std::to_string(group.desired) + " already at max",
              computed};
    return {std::nullopt,
            head + "desired " + std::to_string(group.desired) + " already covers " + formula +
                " = " + std::to_string(computed),
            computed};
  }

  const int in_periods = config_.scale_in_periods;
  const int below = trailing(series->periods, [&](double x) { return x < low; });
  const std::string low_text =
      format_number(low) + " (" + format_number(config_.scale_in_ratio * 100) + "% of " + t + ")";
  if (below >= in_periods) {
    const std::string head = metric_name + " " + v + " < " + low_text + " for " +
                             std::to_string(in_periods) + " periods: ";
    if (config_.disable_scale_in) return {std::nullopt, head + "scale-in disabled", {}};
    if (config_.scale_in_cooldown && group.last_desired_change &&
        now - *group.last_desired_change < *config_.scale_in_cooldown) {
      const Duration left = *group.last_desired_change + *config_.scale_in_cooldown - now;
      return {std::nullopt, head + "scale-in cooldown, " + format_duration(left) + " left", {}};
    }
    if (n < group.desired) {
      return {std::nullopt,
              head + "scale-in held: only " + std::to_string(n) + " of desired " +
                  std::to_string(group.desired) + " workers in service past warm-up",
              {}};
    }
    if (clamped < group.desired) return {clamped, head + arrow(clamped), computed};
    if (group.desired <= group.min)
      return {std::nullopt, head + "desired " + std::to_string(group.desired) + " already at min",
              computed};
    return {std::nullopt,
            head + formula + " = " + std::to_string(computed) + " is not below desired " +
                std::to_string(group.desired),
            computed};
  }

  if (above > 0) {
    return {std::nullopt,
            metric_name + " " + v + " > " + t + " for " + std::to_string(above) + " of " +
                std::to_string(out_periods) + " periods: no change",
            {}};
  }
  if (below > 0) {
    return {std::nullopt,
            metric_name + " " + v + " < " + low_text + " for " + std::to_string(below) + " of " +
                std::to_string(in_periods) + " periods: no change",
            {}};
  }
  return {std::nullopt,
          metric_name + " " + v + " within [" + format_number(low) + ", " + t + "]: no change",
          {}};
}

TargetTrackingConfig parse_target_tracking_config(const ConfigNode& node) {
  node.only_keys({"name", "type", "description", "metric", "target_value", "scale_out_periods",
                  "scale_in_periods", "scale_in_ratio", "warmup", "disable_scale_in",
                  "scale_in_cooldown"});
  TargetTrackingConfig c;
  if (auto n = node.get("name")) {
    c.name = n->as_nonempty_string();
  } else if (!node.file().empty()) {
    c.name = std::filesystem::path(node.file()).stem().string();
  }
  if (auto d = node.get("description")) d->as_string();
  if (auto m = node.get("metric")) c.metric = m->as_enum({kAsgAverageCpuUtilization});
  // CPUUtilization is a percentage: a target above 100 could never be reached.
  c.target_value = node.at("target_value").as_number(0.01, 100);
  if (auto p = node.get("scale_out_periods")) c.scale_out_periods = int(p->as_int(1, 1440));
  if (auto p = node.get("scale_in_periods")) c.scale_in_periods = int(p->as_int(1, 1440));
  if (auto r = node.get("scale_in_ratio")) c.scale_in_ratio = r->as_number(0.01, 1);
  if (auto w = node.get("warmup"))
    c.warmup = w->as_duration(Duration::zero(), std::chrono::hours(24));
  if (auto d = node.get("disable_scale_in")) c.disable_scale_in = d->as_bool();
  if (auto cd = node.get("scale_in_cooldown"))
    c.scale_in_cooldown = cd->as_duration(Duration::zero(), std::chrono::hours(24));
  return c;
}

std::unique_ptr<ScalingPolicy> parse_target_tracking(const ConfigNode& node) {
  return std::make_unique<TargetTrackingPolicy>(parse_target_tracking_config(node));
}

}  // namespace flotilla
