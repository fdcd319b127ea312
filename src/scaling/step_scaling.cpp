#include "scaling/step_scaling.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <limits>

#include "core/duration.h"
#include "core/format.h"
#include "metrics/alarm_file.h"
#include "scaling/decide_util.h"
#include "scaling/policy_file.h"

namespace flotilla {

std::string to_string(AdjustmentType t) {
  switch (t) {
    case AdjustmentType::change_in_capacity:
      return "ChangeInCapacity";
    case AdjustmentType::exact_capacity:
      return "ExactCapacity";
    case AdjustmentType::percent_change_in_capacity:
      return "PercentChangeInCapacity";
  }
  return "";
}

std::optional<AdjustmentType> parse_adjustment_type(std::string_view text) {
  for (auto t : {AdjustmentType::change_in_capacity, AdjustmentType::exact_capacity,
                 AdjustmentType::percent_change_in_capacity})
    if (to_string(t) == text) return t;
  return std::nullopt;
}

int adjusted_capacity(AdjustmentType type, int adjustment, int base,
                      std::optional<int> min_adjustment_magnitude) {
  switch (type) {
    case AdjustmentType::change_in_capacity:
      return base + adjustment;
    case AdjustmentType::exact_capacity:
      return adjustment;
    case AdjustmentType::percent_change_in_capacity: {
      const double change = static_cast<double>(base) * adjustment / 100.0;
      int delta = 0;
      if (change > 0 && change < 1) {
        delta = 1;
      } else if (change < 0 && change > -1) {
        delta = -1;
      } else {
        delta = static_cast<int>(std::trunc(change));
      }
      if (min_adjustment_magnitude && adjustment != 0 &&
          std::abs(delta) < *min_adjustment_magnitude)
        delta = adjustment > 0 ? *min_adjustment_magnitude : -*min_adjustment_magnitude;
      return base + delta;
    }
  }
  return base;
}

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

double lower_of(const StepAdjustment& s) { return s.lower ? *s.lower : -kInf; }
double upper_of(const StepAdjustment& s) { return s.upper ? *s.upper : kInf; }

std::string bound_text(std::optional<double> b, bool lower) {
  if (!b) return lower ? "-inf" : "+inf";
  return format_number(*b);
}

std::string adjustment_text(AdjustmentType type, int adjustment) {
  const std::string sign = adjustment > 0 ? "+" : "";
  switch (type) {
    case AdjustmentType::change_in_capacity:
      return sign + std::to_string(adjustment);
    case AdjustmentType::exact_capacity:
      return "= " + std::to_string(adjustment);
    case AdjustmentType::percent_change_in_capacity:
      return sign + std::to_string(adjustment) + "%";
  }
  return "";
}

bool above_side(ComparisonOperator c) {
  return c == ComparisonOperator::greater_than_threshold ||
         c == ComparisonOperator::greater_than_or_equal_to_threshold;
}

// The alarm in ALARM and the value its breach is measured by, or a decision saying why not.
struct AlarmCheck {
  std::optional<double> value;
  std::string head;  // "alarm high-cpu ALARM, CPUUtilization 72 (threshold 60): "
};

AlarmCheck check_alarm(const AlarmSnapshot* alarm, MetricAggregation aggregation, Decision& d) {
  AlarmCheck out;
  if (alarm == nullptr) {
    d.reason = "alarm not evaluated yet: no change";
    return out;
  }
  d.metric = alarm->metric;
  d.datapoints = alarm->datapoints;
  if (alarm->state != AlarmState::alarm) {
    d.reason =
        "alarm " + alarm->name + " is " + std::string(to_string(alarm->state)) + ": no change";
    return out;
  }
  std::vector<double> values;
  for (const auto& p : alarm->datapoints)
    if (p.value && breaches(alarm->comparison, *p.value, alarm->threshold))
      values.push_back(*p.value);
  if (values.empty()) {
    // ALARM from missing data treated as breaching: there is no value to place in a step.
    d.reason = "alarm " + alarm->name + " is ALARM without a breaching datapoint: no change";
    return out;
  }
  double v = 0;
  switch (aggregation) {
    case MetricAggregation::average:
      for (double x : values) v += x;
      v /= static_cast<double>(values.size());
      break;
    case MetricAggregation::minimum:
      v = *std::min_element(values.begin(), values.end());
      break;
    case MetricAggregation::maximum:
      v = *std::max_element(values.begin(), values.end());
      break;
  }
  out.value = v;
  out.head = "alarm " + alarm->name + " ALARM, value " + format_number(v) + " (threshold " +
             format_number(alarm->threshold) + "): ";
  return out;
}

// Applies `raw` (what the rule asked for) to the group: clamps, records, words the result.
void settle(Decision& d, int raw, const GroupState& group, const std::string& head,
            const std::string& formula) {
  d.unclamped = raw;
  if (raw == group.desired) {
    d.reason = head + formula + " = " + std::to_string(raw) + ": desired already " +
               std::to_string(group.desired);
    return;
  }
  const int clamped = clamp_to_limits(raw, group, d);
  if (clamped == group.desired) {
    d.reason = head + formula + " = " + std::to_string(raw) + ", but desired " +
               std::to_string(group.desired) + " is already at " +
               (raw > group.desired ? "max" : "min");
    return;
  }
  d.desired = clamped;
  d.reason = head + desired_arrow(group.desired, clamped) + " (" + formula + " = " +
             std::to_string(raw) + clamp_note(raw, group) + ")";
}

}  // namespace

