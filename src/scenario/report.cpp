#include "scenario/report.h"

#include "core/format.h"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <sstream>

#include "core/duration.h"
#include "core/errors.h"

namespace flotilla {

namespace {

nlohmann::json optional_json(const std::optional<double>& v) {
  if (!v || !std::isfinite(*v)) return nullptr;
  return *v;
}

std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

double nan() { return std::numeric_limits<double>::quiet_NaN(); }

}  // namespace

void fill_requests(RunRecord& record, const LoadSnapshot& load) {
  record.requests.sent = load.sent;
  record.requests.ok = load.ok;
  record.requests.errors = load.errors;
  record.requests.by_kind.clear();
  for (std::size_t i = 0; i < kLoadErrorKindCount; ++i) {
    const auto kind = static_cast<LoadErrorKind>(i);
    record.requests.by_kind[std::string(to_string(kind))] = load.by_kind[kind];
  }
  record.latency_ms = {};
  if (load.latency.count() > 0) {
    record.latency_ms.p50_ms = to_millis(load.latency.percentile(50));
    record.latency_ms.p90_ms = to_millis(load.latency.percentile(90));
    record.latency_ms.p99_ms = to_millis(load.latency.percentile(99));
    record.latency_ms.max_ms = to_millis(load.latency.max());
  }
}

std::vector<TimeseriesRow> load_timeseries(const LoadSnapshot& load) {
  std::vector<TimeseriesRow> rows;
  rows.reserve(load.seconds.size());
  for (const auto& s : load.seconds) {
    TimeseriesRow row;
    row.t = static_cast<double>(s.second);
    row.offered_rps = s.offered;
    row.ok = s.ok;
    row.errors = s.errors;
    const bool any = s.latency.count > 0;
    row.p50_ms = any ? to_millis(s.latency.p50) : nan();
    row.p99_ms = any ? to_millis(s.latency.p99) : nan();
    rows.push_back(row);
  }
  return rows;
}

std::optional<double> observed_value(std::string_view metric, const RunRecord& r) {
  if (metric == "sent") return double(r.requests.sent);
  if (metric == "ok") return double(r.requests.ok);
  if (metric == "errors") return double(r.requests.errors);
  if (metric == "error_rate") return r.requests.error_rate();
  if (metric == "p50_ms") return r.latency_ms.p50_ms;
  if (metric == "p90_ms") return r.latency_ms.p90_ms;
  if (metric == "p99_ms") return r.latency_ms.p99_ms;
  if (metric == "max_latency_ms") return r.latency_ms.max_ms;
  if (metric == "max_in_service") return double(r.capacity.max_in_service);
  if (metric == "min_in_service") return double(r.capacity.min_in_service);
  if (metric == "final_in_service") return double(r.capacity.final_in_service);
  if (metric == "scale_out_count" || metric == "scale_in_count") {
    const bool out = metric == "scale_out_count";
    int n = 0;
    // The group's creation (before traffic, t < 0) sets capacity up; it is not scaling.
    for (const auto& a : r.activities)
      if (a.t >= 0) n += out ? (a.to > a.from) : (a.to < a.from);
    return double(n);
  }
  if (metric == "replaced_workers") {
    int n = 0;
    for (const auto& e : r.events) n += e.kind == kEventWorkerReplaced;
    return double(n);
  }
  return std::nullopt;
}

void evaluate_expectations(const std::vector<Expectation>& expectations, RunRecord& record) {
  record.expectations.clear();
  bool all = true;
  for (const auto& e : expectations) {
    ExpectationResult result;
    result.metric = e.metric;
    result.text = e.text();
    result.observed = observed_value(e.metric, record);
    if (result.observed && !std::isfinite(*result.observed)) result.observed.reset();
    result.passed = result.observed.has_value() && (!e.min || *result.observed >= *e.min) &&
                    (!e.max || *result.observed <= *e.max);
    all = all && result.passed;
    record.expectations.push_back(std::move(result));
  }
  record.passed = all;
}

nlohmann::json to_json(const RunRecord& r) {
  using nlohmann::json;
  json j;
  j["scenario"] = r.scenario;
  j["description"] = r.description;
  j["mode"] = r.mode;
  j["seed"] = r.seed;
  j["duration_s"] = to_seconds(r.duration);
  j["started_at"] = r.started_at;
  j["output_dir"] = r.output_dir;
  j["time_scale"] = r.time_scale;
  j["passed"] = r.passed;
  json by_kind = json::object();
  for (const auto& [kind, n] : r.requests.by_kind) by_kind[kind] = n;
  j["requests"] = {{"sent", r.requests.sent},
                   {"ok", r.requests.ok},
                   {"errors", r.requests.errors},
                   {"error_rate", r.requests.error_rate()},
                   {"by_kind", by_kind}};
  j["latency_ms"] = {{"p50", optional_json(r.latency_ms.p50_ms)},
                     {"p90", optional_json(r.latency_ms.p90_ms)},
                     {"p99", optional_json(r.latency_ms.p99_ms)},
                     {"max", optional_json(r.latency_ms.max_ms)}};
  j["capacity"] = {{"initial", r.capacity.initial},
                   {"max_in_service", r.capacity.max_in_service},
                   {"min_in_service", r.capacity.min_in_service},
                   {"final", r.capacity.final_in_service}};
  j["activities"] = json::array();
  for (const auto& a : r.activities)
    j["activities"].push_back({{"t", a.t},
                               {"from", a.from},
                               {"to", a.to},
                               {"cause", a.cause},
                               {"status", a.failed ? "Failed" : "Successful"}});
  j["decisions"] = r.decisions.is_null() ? json::array() : r.decisions;
  j["events"] = json::array();
  for (const auto& e : r.events)
    j["events"].push_back({{"t", e.t}, {"kind", e.kind}, {"detail", e.detail}});
  j["expectations"] = json::array();
  for (const auto& e : r.expectations)
    j["expectations"].push_back({{"text", e.text},
                                 {"metric", e.metric},
                                 {"passed", e.passed},
                                 {"observed", optional_json(e.observed)}});
  return j;
}

void write_report_json(const std::string& path, const RunRecord& record) {
  std::ofstream out(path);
  if (!out) throw UserError(path, "", "a writable file for the report");
  out << to_json(record).dump(2) << '\n';
  if (!out) throw UserError(path, "", "a writable file for the report");
}

void write_timeseries_csv(std::ostream& out, const RunRecord& record) {
  out << "t,offered_rps,ok,errors,p50_ms,p99_ms,in_service,pending,desired,cpu_avg\n";
  for (const auto& row : record.timeseries) {
    out << format_number(row.t) << ',' << format_number(row.offered_rps, 2) << ',' << row.ok << ','
        << row.errors << ',' << format_number(row.p50_ms) << ',' << format_number(row.p99_ms) << ','
        << row.in_service << ',' << row.pending << ',' << row.desired << ','
        << format_number(row.cpu_avg, 2) << '\n';
  }
}

void write_timeseries_csv(const std::string& path, const RunRecord& record) {
  std::ofstream out(path);
  if (!out) throw UserError(path, "", "a writable file for the time series");
  write_timeseries_csv(out, record);
  if (!out) throw UserError(path, "", "a writable file for the time series");
}

void print_summary(std::ostream& out, const RunRecord& r) {
  auto ms = [](const std::optional<double>& v) {
    return v ? fixed(*v, 1) + " ms" : std::string("-");
  };
  out << "Scenario " << r.scenario;
  if (!r.description.empty()) out << ": " << r.description;
  out << "\n  " << r.mode << ", seed " << r.seed << ", duration " << format_duration(r.duration);
  if (!r.started_at.empty()) out << ", started " << r.started_at;
  if (!r.output_dir.empty()) out << ", output " << r.output_dir;
  out << "\n\n";

  const auto& q = r.requests;
  out << "  Requests     sent " << q.sent << "   ok " << q.ok << "   errors " << q.errors << " ("
      << format_number(q.error_rate() * 100.0, 2) << " %)\n";
  std::string kinds;
  for (const auto& [kind, n] : q.by_kind)
    if (n > 0) kinds += (kinds.empty() ? "" : ", ") + kind + " " + std::to_string(n);
  if (!kinds.empty()) out << "               by kind: " << kinds << '\n';
  out << "  Latency      p50 " << ms(r.latency_ms.p50_ms) << "   p90 " << ms(r.latency_ms.p90_ms)
      << "   p99 " << ms(r.latency_ms.p99_ms) << "   max " << ms(r.latency_ms.max_ms) << '\n';
  out << "  Capacity     initial " << r.capacity.initial << "   max in service "
      << r.capacity.max_in_service << "   min in service " << r.capacity.min_in_service
      << "   final " << r.capacity.final_in_service << '\n';

  out << "\n  Activities" << (r.activities.empty() ? "   none\n" : "\n");
  for (const auto& a : r.activities)
    out << "    t=" << std::setw(6) << std::left << (format_number(a.t, 1) + "s") << std::right
        << "  " << a.from << " -> " << a.to << "   " << a.cause << '\n';
  if (!r.events.empty()) {
    out << "\n  Events\n";
    for (const auto& e : r.events)
      out << "    t=" << std::setw(6) << std::left << (format_number(e.t, 1) + "s") << std::right
          << "  " << e.kind << ": " << e.detail << '\n';
  }
  out << "\n  Expectations" << (r.expectations.empty() ? "   none\n" : "\n");
  std::size_t width = 0;
  for (const auto& e : r.expectations) width = std::max(width, e.text.size());
  for (const auto& e : r.expectations) {
    out << "    " << (e.passed ? "PASS" : "FAIL") << "  " << std::setw(static_cast<int>(width))
        << std::left << e.text << std::right << "   observed "
        << (e.observed ? format_number(*e.observed, 4) : std::string("nothing")) << '\n';
  }
  out << "\n  Result: " << (r.passed ? "PASSED" : "FAILED") << '\n';
}

std::string format_progress_line(const ProgressLine& p) {
  const auto total_s = static_cast<long long>(std::llround(to_seconds(p.total)));
  const auto elapsed_s = static_cast<long long>(to_seconds(p.elapsed));
  const int width = std::max<int>(3, static_cast<int>(std::to_string(total_s).size()));
  std::ostringstream out;
  out << '[' << std::setw(width) << elapsed_s << "s/" << total_s << "s] offered "
      << std::llround(p.offered_rps) << " rps | ok " << p.ok << " | err " << p.errors << " | p99 "
      << (p.p99_ms ? fixed(*p.p99_ms, 1) + " ms" : std::string("-")) << " | in service "
      << p.in_service << '/' << p.desired;
  return out.str();
}

}  // namespace flotilla
