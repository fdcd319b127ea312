#pragma once
// The record of one scenario run, what the run's expectations observed, and its outputs: the
// report JSON (report.json), the per-second CSV (timeseries.csv), the terminal summary, the
// JUnit XML of `flotilla run --junit` and the live progress line. The orchestrator fills a
// RunRecord; this file only evaluates and writes.
//
// report.json keys (a contract; add freely, rename none):
//   scenario, description, mode ("live" or "simulated"), seed, duration_s, started_at,
//   output_dir, time_scale, passed,
//   requests {sent, ok, errors, error_rate, by_kind {http_5xx, ...}},
//   latency_ms {p50, p90, p99, max}            (null when no request succeeded)
//   capacity {initial, max_in_service, min_in_service, final},
//   slo {latency_ms, error_rate, availability (the targets), violation_seconds, throughput_rps
//        (successful requests per second of the run), measured_seconds (seconds with a
//        verdict), achieved_availability (null when none has one)},
//   recovery [{t, fault, recovered, seconds}]  (one per fault; comparison.h, fault_recoveries)
//   activities [{t, from, to, cause, status ("Successful" or "Failed")}], decisions [...], events
//   [{t, kind, detail}], expectations [{text, metric, passed, observed, stat, window, note}]
//   (observed null when not measurable; stat and window null for a whole-run figure, else
//   "max" ... and {"after": s} / {"before": s} / {"between": [s, s]} / {"at": s} / {} for the
//   whole run; note "" or why the value is what it is)
//   alarms [{name, description, transitions [{t, from, to, reason}]}]
//   paths [{path, method, weight, body_bytes, sent, ok, errors, p50_ms, p99_ms}]  (one per entry
//        of the traffic's mix, in its order; latencies of successful requests, null when none)
//   workers [{id, zone, launched_at, in_service_at, ended_at, requests, errors, end_cause}]
//        (every worker the run launched, in launch order; times null when it never happened)
// timeseries.csv header: t,offered_rps,ok,errors,p50_ms,p99_ms,in_service,pending,desired,cpu_avg
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "core/time.h"
#include "scenario/traffic.h"
#include "scenario/scenario.h"