std::string describe_step(const StepAdjustment& s, bool above) {
  // Above the threshold: [lower, upper); below: (lower, upper].
  const bool lower_closed = above && s.lower;
  const bool upper_closed = !above && s.upper;
  return std::string(lower_closed ? "[" : "(") + bound_text(s.lower, true) + ", " +
         bound_text(s.upper, false) + (upper_closed ? "]" : ")");
}

std::vector<StepProblem> check_steps(const std::vector<StepAdjustment>& steps) {
  std::vector<StepProblem> out;
  if (steps.empty()) {
    out.push_back({0, "", "a step policy needs at least one step adjustment"});
    return out;
  }
  int null_lower = 0, null_upper = 0;
  bool negative_lower = false, positive_upper = false;
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const auto& s = steps[i];
    if (!s.lower && !s.upper)
      out.push_back({i, "", "a step needs a lower or an upper bound (both are infinite)"});
    if (s.lower && s.upper && *s.lower >= *s.upper)
      out.push_back({i, "lower",
                     "the lower bound " + format_number(*s.lower) +
                         " must be below the upper bound " + format_number(*s.upper)});
    if (!s.lower) ++null_lower;
    if (!s.upper) ++null_upper;
    if (s.lower && *s.lower < 0) negative_lower = true;
    if (s.upper && *s.upper > 0) positive_upper = true;
  }
  if (null_lower > 1) out.push_back({0, "lower", "at most one step may have no lower bound"});
  if (null_upper > 1) out.push_back({0, "upper", "at most one step may have no upper bound"});
  if (negative_lower && null_lower == 0)
    out.push_back(
        {0, "lower", "a step has a negative lower bound, so one step must have no lower bound"});
  if (positive_upper && null_upper == 0)
    out.push_back(
        {0, "upper", "a step has a positive upper bound, so one step must have no upper bound"});

  std::vector<std::size_t> order(steps.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return lower_of(steps[a]) < lower_of(steps[b]);
  });
  for (std::size_t k = 1; k < order.size(); ++k) {
    const auto& prev = steps[order[k - 1]];
    const auto& cur = steps[order[k]];
    const double end = upper_of(prev), begin = lower_of(cur);
    if (end < begin) {
      out.push_back({order[k], "lower",
                     "gap: no step covers " + format_number(end) + " to " + format_number(begin) +
                         " (step " + std::to_string(order[k - 1]) + " ends at " +
                         bound_text(prev.upper, false) + ")"});
    } else if (end > begin) {
      out.push_back({order[k], "lower",
                     "overlap with step " + std::to_string(order[k - 1]) + ": it ends at " +
                         bound_text(prev.upper, false) + ", this one starts at " +
                         bound_text(cur.lower, true)});
    }
  }
  return out;
}

