#include "metrics/alarm.h"

#include <algorithm>
#include <cassert>

#include "core/format.h"

namespace flotilla {

namespace {

constexpr ComparisonOperator kOperators[] = {
    ComparisonOperator::greater_than_or_equal_to_threshold,
    ComparisonOperator::greater_than_threshold,
    ComparisonOperator::less_than_threshold,
    ComparisonOperator::less_than_or_equal_to_threshold,
};

constexpr TreatMissingData kTreatments[] = {TreatMissingData::missing,
                                            TreatMissingData::not_breaching,
                                            TreatMissingData::breaching, TreatMissingData::ignore};

// CloudWatch writes numbers in reasons with at least one decimal: 50 -> "50.0".
std::string reason_number(double v) {
  std::string s = format_number(v, 3);
  if (s.find('.') == std::string::npos && s.find_first_of("0123456789") != std::string::npos)
    s += ".0";
  return s;
}

// Newest first, as CloudWatch lists them.
std::string value_list(const std::vector<AlarmDatapoint>& points) {
  std::string out = "[";
  for (auto it = points.rbegin(); it != points.rend(); ++it) {
    if (it != points.rbegin()) out += ", ";
    out += reason_number(*it->value);
  }
  return out + "]";
}

std::string plural(int n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

std::string symbol(ComparisonOperator op) {
  switch (op) {
    case ComparisonOperator::greater_than_or_equal_to_threshold:
      return ">=";
    case ComparisonOperator::greater_than_threshold:
      return ">";
    case ComparisonOperator::less_than_threshold:
      return "<";
    case ComparisonOperator::less_than_or_equal_to_threshold:
      return "<=";
  }
  return "?";
}

}  // namespace

std::string_view to_string(ComparisonOperator op) {
  switch (op) {
    case ComparisonOperator::greater_than_or_equal_to_threshold:
      return "GreaterThanOrEqualToThreshold";
    case ComparisonOperator::greater_than_threshold:
      return "GreaterThanThreshold";
    case ComparisonOperator::less_than_threshold:
      return "LessThanThreshold";
    case ComparisonOperator::less_than_or_equal_to_threshold:
      return "LessThanOrEqualToThreshold";
  }
  return "unknown";
}

std::optional<ComparisonOperator> parse_comparison_operator(std::string_view text) {
  for (ComparisonOperator op : kOperators)
    if (to_string(op) == text) return op;
  return std::nullopt;
}

std::string_view comparison_words(ComparisonOperator op) {
  switch (op) {
    case ComparisonOperator::greater_than_or_equal_to_threshold:
      return "greater than or equal to";
    case ComparisonOperator::greater_than_threshold:
      return "greater than";
    case ComparisonOperator::less_than_threshold:
      return "less than";
    case ComparisonOperator::less_than_or_equal_to_threshold:
      return "less than or equal to";
  }
  return "unknown";
}

bool breaches(ComparisonOperator op, double value, double threshold) {
  switch (op) {
    case ComparisonOperator::greater_than_or_equal_to_threshold:
      return value >= threshold;
    case ComparisonOperator::greater_than_threshold:
      return value > threshold;
    case ComparisonOperator::less_than_threshold:
      return value < threshold;
    case ComparisonOperator::less_than_or_equal_to_threshold:
      return value <= threshold;
  }
  return false;
}

std::string_view to_string(TreatMissingData t) {
  switch (t) {
    case TreatMissingData::missing:
      return "missing";
    case TreatMissingData::not_breaching:
      return "notBreaching";
    case TreatMissingData::breaching:
      return "breaching";
    case TreatMissingData::ignore:
      return "ignore";
  }
  return "unknown";
}

std::optional<TreatMissingData> parse_treat_missing_data(std::string_view text) {
  for (TreatMissingData t : kTreatments)
    if (to_string(t) == text) return t;
  return std::nullopt;
}

std::string_view to_string(AlarmState s) {
  switch (s) {
    case AlarmState::insufficient_data:
      return "INSUFFICIENT_DATA";
    case AlarmState::ok:
      return "OK";
    case AlarmState::alarm:
      return "ALARM";
  }
  return "unknown";
}

int AlarmConfig::range() const {
  return evaluation_range > 0 ? std::max(evaluation_range, evaluation_periods)
                              : evaluation_periods + 2;
}

std::string AlarmConfig::describe() const {
  return metric.name + " " + to_string(statistic) + " " + symbol(comparison) + " " +
         format_number(threshold, 3) + " for " + std::to_string(datapoints_to_alarm) + " of " +
         std::to_string(evaluation_periods) + " periods of " +
         format_number(to_seconds(period), 3) + "s";
}

AlarmEvaluation evaluate_alarm(const AlarmConfig& config, AlarmState current,
                               std::vector<AlarmDatapoint> range) {
  const int n = config.evaluation_periods;
  const int m = config.datapoints_to_alarm;
  AlarmEvaluation ev;
  ev.previous = current;
  ev.t = range.empty() ? Time{} : range.back().end;
  ev.range = std::move(range);

  std::vector<AlarmDatapoint> real;
  for (const AlarmDatapoint& d : ev.range)
    if (d.value) real.push_back(d);
  const int real_count = static_cast<int>(real.size());
  if (real_count > n) real.erase(real.begin(), real.end() - n);
  ev.used = real;
  int breaching_real = 0;
  for (const AlarmDatapoint& d : ev.used)
    if (breaches(config.comparison, *d.value, config.threshold)) ++breaching_real;
  const int used = static_cast<int>(ev.used.size());
  const int missing = n - used;  // > 0 only when fewer than N real datapoints exist
  const std::string op(comparison_words(config.comparison));
  const std::string threshold = reason_number(config.threshold);

  // "k out of the last n datapoints [..] were (not) <op> the threshold (t)"
  auto crossed = [&](AlarmState to, int k, int of, std::string suffix) {
    ev.state = to;
    const bool alarm = to == AlarmState::alarm;
    ev.reason = "Threshold Crossed: " + std::to_string(k) + " out of the last " +
                plural(of, "datapoint", "datapoints") + " " + value_list(ev.used) + " " +
                (k == 1 ? "was " : "were ") + (alarm ? "" : "not ") + op + " the threshold (" +
                threshold + ")" + suffix;
    if (to != current) {
      const int needed = alarm ? m : n - m + 1;
      ev.reason += " (minimum " + plural(needed, "datapoint", "datapoints") + " for " +
                   std::string(to_string(current)) + " -> " + std::string(to_string(to)) +
                   " transition)";
    }
    ev.reason += ".";
  };
  auto keep = [&](std::string why) {
    ev.state = current;
    ev.reason = std::move(why);
  };

  if (missing <= 0) {
    ev.breaching = breaching_real;
    if (breaching_real >= m)
      crossed(AlarmState::alarm, breaching_real, n, "");
    else
      crossed(AlarmState::ok, n - breaching_real, n, "");
    return ev;
  }

  const std::string filled_note =
      " (" + plural(missing, "missing datapoint", "missing datapoints") + " treated as ";
  switch (config.treat_missing_data) {
    case TreatMissingData::breaching:
      ev.filled = missing;
      ev.breaching = breaching_real + missing;
      if (ev.breaching >= m)
        crossed(AlarmState::alarm, ev.breaching, n, filled_note + "breaching)");
      else
        crossed(AlarmState::ok, n - ev.breaching, n, filled_note + "breaching)");
      return ev;
    case TreatMissingData::not_breaching:
      ev.filled = missing;
      ev.breaching = breaching_real;
      if (breaching_real >= m)
        crossed(AlarmState::alarm, breaching_real, n, filled_note + "not breaching)");
      else
        crossed(AlarmState::ok, n - breaching_real, n, filled_note + "not breaching)");
      return ev;
    case TreatMissingData::ignore:
      ev.breaching = breaching_real;
      if (breaching_real >= m) {
        crossed(AlarmState::alarm, breaching_real, n, "");
      } else if (breaching_real + missing < m) {
        crossed(AlarmState::ok, used - breaching_real, n,
                " (" + plural(missing, "missing datapoint", "missing datapoints") + " ignored)");
      } else {
        keep("Missing data ignored: " + plural(used, "datapoint", "datapoints") + " " +
             value_list(ev.used) + " of the " + std::to_string(n) + " needed; state kept.");
      }
      return ev;
    case TreatMissingData::missing:
      break;
  }

  ev.breaching = breaching_real;
  if (used == 0) {
    ev.state = AlarmState::insufficient_data;
    ev.reason = "Insufficient Data: " +
                plural(static_cast<int>(ev.range.size()), "datapoint was", "datapoints were") +
                " unknown.";
    return ev;
  }
  if (breaching_real >= m) {
    crossed(AlarmState::alarm, breaching_real, n, "");
    return ev;
  }
  // Age of the oldest breaching datapoint in periods (the newest period is 1) such that every
  // newer real datapoint breaches too.
  int age = 0;
  int run_real = 0;
  const int size = static_cast<int>(ev.range.size());
  for (int i = size - 1; i >= 0; --i) {
    const auto& v = ev.range[static_cast<std::size_t>(i)].value;
    if (!v) continue;
    if (!breaches(config.comparison, *v, config.threshold)) break;
    age = size - i;
    ++run_real;
  }
  if (age >= m) {
    crossed(AlarmState::alarm, breaching_real, n,
            " and the " + plural(age - run_real, "newer period was", "newer periods were") +
                " missing");
    return ev;
  }
  const bool all_breach = breaching_real == used;
  if (!all_breach) {
    crossed(AlarmState::ok, used - breaching_real, n,
            " (" + plural(missing, "missing datapoint", "missing datapoints") + " not counted)");
    return ev;
  }
  keep("Waiting for data: " + plural(used, "datapoint", "datapoints") + " " + value_list(ev.used) +
       " " + (used == 1 ? "was " : "were ") + op + " the threshold (" + threshold + "), " +
       std::to_string(m) + " needed; " + plural(missing, "is", "are") + " missing; state kept.");
  return ev;
}

std::vector<AlarmDatapoint> alarm_range(const AlarmConfig& config, const MetricStore& store,
                                        Time end) {
  const auto count = static_cast<std::size_t>(config.range());
  const auto values = store.statistics(config.metric, config.statistic, end, config.period, count);
  std::vector<AlarmDatapoint> out;
  out.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    const auto back = static_cast<Duration::rep>(count - 1 - i);
    out.push_back({end - back * config.period, values[i]});
  }
  return out;
}

Alarm::Alarm(Scheduler& scheduler, const MetricStore& store, AlarmConfig config)
    : store_(store), config_(std::move(config)), scheduler_(scheduler) {
  assert(config_.evaluation_periods >= 1);
  assert(config_.datapoints_to_alarm >= 1 &&
         config_.datapoints_to_alarm <= config_.evaluation_periods);
  assert(config_.period > Duration::zero());
}

Alarm::~Alarm() = default;

const AlarmEvaluation& Alarm::evaluate(Time end) {
  // A local copy for the callbacks: one may evaluate again.
  const AlarmEvaluation ev = evaluate_alarm(config_, state_, alarm_range(config_, store_, end));
  state_ = ev.state;
  if (ev.changed()) {
    history_.push_back(ev);
    history_.drop_beyond(kMaxHistory);
  }
  last_ = ev;
  if (on_evaluation) on_evaluation(ev);
  if (ev.changed() && on_transition) on_transition(ev);
  return *last_;
}

void Alarm::prune_before(Time cutoff) {
  history_.drop_front_while([cutoff](const AlarmEvaluation& e) { return e.t < cutoff; }, 1);
}

void Alarm::start(Time first, Duration every, Duration delay) {
  assert(every > Duration::zero());
  delay_ = delay;
  task_ = std::make_unique<PeriodicTask>(scheduler_, every,
                                         [this] { evaluate(task_->tick_time() - delay_); });
  task_->start(first);
}

void Alarm::stop() {
  if (task_) task_->stop();
}

}  // namespace flotilla
