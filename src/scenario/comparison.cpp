#include "scenario/comparison.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iomanip>

#include "core/duration.h"
#include "core/format.h"

namespace flotilla {

double instance_hours(const RunRecord& record) {
  double worker_seconds = 0;
  for (const TimeseriesRow& row : record.timeseries) worker_seconds += row.in_service + row.pending;
  return worker_seconds / 3600.0;
}

std::optional<bool> second_meets_slo(const TimeseriesRow& row, const SloSpec& slo) {
  const std::optional<double> error_rate = second_error_rate(row);
  if (!error_rate) return std::nullopt;
  const bool slow = std::isfinite(row.p99_ms) && row.p99_ms > to_millis(slo.latency);
  return !slow && *error_rate <= slo.error_rate;
}

std::int64_t slo_violation_seconds(const RunRecord& record, const SloSpec& slo) {
  std::int64_t n = 0;
  for (const TimeseriesRow& row : record.timeseries) n += second_meets_slo(row, slo) == false;
  return n;
}

std::int64_t slo_measured_seconds(const RunRecord& record, const SloSpec& slo) {
  std::int64_t n = 0;
  for (const TimeseriesRow& row : record.timeseries) n += second_meets_slo(row, slo).has_value();
  return n;
}

std::optional<double> availability(const RunRecord& record, const SloSpec& slo) {
  const std::int64_t measured = slo_measured_seconds(record, slo);
  if (measured == 0) return std::nullopt;
  return 1.0 -
         static_cast<double>(slo_violation_seconds(record, slo)) / static_cast<double>(measured);
}

std::vector<FaultRecovery> fault_recoveries(const RunRecord& record, const SloSpec& slo) {
  std::vector<FaultRecovery> out;
  const double end_s = to_seconds(record.duration);
  for (const RunEvent& e : record.events) {
    if (e.kind != kEventFault) continue;
    FaultRecovery r;
    r.fault_t = e.t;
    r.fault = e.detail;
    r.seconds = std::max(0.0, end_s - e.t);
    const double first_second = std::floor(e.t);
    int streak = 0;
    double streak_start = 0;
    for (const TimeseriesRow& row : record.timeseries) {
      if (row.t < first_second) continue;
      const std::optional<bool> meets = second_meets_slo(row, slo);
      if (!meets) continue;
      if (!*meets) {
        streak = 0;
        continue;
      }
      if (streak++ == 0) streak_start = row.t;
      if (streak == kRecoveryStreak) {
        r.recovered = true;
        r.seconds = std::max(0.0, streak_start - e.t);
        break;
      }
    }
    out.push_back(std::move(r));
  }
  return out;
}

PolicyOutcome outcome_of(const std::string& policy, const RunRecord& record, const SloSpec& slo,
                         bool broke) {
  PolicyOutcome o;
  o.policy = policy;
  o.broke = broke;
  o.instance_hours = instance_hours(record);
  o.slo_violation_seconds = slo_violation_seconds(record, slo);
  o.error_rate = record.requests.error_rate();
  o.p99_ms = record.latency_ms.p99_ms;
  o.scale_out_count = static_cast<int>(observed_value("scale_out_count", record).value_or(0));
  o.scale_in_count = static_cast<int>(observed_value("scale_in_count", record).value_or(0));
  o.expectations = record.expectations;
  return o;
}

void mark_frontier(std::vector<PolicyOutcome>& outcomes) {
  for (PolicyOutcome& a : outcomes) {
    a.on_frontier = !a.broke;
    for (const PolicyOutcome& b : outcomes) {
      if (&a == &b || b.broke) continue;
      const bool no_worse = b.instance_hours <= a.instance_hours &&
                            b.slo_violation_seconds <= a.slo_violation_seconds;
      const bool better = b.instance_hours < a.instance_hours ||
                          b.slo_violation_seconds < a.slo_violation_seconds;
      if (no_worse && better) {
        a.on_frontier = false;
        break;
      }
    }
  }
}

namespace {

nlohmann::json number_or_null(const std::optional<double>& v) {
  if (!v || !std::isfinite(*v)) return nullptr;
  return *v;
}

int expectations_passed(const PolicyOutcome& o) {
  return static_cast<int>(std::count_if(o.expectations.begin(), o.expectations.end(),
                                        [](const ExpectationResult& e) { return e.passed; }));
}

}  // namespace

nlohmann::json comparison_json(const std::vector<PolicyOutcome>& outcomes) {
  nlohmann::json policies = nlohmann::json::array();
  for (const PolicyOutcome& o : outcomes) {
    nlohmann::json expectations = nlohmann::json::array();
    for (const auto& e : o.expectations)
      expectations.push_back(
          {{"text", e.text}, {"passed", e.passed}, {"observed", number_or_null(e.observed)}});
    policies.push_back({{"policy", o.policy},
                        {"instance_hours", o.instance_hours},
                        {"slo_violation_seconds", o.slo_violation_seconds},
                        {"error_rate", o.error_rate},
                        {"p99_ms", number_or_null(o.p99_ms)},
                        {"scale_out_count", o.scale_out_count},
                        {"scale_in_count", o.scale_in_count},
                        {"on_frontier", o.on_frontier},
                        {"broke", o.broke},
                        {"expectations", std::move(expectations)}});
  }
  return {{"policies", std::move(policies)}};
}

void write_comparison_csv(std::ostream& out, const std::vector<PolicyOutcome>& outcomes) {
  out << "policy,instance_hours,slo_violation_seconds,error_rate,p99_ms,scale_out_count,"
         "scale_in_count,on_frontier,broke,expectations_passed,expectations\n";
  for (const PolicyOutcome& o : outcomes) {
    out << o.policy << ',' << format_number(o.instance_hours, 4) << ',' << o.slo_violation_seconds
        << ',' << format_number(o.error_rate, 6) << ','
        << (o.p99_ms ? format_number(*o.p99_ms, 2) : std::string()) << ',' << o.scale_out_count
        << ',' << o.scale_in_count << ',' << (o.on_frontier ? "true" : "false") << ','
        << (o.broke ? "true" : "false") << ',' << expectations_passed(o) << ','
        << o.expectations.size() << '\n';
  }
}

void print_comparison(std::ostream& out, const std::string& scenario, const SloSpec& slo,
                      const std::vector<PolicyOutcome>& outcomes) {
  std::size_t width = 6;
  for (const auto& o : outcomes) width = std::max(width, o.policy.size());
  const int w = static_cast<int>(width);
  out << "Scenario " << scenario << ": SLO p99 <= " << format_duration(slo.latency)
      << " and error rate <= " << format_number(slo.error_rate * 100, 4) << " % each second\n\n";
  out << std::left << std::setw(w) << "policy" << std::right << std::setw(16) << "instance-hours"
      << std::setw(16) << "SLO-violation s" << std::setw(12) << "error rate" << std::setw(10)
      << "p99 ms" << std::setw(6) << "out" << std::setw(6) << "in" << std::setw(10)
      << "frontier" << std::setw(8) << "expect" << '\n';
  for (const PolicyOutcome& o : outcomes) {
    out << std::left << std::setw(w) << o.policy << std::right;
    if (o.broke) {
      out << "   the run broke\n";
      continue;
    }
    char hours[32];
    std::snprintf(hours, sizeof hours, "%.2f", o.instance_hours);
    out << std::setw(16) << hours << std::setw(16)
        << o.slo_violation_seconds << std::setw(12)
        << (format_number(o.error_rate * 100, 4) + " %") << std::setw(10)
        << (o.p99_ms ? format_number(*o.p99_ms, 1) : std::string("-")) << std::setw(6)
        << o.scale_out_count << std::setw(6) << o.scale_in_count << std::setw(10)
        << (o.on_frontier ? "yes" : "no") << std::setw(8)
        << (std::to_string(expectations_passed(o)) + "/" + std::to_string(o.expectations.size()))
        << '\n';
  }
  bool any = false;
  for (const PolicyOutcome& o : outcomes) {
    if (o.expectations.empty()) continue;
    if (!any) out << "\nExpectations (shown, not part of the exit code)\n";
    any = true;
    out << "  " << o.policy << '\n';
    for (const auto& e : o.expectations)
      out << "    " << (e.passed ? "PASS" : "FAIL") << "  " << e.text << "   observed "
          << (e.observed ? format_number(*e.observed, 4) : std::string("nothing")) << '\n';
  }
}

}  // namespace flotilla
