#pragma once
// CloudWatch metric alarms: a statistic of one metric over a period, compared with a threshold,
// evaluated over the last N periods (EvaluationPeriods) of which M (DatapointsToAlarm) must
// breach; states OK, ALARM and INSUFFICIENT_DATA with a history of transitions, each with its
// reason and the datapoints behind it.
//
// Evaluation (evaluate_alarm, pure), as CloudWatch documents it ("How alarm state is evaluated
// when data is missing"), over an evaluation range of R >= N periods (CloudWatch retrieves more
// periods than N; R defaults to N + 2, the range of its documented 3-of-3 example):
// - At least N real datapoints in the range: the newest N real ones decide (older ones fill the
//   gaps); ALARM if at least M of them breach, else OK. TreatMissingData plays no part.
// - Fewer than N real datapoints: all of them count, and the N - real missing ones are filled as
//   few as possible by TreatMissingData:
//   breaching     missing ones breach: ALARM if real breaching + missing >= M, else OK.
//   notBreaching  missing ones do not breach: ALARM if real breaching >= M, else OK.
//   ignore        ALARM if real breaching >= M; OK if even breaching missing ones could not reach
//                 M; otherwise the state is kept (all missing: kept).
//   missing       all missing: INSUFFICIENT_DATA. ALARM if real breaching >= M, or (CloudWatch's
//                 rule against premature alarms, read in reverse) if the oldest breaching
//                 datapoint is at least M periods old and every newer one breaches or is
//                 missing. Else OK if a real datapoint does not breach; else the state is kept
//                 (too few, too recent breaching datapoints: wait for more).
// A new alarm starts in INSUFFICIENT_DATA.
//
// Reasons read like CloudWatch's: "Threshold Crossed: 3 out of the last 3 datapoints [90.1, 78.0,
// 81.2] were greater than the threshold (50.0) (minimum 3 datapoints for OK -> ALARM
// transition)." Datapoints are listed newest first, as CloudWatch does.
//
// Where Flotilla differs on purpose: CloudWatch evaluates every minute whatever the period;
// Alarm::start() evaluates every `every` (default: the period). Alarm actions are not run here:
// the scaling engine reads the state or listens to on_evaluation.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/retained_log.h"
#include "core/scheduler.h"
#include "metrics/metric_id.h"
#include "metrics/metric_store.h"
#include "metrics/statistic.h"

namespace flotilla {

enum class ComparisonOperator {
  greater_than_or_equal_to_threshold,
  greater_than_threshold,
  less_than_threshold,
  less_than_or_equal_to_threshold,
};
// "GreaterThanOrEqualToThreshold", "GreaterThanThreshold", "LessThanThreshold",
// "LessThanOrEqualToThreshold".
std::string_view to_string(ComparisonOperator op);
std::optional<ComparisonOperator> parse_comparison_operator(std::string_view text);
// "greater than or equal to", ... (for reasons and reports).
std::string_view comparison_words(ComparisonOperator op);
// "value op threshold" holds.
bool breaches(ComparisonOperator op, double value, double threshold);

enum class TreatMissingData { missing, not_breaching, breaching, ignore };
// "missing", "notBreaching", "breaching", "ignore".
std::string_view to_string(TreatMissingData t);
std::optional<TreatMissingData> parse_treat_missing_data(std::string_view text);

enum class AlarmState { insufficient_data, ok, alarm };
// "INSUFFICIENT_DATA", "OK", "ALARM".
std::string_view to_string(AlarmState s);

struct AlarmConfig {
  std::string name;
  MetricId metric;
  Statistic statistic = Statistic::average;
  Duration period = std::chrono::seconds(60);
  int evaluation_periods = 1;   // N >= 1
  int datapoints_to_alarm = 1;  // M in [1, N]
  double threshold = 0;
  ComparisonOperator comparison = ComparisonOperator::greater_than_threshold;
  TreatMissingData treat_missing_data = TreatMissingData::missing;
  // Periods searched for datapoints (>= N); 0: N + 2.
  int evaluation_range = 0;

