#pragma once
// What a scenario expects of its run: the entries of `"expect": [...]` in a scenario file, and
// their parser. Each names a metric and bounds it with "min" and/or "max" (inclusive):
//
//   { "metric": "error_rate", "max": 0.01 }                          a whole-run figure
//   { "metric": "p99_ms", "after": "60s", "stat": "max", "max": 500 } the per-second series
//   { "metric": "in_service", "at": "75s", "min": 6 }
//
// Whole-run metrics (kExpectationMetrics) are figures of the run record (report.h). Series
// metrics (kSeriesMetrics) are the columns of timeseries.csv, one value per second, and
// error_rate (errors / (ok + errors) of the second). An expectation reads the series when it
// gives a window or a "stat", or names a metric that only the series has (offered_rps,
// in_service, pending, desired, cpu_avg); p50_ms, p99_ms, ok, errors and error_rate without
// either mean the whole run's figure, as they always did.
//
// Windows, in seconds since traffic started; a second [t, t + 1) is in the window when
//   "after": A          it starts at or after A
//   "before": B         it ends by B
//   "between": [A, B]   both: it lies wholly inside [A, B]
//   "at": T             it contains T (that one second)
//   (none)              every second of the run
// "stat" is max (the default), mean, min or p99 (nearest rank: the ceil(0.99 n)-th smallest of
// the n values, so the max below 100 seconds) of the window's values. Seconds with no data for
// the metric (no successful request for p50_ms and p99_ms, nothing finished for error_rate, no
// CPU figure yet for cpu_avg: the first comes once a metrics period has passed) are left out; a
// window with no data at all is unmeasurable, and an unmeasurable expectation fails.
//
// Mistakes are UserErrors with the field's JSON pointer: an unknown metric; no bound; min above
// max; a window or stat on a whole-run metric; more than one window; "stat" with "at" (one
// second has one value); a window that holds no whole second of the run (after the last second
// starts, before the first ends, between with A >= B or no whole second between, at or past the
// end); recovery_seconds in a scenario without faults.
#include <array>
#include <optional>
#include <string>
#include <string_view>

#include "core/time.h"

namespace flotilla {

class ConfigNode;

// Whole-run metrics, each computed from the run record (report.h):
//   sent, ok, errors          request counts (errors: any kind)
//   error_rate                errors / sent (0 when nothing was sent)
//   success_rate              ok / sent (not measurable when nothing was sent)
//   p50_ms, p90_ms, p99_ms    whole-run latency percentiles of successful requests
//   max_latency_ms            the slowest successful request
//   max_in_service            the most workers in service at any time
//   min_in_service            the fewest workers in service at any time
//   final_in_service          workers in service at the end
//   scale_out_count           activities after traffic started (t >= 0) that raised the
//                             desired capacity (the group's creation is not counted)
//   scale_in_count            activities that lowered it
//   direction_changes         how often the desired capacity turned from rising to falling or
//                             back, read from those activities (exact, where the once-a-second
//                             desired column could miss a change that was undone within a
//                             second)
//   replaced_workers          workers launched to replace dead or unhealthy ones
//   instance_hours            in-service plus pending workers over the run, as `compare`
//   slo_violation_seconds     seconds that miss the SLO, as `compare` (comparison.h)
//   availability              the share of seconds that meet the SLO, of the seconds in which a
//                             request finished (not measurable when none did)
//   recovery_seconds          the largest, over the run's faults, of the time from the fault's
//                             start to the first of kRecoveryStreak seconds in a row that meet
//                             the SLO; a fault that never recovers counts the rest of the run
//                             (comparison.h, fault_recoveries)
// clang-format off
inline constexpr std::array<std::string_view, 20> kExpectationMetrics = {
    "sent", "ok", "errors", "error_rate", "success_rate",
    "p50_ms", "p90_ms", "p99_ms", "max_latency_ms",
    "max_in_service", "min_in_service", "final_in_service",
    "scale_out_count", "scale_in_count", "direction_changes", "replaced_workers",
    "instance_hours", "slo_violation_seconds", "availability", "recovery_seconds"};
// The per-second series: timeseries.csv's columns, and error_rate.
inline constexpr std::array<std::string_view, 10> kSeriesMetrics = {
    "p50_ms", "p99_ms", "ok", "errors", "error_rate",
    "offered_rps", "in_service", "pending", "desired", "cpu_avg"};
// clang-format on

bool is_run_metric(std::string_view metric);
bool is_series_metric(std::string_view metric);

enum class SeriesStat { kMax, kMean, kMin, kP99 };
// "max", "mean", "min", "p99"
std::string_view to_string(SeriesStat stat);

struct SeriesWindow {
  enum class Kind { kRun, kAfter, kBefore, kBetween, kAt };
  Kind kind = Kind::kRun;
  Duration from{};  // after, between, at
  Duration to{};    // before, between

  // Whether the second [start_s, end_s) is in the window (see the header comment); end_s is
  // start_s + 1 but for a run's last, shorter second.
  bool covers(double start_s, double end_s) const;
  // "after 60s", "before 30s", "between 30s and 60s", "at 75s"; "" for the whole run.
  std::string text() const;
};

struct Expectation {
  std::string metric;         // kExpectationMetrics, or kSeriesMetrics when `series`
  std::optional<double> min;  // at least one of min, max
  std::optional<double> max;
  // Set when the expectation reads the per-second series: its window and statistic.
  std::optional<SeriesWindow> series;
  SeriesStat stat = SeriesStat::kMax;

  // "error_rate <= 0.01", "2 <= final_in_service <= 3", "max p99_ms after 60s <= 500",
  // "in_service at 75s >= 6", "mean cpu_avg between 30s and 60s <= 70".
  std::string text() const;
};

// What the parser checks an expectation against.
struct ExpectationContext {
  Duration duration{};      // the scenario's: every window lies within it
  bool has_faults = false;  // recovery_seconds needs at least one
};

// Throws UserError on any mistake (the header comment lists them).
Expectation parse_expectation(const ConfigNode& node, const ExpectationContext& context);

}  // namespace flotilla
