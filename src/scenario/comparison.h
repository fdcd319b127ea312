#pragma once
// What `flotilla compare` says of each policy's run of one scenario, and which runs are on the
// cost/SLO frontier; the run's cost and SLO figures that expectations read too. Pure: it reads
// run records (report.h) and writes text.
//
// - instance_hours: the cost, the integral of in-service plus pending workers over the run
//   (the per-second fleet samples of timeseries.csv), in worker-hours.
// - slo_violation_seconds: seconds that violate the scenario's SLO (SloSpec, scenario.h).
// - availability and fault recoveries: the same verdict per second, read as a share and as
//   streaks after each fault (the expectations' availability and recovery_seconds).
// - on_frontier: no other run is at least as good on both cost and violations and better on
//   one (a Pareto frontier, both lower-is-better). A run that broke is never on it.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "scenario/report.h"
#include "scenario/scenario.h"

namespace flotilla {

struct PolicyOutcome {
  std::string policy;  // the policy's name
  double instance_hours = 0;
  std::int64_t slo_violation_seconds = 0;
  double error_rate = 0;
  std::optional<double> p99_ms;  // nullopt when nothing succeeded
  int scale_out_count = 0;
  int scale_in_count = 0;
  bool on_frontier = false;
  bool broke = false;  // the run did not complete
  std::vector<ExpectationResult> expectations;
};

double instance_hours(const RunRecord& record);
// A second's verdict against the SLO: true when it meets it, nullopt when no request finished in
// it (no verdict: neither meets nor misses it).
std::optional<bool> second_meets_slo(const TimeseriesRow& row, const SloSpec& slo);
std::int64_t slo_violation_seconds(const RunRecord& record, const SloSpec& slo);
// Seconds with a verdict.
std::int64_t slo_measured_seconds(const RunRecord& record, const SloSpec& slo);
// The share of the seconds with a verdict that meet the SLO; nullopt when none has one.
std::optional<double> availability(const RunRecord& record, const SloSpec& slo);

// How many seconds in a row must meet the SLO for a fault to count as recovered.
inline constexpr int kRecoveryStreak = 5;

// How long the service took to meet the SLO again after a fault.
struct FaultRecovery {
  double fault_t = 0;  // the fault's start, seconds since traffic started
  std::string fault;   // the fault event's detail
  bool recovered = false;
  // From the fault's start to the start of the first of kRecoveryStreak seconds in a row that
  // meet the SLO (0 when the fault never made a second miss it); when it never recovered, to
  // the run's end.
  double seconds = 0;
};
// One per "fault" event of the record (kEventFault; its "fault_end" events are not faults), in
// order. The streak starts in the second the fault started in or later; seconds without a
// verdict neither break a streak nor count in it.
std::vector<FaultRecovery> fault_recoveries(const RunRecord& record, const SloSpec& slo);
// Every field but on_frontier; the record's expectations must have been evaluated.
PolicyOutcome outcome_of(const std::string& policy, const RunRecord& record, const SloSpec& slo,
                         bool broke);
// Sets on_frontier on each.
void mark_frontier(std::vector<PolicyOutcome>& outcomes);

// {"policies": [{"policy", "instance_hours", "slo_violation_seconds", "error_rate", "p99_ms",
//   "scale_out_count", "scale_in_count", "on_frontier", "broke", "expectations"}]} in order.
nlohmann::json comparison_json(const std::vector<PolicyOutcome>& outcomes);
// The same fields but the expectations (as "expectations_passed" and a count), one row each.
void write_comparison_csv(std::ostream& out, const std::vector<PolicyOutcome>& outcomes);
// The table, then each run's expectations.
void print_comparison(std::ostream& out, const std::string& scenario, const SloSpec& slo,
                      const std::vector<PolicyOutcome>& outcomes);

}  // namespace flotilla