Decision decide_step_scaling(const StepScalingConfig& c, const AlarmSnapshot* alarm,
                             const GroupState& group, Time now) {
  Decision d;
  const AlarmCheck check = check_alarm(alarm, c.aggregation, d);
  if (!check.value) return d;
  const double diff = *check.value - alarm->threshold;
  const bool above = above_side(alarm->comparison);
  const StepAdjustment* match = nullptr;
  for (const auto& s : c.steps) {
    const bool lower_ok = !s.lower || (above ? diff >= *s.lower : diff > *s.lower);
    const bool upper_ok = !s.upper || (above ? diff < *s.upper : diff <= *s.upper);
    if (lower_ok && upper_ok) {
      match = &s;
      break;
    }
  }
  if (match == nullptr) {
    d.reason = check.head + "threshold " + (diff >= 0 ? "+ " : "- ") +
               format_number(std::abs(diff)) + " matches no step: no change";
    return d;
  }
  d.rule = "step " + describe_step(*match, above) + ": " +
           adjustment_text(c.adjustment_type, match->adjustment);

  const int warming = warming_workers(group, now, c.warmup);
  const int base = std::max(0, group.desired - warming);
  const int raw =
      adjusted_capacity(c.adjustment_type, match->adjustment, base, c.min_adjustment_magnitude);
  const std::string formula =
      c.adjustment_type == AdjustmentType::exact_capacity
          ? "exact capacity"
          : std::to_string(base) + " " + adjustment_text(c.adjustment_type, match->adjustment) +
                (warming > 0 ? " (desired " + std::to_string(group.desired) + " less " +
                                   std::to_string(warming) + " warming)"
                             : "");
  const std::string head = check.head + d.rule + ": ";
  // The step's direction: its sign, or for ExactCapacity where it leads from desired.
  const bool exact = c.adjustment_type == AdjustmentType::exact_capacity;
  const bool adds = exact ? raw > group.desired : match->adjustment > 0;
  const bool removes = exact ? raw < group.desired : match->adjustment < 0;
  if (warming > 0 && removes && raw < group.desired) {
    d.unclamped = raw;
    d.clamped_by.push_back(kClampWarmup);
    d.reason = head + "scale-in held while " + std::to_string(warming) + " worker" +
               (warming == 1 ? " is" : "s are") + " warming up";
    return d;
  }
  if (warming > 0 && adds && !exact && raw <= group.desired) {
    // The warming workers already are the capacity this step adds.
    d.unclamped = raw;
    d.clamped_by.push_back(kClampWarmup);
    d.reason = head + formula + " = " + std::to_string(raw) + ": the " + std::to_string(warming) +
               " warming worker" + (warming == 1 ? "" : "s") + " already cover it";
    return d;
  }
  settle(d, raw, group, head, formula);
  return d;
}