namespace flotilla {

// Event kinds the expectations read; others are reported as they are.
inline constexpr std::string_view kEventFault = "fault";  // a fault started (or, kill, applied)
inline constexpr std::string_view kEventFaultEnd = "fault_end";              // a `for` ended
inline constexpr std::string_view kEventWorkerReplaced = "worker_replaced";  // counted by
                                                                             // replaced_workers

struct RequestTotals {
  std::uint64_t sent = 0;
  std::uint64_t ok = 0;
  std::uint64_t errors = 0;
  std::map<std::string, std::uint64_t> by_kind;  // "http_5xx" -> n; kinds with 0 may be absent
  double error_rate() const { return sent == 0 ? 0.0 : double(errors) / double(sent); }
};

// Whole-run latency of successful requests; nullopt when none succeeded.
struct LatencySummary {
  std::optional<double> p50_ms, p90_ms, p99_ms, max_ms;
};

struct CapacitySummary {
  int initial = 0;         // in service when traffic started
  int max_in_service = 0;  // the most at any time
  int min_in_service = 0;  // the fewest at any time (after the initial ones were in service)
  int final_in_service = 0;
};

// A change of the group's desired capacity (AWS: a scaling activity).
struct ActivityRecord {
  double t = 0;  // seconds since the run started
  int from = 0;
  int to = 0;
  std::string cause;
  bool failed = false;  // AWS StatusCode Failed: a launch that did not come up
};

struct RunEvent {
  double t = 0;
  std::string kind;  // kEventFault, kEventWorkerReplaced, ...
  std::string detail;
};

// A CloudWatch alarm a policy named, and its state changes (metrics/alarm.h history()).
struct AlarmTransition {
  double t = 0;      // the end of the period evaluated, seconds since the run started
  std::string from;  // "OK", "ALARM" or "INSUFFICIENT_DATA"
  std::string to;
  std::string reason;
};

struct AlarmRecord {
  std::string name;
  std::string description;  // AlarmConfig::describe()
  std::vector<AlarmTransition> transitions;
};

// One row per second; NaN in a floating field means "no data" (an empty CSV cell).
struct TimeseriesRow {
  double t = 0;  // the second's start, seconds since the run started
  double offered_rps = 0;
  std::uint64_t ok = 0;
  std::uint64_t errors = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  int in_service = 0;
  int pending = 0;
  int desired = 0;
  double cpu_avg = 0;  // percent, averaged over in-service workers
};
// errors / (ok + errors) of the second; nullopt when nothing finished in it.
std::optional<double> second_error_rate(const TimeseriesRow& row);

struct ExpectationResult {
  std::string metric;
  std::string text;  // "error_rate <= 0.01"
  bool passed = false;
  std::optional<double> observed;
  std::optional<SeriesWindow> series;  // as in the Expectation
  SeriesStat stat = SeriesStat::kMax;
  // Why the value is what it is, when it needs saying: "no second in the window has data",
  // "a fault did not recover: ... (counted to the run's end)"; else "".
  std::string note;
};

// One entry of the traffic's request mix and what it measured.
struct PathRecord {
  std::string path;
  std::string method;
  double weight = 1;
  std::size_t body_bytes = 0;
  std::uint64_t sent = 0;
  std::uint64_t ok = 0;
  std::uint64_t errors = 0;
  std::optional<double> p50_ms, p99_ms;  // successful requests; nullopt when none
};

// One worker the run launched. Times in seconds since traffic started (negative before it);
// requests and errors as the balancer counted them for its target (BalancerTargetStats).
struct WorkerRecord {
  std::string id;
  std::string zone;  // "" without zones
  std::optional<double> launched_at;
  std::optional<double> in_service_at;
  std::optional<double> ended_at;
  std::uint64_t requests = 0;
  std::uint64_t errors = 0;
  // As the group recorded it ("scale-in to desired 2", "signal 9 (SIGKILL)", ...); "run
  // finished" for one still running when the run ended.
  std::string end_cause;
};

struct RunRecord {
  std::string scenario;  // the scenario's name
  std::string description;
  std::string mode = "live";  // or "simulated"
  std::uint64_t seed = 0;
  Duration duration{};
  std::string started_at;  // wall clock, e.g. "2024-05-01T12:00:00Z"
  std::string output_dir;
  // AWS durations in seconds were multiplied by this (Scenario::effective_time_scale).
  double time_scale = 1;
  RequestTotals requests;
  LatencySummary latency_ms;
  CapacitySummary capacity;
  std::vector<ActivityRecord> activities;
  nlohmann::json decisions = nlohmann::json::array();  // the decision log, opaque here
  std::vector<TimeseriesRow> timeseries;
  std::vector<RunEvent> events;
  std::vector<ExpectationResult> expectations;
  std::vector<AlarmRecord> alarms;
  std::vector<PathRecord> paths;
  std::vector<WorkerRecord> workers;
  bool passed = false;
  // The scenario's; the SLO metrics and the report's `slo` read it.
  SloSpec slo;
};

// Fills `requests` and `latency_ms` from the load generator's final figures.
void fill_requests(RunRecord& record, const LoadSnapshot& load);
// Fills `paths`, one per entry of the mix, from the load generator's final figures
// (load.requests parallel to `mix`).
void fill_paths(RunRecord& record, const LoadSnapshot& load, const std::vector<RequestSpec>& mix);
// One row per second of the snapshot with the load columns filled (t, offered_rps, ok, errors,
// p50_ms, p99_ms; NaN latency when no request of that second succeeded); the fleet columns are 0
// for the orchestrator to fill.
std::vector<TimeseriesRow> load_timeseries(const LoadSnapshot& load);

// The value of a whole-run expectation metric (kExpectationMetrics) in a record; nullopt when it
// cannot be measured (latency with no successful request, availability with no second that has
// a verdict, recovery_seconds without a fault) or the name is unknown.
std::optional<double> observed_value(std::string_view metric, const RunRecord& record);
// A series metric (kSeriesMetrics) in one second; nullopt when the second has no data for it
// (expectation.h) or the name is unknown.
std::optional<double> series_value(std::string_view metric, const TimeseriesRow& row);
// The statistic of a series metric over the window's seconds, leaving out those with no data;
// nullopt when none has data. `duration` ends the run's last second.
std::optional<double> series_statistic(std::string_view metric, const SeriesWindow& window,
                                       SeriesStat stat, const std::vector<TimeseriesRow>& rows,
                                       Duration duration);
// One expectation against a record: the observed value, the verdict (an unmeasurable value
// fails; bounds are inclusive) and a note.
ExpectationResult evaluate_expectation(const Expectation& expectation, const RunRecord& record);
// Fills record.expectations (one per expectation, in order) and record.passed (all passed).
void evaluate_expectations(const std::vector<Expectation>& expectations, RunRecord& record);

nlohmann::json to_json(const RunRecord& record);
// Throw UserError if the file cannot be written.
void write_report_json(const std::string& path, const RunRecord& record);
void write_timeseries_csv(const std::string& path, const RunRecord& record);
void write_timeseries_csv(std::ostream& out, const RunRecord& record);

// The end-of-run table: requests, error rate, latency, the paths (with more than one),
// capacity, the SLO with what the run
// achieved, activities, events, each fault's recovery, expectations with PASS/FAIL and their
// observed values, and the verdict. With `colour` (core/terminal.h), PASS is green, FAIL red and
// the Result line green or red.
void print_summary(std::ostream& out, const RunRecord& record, bool colour = false);

// JUnit XML for CI: one <testsuite> (the scenario) in <testsuites>, one <testcase> per
// expectation (name: its text; classname: the scenario), a failed one with a <failure> whose
// message gives the observed value. A run that broke (`broke_why` set) adds one failed test
// case, "the run completes", with the reason; its expectations, if any were evaluated, stay.
void write_junit_xml(std::ostream& out, const RunRecord& record,
                     const std::optional<std::string>& broke_why = std::nullopt);
// Throws UserError if the file cannot be written.
void write_junit_xml(const std::string& path, const RunRecord& record,
                     const std::optional<std::string>& broke_why = std::nullopt);

struct ProgressLine {
  Duration elapsed{};
  Duration total{};
  double offered_rps = 0;
  std::uint64_t ok = 0;
  std::uint64_t errors = 0;
  std::optional<double> p99_ms;  // "-" when absent
  int in_service = 0;
  int desired = 0;
  bool fleet = true;  // false: no "in service" part (a load without a fleet: `flotilla load`)
};
// "[ 23s/90s] offered 112 rps | ok 110 | err 0 | p99 38.2 ms | in service 2/4"
std::string format_progress_line(const ProgressLine& line);
// The line's offered rate, ok, errors and p99 from the last complete second of `snap` (the
// one before the current one, as snapshot(2) gives them); left as they are without one.
void set_last_second(ProgressLine& line, const LoadSnapshot& snap);

}  // namespace flotilla
