#include "scaling/target_tracking.h"

#include <algorithm>
#include <filesystem>

#include "core/duration.h"
#include "core/format.h"
#include "scaling/decide_util.h"
#include "scaling/policy_file.h"

namespace flotilla {

TargetTrackingPolicy::TargetTrackingPolicy(TargetTrackingConfig config)
    : config_(std::move(config)) {}

const std::string& TargetTrackingPolicy::type() const {
  static const std::string kType = kTargetTrackingType;
  return kType;
}

std::string TargetTrackingPolicy::metric_key() const {
  if (config_.custom) return config_.custom->ns + " " + config_.custom->name;
  return config_.metric;
}

std::string TargetTrackingPolicy::metric_display_name() const {
  if (config_.custom) return config_.custom->name;
  if (config_.metric == kAlbRequestCountPerTarget) return "RequestCountPerTarget";
  return kMetricCpuUtilization;
}

std::vector<MetricRequest> TargetTrackingPolicy::metrics() const {
  MetricRequest r;
  r.metric = metric_key();
  r.periods = std::max(config_.scale_out_periods, config_.scale_in_periods);
  r.warmup = config_.warmup;
  if (config_.custom) {
    r.kind = MetricKind::custom;
    r.id = make_metric_id(config_.custom->ns, config_.custom->name, config_.custom->dimensions);
    r.statistic = config_.custom->statistic;
  } else if (config_.metric == kAlbRequestCountPerTarget) {
    r.kind = MetricKind::request_count_per_target;
    r.statistic = Statistic::sum;
  }
  return {r};
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

}  // namespace

Decision TargetTrackingPolicy::decide(const MetricsSnapshot& metrics, const GroupState& group,
                                      Time now) {
  const std::string metric_name = metric_display_name();
  Decision d;
  const MetricSeries* series = metrics.find(metric_key());
  if (series != nullptr) {
    d.metric = series->id.to_string() + " " + std::string(to_string(series->statistic));
    d.datapoints = series->periods;
  }
  if (series == nullptr || series->periods.empty() || !series->periods.back().value) {
    d.reason = "insufficient data: no " + metric_name + " for the latest period";
    return d;
  }

  const double value = *series->periods.back().value;
  const double target = config_.target_value;
  const double low = target * config_.scale_in_ratio;
  const std::string v = format_number(value);
  const std::string t = format_number(target);
  // The predefined metrics are measured over workers past warm-up (CPU leaves the others out;
  // requests per target lag behind new targets), so the same workers count as capacity: else a
  // scale-out is counted again before its workers carry load.
  const int n = config_.custom ? group.in_service : group.in_service_warmed(now, config_.warmup);
  if (n == 0) {
    d.reason = metric_name + " " + v + " but no worker is in service past warm-up: no change";
    return d;
  }
  const std::string formula = "ceil(" + std::to_string(n) + " x " + v + " / " + t + ")";
  const int computed = ceil_int(static_cast<double>(n) * value / target);
  auto arrow = [&](int to) {
    std::string s = desired_arrow(group.desired, to) + " (" + formula;
    if (to != computed) s += " = " + std::to_string(computed);
    return s + clamp_note(computed, group) + ")";
  };

  const int out_periods = config_.scale_out_periods;
  const int above = trailing(series->periods, [&](double x) { return x > target; });
  if (above >= out_periods) {
    d.rule = std::to_string(out_periods) + " of " + std::to_string(out_periods) + " periods > " + t;
    d.unclamped = computed;
    const std::string head =
        metric_name + " " + v + " > " + t + " for " + std::to_string(out_periods) + " periods: ";
    const int clamped = clamp_to_limits(computed, group, d);
    if (clamped > group.desired) {
      d.desired = clamped;
      d.reason = head + arrow(clamped);
    } else if (group.desired >= group.max) {
      if (d.clamped_by.empty()) d.clamped_by.push_back(kClampMax);
      d.reason = head + "desired " + std::to_string(group.desired) + " already at max";
    } else {
      d.reason = head + "desired " + std::to_string(group.desired) + " already covers " + formula +
                 " = " + std::to_string(computed);
    }
    return d;
  }

  const int in_periods = config_.scale_in_periods;
  const int below = trailing(series->periods, [&](double x) { return x < low; });
  const std::string low_text =
      format_number(low) + " (" + format_number(config_.scale_in_ratio * 100) + "% of " + t + ")";
  if (below >= in_periods) {
    d.rule = std::to_string(in_periods) + " of " + std::to_string(in_periods) + " periods < " +
             format_number(low);
    d.unclamped = computed;
    const std::string head = metric_name + " " + v + " < " + low_text + " for " +
                             std::to_string(in_periods) + " periods: ";
    // Only a result that would remove capacity can be held back.
    const bool wants_in = computed < group.desired;
    if (config_.disable_scale_in) {
      if (wants_in) d.clamped_by.push_back(kClampDisableScaleIn);
      d.reason = head + "scale-in disabled";
      return d;
    }
    if (config_.scale_in_cooldown && group.last_desired_change &&
        now - *group.last_desired_change < *config_.scale_in_cooldown) {
      const Duration left = *group.last_desired_change + *config_.scale_in_cooldown - now;
      if (wants_in) d.clamped_by.push_back(kClampCooldown);
      d.reason = head + "scale-in cooldown, " + format_duration(left) + " left";
      return d;
    }
    if (n < group.desired) {
      if (wants_in) d.clamped_by.push_back(kClampWarmup);
      d.reason = head + "scale-in held: only " + std::to_string(n) + " of desired " +
                 std::to_string(group.desired) + " workers in service past warm-up";
      return d;
    }
    const int clamped = clamp_to_limits(computed, group, d);
    if (clamped < group.desired) {
      d.desired = clamped;
      d.reason = head + arrow(clamped);
    } else if (group.desired <= group.min) {
      if (d.clamped_by.empty() && wants_in) d.clamped_by.push_back(kClampMin);
      d.reason = head + "desired " + std::to_string(group.desired) + " already at min";
    } else {
      d.reason = head + formula + " = " + std::to_string(computed) + " is not below desired " +
                 std::to_string(group.desired);
    }
    return d;
  }

  if (above > 0) {
    d.reason = metric_name + " " + v + " > " + t + " for " + std::to_string(above) + " of " +
               std::to_string(out_periods) + " periods: no change";
  } else if (below > 0) {
    d.reason = metric_name + " " + v + " < " + low_text + " for " + std::to_string(below) + " of " +
               std::to_string(in_periods) + " periods: no change";
  } else {
    d.reason = metric_name + " " + v + " within [" + format_number(low) + ", " + t + "]: no change";
  }
  return d;
}

namespace {

CustomMetric parse_custom_metric(const ConfigNode& node) {
  node.only_keys({"namespace", "name", "dimensions", "statistic"});
  CustomMetric m;
  m.ns = node.at("namespace").as_nonempty_string();
  m.name = node.at("name").as_nonempty_string();
  if (auto dims = node.get("dimensions")) {
    if (!dims->is_object()) dims->fail("an object of dimension names to values");
    for (const auto& [key, value] : dims->json().items())
      m.dimensions.emplace_back(key, dims->at(key).as_nonempty_string());
  }
  if (auto s = node.get("statistic")) {
    const auto stat =
        parse_statistic(s->as_enum({"Average", "Sum", "Minimum", "Maximum", "SampleCount"}));
    m.statistic = *stat;
  }
  return m;
}

}  // namespace

TargetTrackingConfig parse_target_tracking_config(const ConfigNode& node) {
  node.only_file_keys({"name", "type", "description", "metric", "target_value", "scale_out_periods",
                  "scale_in_periods", "scale_in_ratio", "warmup", "disable_scale_in",
                  "scale_in_cooldown"});
  TargetTrackingConfig c;
  c.name = policy_name(node, c.name);
  if (auto d = node.get("description")) d->as_string();
  if (auto m = node.get("metric")) {
    if (m->is_object()) {
      c.custom = parse_custom_metric(*m);
      c.metric.clear();
    } else {
      c.metric = m->as_enum({kAsgAverageCpuUtilization, kAlbRequestCountPerTarget});
    }
  }
  // CPUUtilization is a percentage: a target above 100 could never be reached.
  const bool percent = !c.custom && c.metric == kAsgAverageCpuUtilization;
  c.target_value = node.at("target_value").as_number(0.01, percent ? 100 : 1e12);
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

nlohmann::json target_tracking_to_json(const TargetTrackingConfig& c) {
  nlohmann::json j = {{"name", c.name}, {"type", kTargetTrackingType}};
  if (c.custom) {
    nlohmann::json dims = nlohmann::json::object();
    for (const auto& [k, v] : c.custom->dimensions) dims[k] = v;
    j["metric"] = {{"namespace", c.custom->ns},
                   {"name", c.custom->name},
                   {"dimensions", dims},
                   {"statistic", std::string(to_string(c.custom->statistic))}};
  } else {
    j["metric"] = c.metric;
  }
  j["target_value"] = c.target_value;
  j["scale_out_periods"] = c.scale_out_periods;
  j["scale_in_periods"] = c.scale_in_periods;
  j["scale_in_ratio"] = c.scale_in_ratio;
  j["warmup"] = format_duration(c.warmup);
  j["disable_scale_in"] = c.disable_scale_in;
  if (c.scale_in_cooldown) j["scale_in_cooldown"] = format_duration(*c.scale_in_cooldown);
  return j;
}

}  // namespace flotilla