Decision decide_simple_scaling(const SimpleScalingConfig& c, const AlarmSnapshot* alarm,
                               const GroupState& group, Time now) {
  Decision d;
  const AlarmCheck check = check_alarm(alarm, MetricAggregation::average, d);
  if (!check.value && !(alarm && alarm->state == AlarmState::alarm)) return d;
  d.rule = adjustment_text(c.adjustment_type, c.adjustment);
  const std::string head =
      (check.value ? check.head : "alarm " + alarm->name + " ALARM: ") + d.rule + ": ";
  const int raw =
      adjusted_capacity(c.adjustment_type, c.adjustment, group.desired, c.min_adjustment_magnitude);
  if (raw != group.desired) {
    if (group.pending > 0) {
      d.unclamped = raw;
      d.clamped_by.push_back(kClampCooldown);
      d.reason = head + "the last scaling activity is in progress (" +
                 std::to_string(group.pending) + " pending)";
      return d;
    }
    if (group.last_desired_change && now - *group.last_desired_change < c.cooldown) {
      d.unclamped = raw;
      d.clamped_by.push_back(kClampCooldown);
      d.reason = head + "cooldown, " +
                 format_duration(*group.last_desired_change + c.cooldown - now) + " left";
      return d;
    }
  }
  const std::string formula = c.adjustment_type == AdjustmentType::exact_capacity
                                  ? "exact capacity"
                                  : std::to_string(group.desired) + " " + d.rule;
  settle(d, raw, group, head, formula);
  return d;
}

namespace {

// The policy's alarm: a path to put-metric-alarm JSON or that JSON inline; its Period scales.
AlarmConfig parse_policy_alarm(const ConfigNode& node, const PolicyLoadOptions& options) {
  AlarmConfig a = node.is_string() ? load_alarm_file(node.as_path()) : parse_alarm(node);
  a.period = scaled_seconds(to_seconds(a.period), options.time_scale);
  if (a.period <= Duration::zero()) node.fail("an alarm whose Period x time scale is above zero");
  return a;
}

AdjustmentType parse_adjustment(const ConfigNode& node) {
  return *parse_adjustment_type(
      node.as_enum({"ChangeInCapacity", "ExactCapacity", "PercentChangeInCapacity"}));
}

std::optional<int> parse_min_magnitude(const ConfigNode& node, AdjustmentType type) {
  auto m = node.get("min_adjustment_magnitude");
  if (!m) return std::nullopt;
  if (type != AdjustmentType::percent_change_in_capacity)
    m->fail("no min_adjustment_magnitude (it applies to PercentChangeInCapacity only)");
  return static_cast<int>(m->as_int(1, 100000));
}

const char* aggregation_name(MetricAggregation a) {
  switch (a) {
    case MetricAggregation::average:
      return "Average";
    case MetricAggregation::minimum:
      return "Minimum";
    case MetricAggregation::maximum:
      return "Maximum";
  }
  return "Average";
}

}  // namespace

StepScalingPolicy::StepScalingPolicy(StepScalingConfig config, AlarmConfig alarm)
    : config_(std::move(config)), alarm_(std::move(alarm)) {}

const std::string& StepScalingPolicy::type() const {
  static const std::string kType = kStepScalingType;
  return kType;
}

Decision StepScalingPolicy::decide(const MetricsSnapshot& metrics, const GroupState& group,
                                   Time now) {
  return decide_step_scaling(config_, metrics.find_alarm(alarm_.name), group, now);
}

SimpleScalingPolicy::SimpleScalingPolicy(SimpleScalingConfig config, AlarmConfig alarm)
    : config_(std::move(config)), alarm_(std::move(alarm)) {}

const std::string& SimpleScalingPolicy::type() const {
  static const std::string kType = kSimpleScalingType;
  return kType;
}

Decision SimpleScalingPolicy::decide(const MetricsSnapshot& metrics, const GroupState& group,
                                     Time now) {
  return decide_simple_scaling(config_, metrics.find_alarm(alarm_.name), group, now);
}