  int range() const;
  // "CPUUtilization Average > 50 for 3 of 3 periods of 60s"
  std::string describe() const;
};

// One period's value: the statistic over (end - period, end]; nullopt when no data.
struct AlarmDatapoint {
  Time end{};
  std::optional<double> value;
  bool operator==(const AlarmDatapoint&) const = default;
};

struct AlarmEvaluation {
  Time t{};  // end of the newest period evaluated
  AlarmState previous = AlarmState::insufficient_data;
  AlarmState state = AlarmState::insufficient_data;
  // The evaluation range, oldest first (range() periods ending at t).
  std::vector<AlarmDatapoint> range;
  // The real datapoints the decision counted, oldest first.
  std::vector<AlarmDatapoint> used;
  int breaching = 0;  // among `used` plus the missing datapoints treated as breaching
  int filled = 0;     // missing datapoints filled by TreatMissingData (breaching / notBreaching)
  std::string reason;

  bool changed() const { return state != previous; }
};

// Pure: the next state from the current one and the evaluation range (oldest first; usually
// config.range() datapoints, the last one ending at the evaluation time). `t` of the result is
// the last datapoint's end (zero if `range` is empty).
AlarmEvaluation evaluate_alarm(const AlarmConfig& config, AlarmState current,
                               std::vector<AlarmDatapoint> range);

// The evaluation range for `config` ending at `end`, read from `store`.
std::vector<AlarmDatapoint> alarm_range(const AlarmConfig& config, const MetricStore& store,
                                        Time end);

// Alarm: an alarm's state over time. evaluate() can be called by whoever owns the evaluation
// order (e.g. the scaling loop, each tick); start() evaluates it on its own every `every`.
//
// Threading: control plane only. The store and the scheduler must outlive the alarm.
class Alarm {
 public:
  static constexpr std::size_t kMaxHistory = 1000;

  // The config must be valid (N >= 1, 1 <= M <= N, period > 0): asserted.
  Alarm(Scheduler& scheduler, const MetricStore& store, AlarmConfig config);
  ~Alarm();
  Alarm(const Alarm&) = delete;
  Alarm& operator=(const Alarm&) = delete;

  // Evaluates the range whose newest period ends at `end`; records a transition if the state
  // changed; calls on_evaluation, then on_transition if it changed.
  const AlarmEvaluation& evaluate(Time end);

  // Evaluates at first, first + every, ..., each time the range ending at tick - delay (so that
  // datapoints stamped at the tick by an asynchronous collector are in).
  void start(Time first, Duration every, Duration delay = Duration::zero());
  void start(Time first) { start(first, config_.period); }
  void stop();

  AlarmState state() const { return state_; }
  const AlarmConfig& config() const { return config_; }
  const std::string& name() const { return config_.name; }
  // State changes, oldest first (at most kMaxHistory; the oldest are dropped).
  const std::deque<AlarmEvaluation>& history() const { return history_.entries(); }
  // State changes ever recorded, dropped ones included (resume_index(), core/retained_log.h).
  std::uint64_t transitions_recorded() const { return history_.recorded(); }
  // Drops the state changes before `cutoff` but the newest: the one into the current state.
  void prune_before(Time cutoff);
  // The latest evaluation, if any.
  const std::optional<AlarmEvaluation>& last() const { return last_; }

  std::function<void(const AlarmEvaluation&)> on_evaluation;
  std::function<void(const AlarmEvaluation&)> on_transition;

 private:
  const MetricStore& store_;
  AlarmConfig config_;
  Scheduler& scheduler_;
  AlarmState state_ = AlarmState::insufficient_data;
  RetainedLog<AlarmEvaluation> history_;
  std::optional<AlarmEvaluation> last_;
  Duration delay_{};
  std::unique_ptr<PeriodicTask> task_;
};

}  // namespace flotilla