std::unique_ptr<ScalingPolicy> parse_step_scaling(const ConfigNode& node,
                                                  const PolicyLoadOptions& options) {
  node.only_file_keys({"name", "type", "description", "alarm", "adjustment_type",
                  "min_adjustment_magnitude", "metric_aggregation", "warmup", "steps"});
  StepScalingConfig c;
  c.name = policy_name(node, c.name);
  if (auto d = node.get("description")) d->as_string();
  if (auto t = node.get("adjustment_type")) c.adjustment_type = parse_adjustment(*t);
  c.min_adjustment_magnitude = parse_min_magnitude(node, c.adjustment_type);
  if (auto a = node.get("metric_aggregation")) {
    const std::string s = a->as_enum({"Average", "Minimum", "Maximum"});
    c.aggregation = s == "Minimum"   ? MetricAggregation::minimum
                    : s == "Maximum" ? MetricAggregation::maximum
                                     : MetricAggregation::average;
  }
  if (auto w = node.get("warmup"))
    c.warmup = w->as_duration(Duration::zero(), std::chrono::hours(24));
  const ConfigNode steps = node.at("steps");
  const auto items = steps.items();
  for (const ConfigNode& item : items) {
    item.only_keys({"lower", "upper", "adjustment"});
    StepAdjustment s;
    if (auto l = item.get("lower")) s.lower = l->as_number();
    if (auto u = item.get("upper")) s.upper = u->as_number();
    s.adjustment = static_cast<int>(item.at("adjustment").as_int(-100000, 100000));
    c.steps.push_back(s);
  }
  for (const StepProblem& p : check_steps(c.steps)) {
    const ConfigNode at = items.empty() ? steps : items[p.step];
    if (!p.field.empty()) at.child_pointer_only(p.field).fail(p.message);
    at.fail(p.message);
  }
  AlarmConfig alarm = parse_policy_alarm(node.at("alarm"), options);
  return std::make_unique<StepScalingPolicy>(std::move(c), std::move(alarm));
}

std::unique_ptr<ScalingPolicy> parse_simple_scaling(const ConfigNode& node,
                                                    const PolicyLoadOptions& options) {
  node.only_file_keys({"name", "type", "description", "alarm", "adjustment_type", "adjustment",
                  "min_adjustment_magnitude", "cooldown"});
  SimpleScalingConfig c;
  c.name = policy_name(node, c.name);
  if (auto d = node.get("description")) d->as_string();
  if (auto t = node.get("adjustment_type")) c.adjustment_type = parse_adjustment(*t);
  c.min_adjustment_magnitude = parse_min_magnitude(node, c.adjustment_type);
  c.adjustment = static_cast<int>(node.at("adjustment").as_int(-100000, 100000));
  if (auto cd = node.get("cooldown"))
    c.cooldown = cd->as_duration(Duration::zero(), std::chrono::hours(24));
  AlarmConfig alarm = parse_policy_alarm(node.at("alarm"), options);
  return std::make_unique<SimpleScalingPolicy>(std::move(c), std::move(alarm));
}

nlohmann::json step_scaling_to_json(const StepScalingConfig& c, const nlohmann::json& alarm) {
  nlohmann::json steps = nlohmann::json::array();
  for (const auto& s : c.steps) {
    nlohmann::json j;
    if (s.lower) j["lower"] = *s.lower;
    if (s.upper) j["upper"] = *s.upper;
    j["adjustment"] = s.adjustment;
    steps.push_back(j);
  }
  nlohmann::json j = {{"name", c.name},
                      {"type", kStepScalingType},
                      {"adjustment_type", to_string(c.adjustment_type)}};
  if (c.min_adjustment_magnitude) j["min_adjustment_magnitude"] = *c.min_adjustment_magnitude;
  j["metric_aggregation"] = aggregation_name(c.aggregation);
  j["warmup"] = format_duration(c.warmup);
  j["steps"] = steps;
  j["alarm"] = alarm;
  return j;
}

nlohmann::json simple_scaling_to_json(const SimpleScalingConfig& c, const nlohmann::json& alarm) {
  nlohmann::json j = {{"name", c.name},
                      {"type", kSimpleScalingType},
                      {"adjustment_type", to_string(c.adjustment_type)},
                      {"adjustment", c.adjustment}};
  if (c.min_adjustment_magnitude) j["min_adjustment_magnitude"] = *c.min_adjustment_magnitude;
  j["cooldown"] = format_duration(c.cooldown);
  j["alarm"] = alarm;
  return j;
}

}  // namespace flotilla
