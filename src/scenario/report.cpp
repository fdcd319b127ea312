#include "scenario/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <sstream>

#include "core/duration.h"
#include "core/errors.h"
#include "core/format.h"
#include "core/terminal.h"
#include "scenario/comparison.h"

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

// The window as a scenario file writes it, in seconds: {"after": 60}, {} for the whole run.
nlohmann::json window_json(const SeriesWindow& w) {
  switch (w.kind) {
    case SeriesWindow::Kind::kRun:
      return nlohmann::json::object();
    case SeriesWindow::Kind::kAfter:
      return {{"after", to_seconds(w.from)}};
    case SeriesWindow::Kind::kBefore:
      return {{"before", to_seconds(w.to)}};
    case SeriesWindow::Kind::kBetween:
      return {{"between", {to_seconds(w.from), to_seconds(w.to)}}};
    case SeriesWindow::Kind::kAt:
      return {{"at", to_seconds(w.from)}};
  }
  return nlohmann::json::object();
}

// Successful requests per second of the run; nullopt for a run of no length.
std::optional<double> throughput_rps(const RunRecord& r) {
  const double seconds = to_seconds(r.duration);
  if (seconds <= 0) return std::nullopt;
  return double(r.requests.ok) / seconds;
}

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

void fill_paths(RunRecord& record, const LoadSnapshot& load, const std::vector<RequestSpec>& mix) {
  record.paths.clear();
  for (std::size_t i = 0; i < mix.size(); ++i) {
    PathRecord p;
    p.path = mix[i].path;
    p.method = mix[i].method;
    p.weight = mix[i].weight;
    p.body_bytes = mix[i].body_bytes;
    if (i < load.requests.size()) {
      const RequestStats& r = load.requests[i];
      p.sent = r.sent;
      p.ok = r.ok;
      p.errors = r.errors;
      if (r.latency.count() > 0) {
        p.p50_ms = to_millis(r.latency.percentile(50));
        p.p99_ms = to_millis(r.latency.percentile(99));
      }
    }
    record.paths.push_back(std::move(p));
  }
}

std::optional<double> second_error_rate(const TimeseriesRow& row) {
  const std::uint64_t finished = row.ok + row.errors;
  if (finished == 0) return std::nullopt;
  return double(row.errors) / double(finished);
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
  if (metric == "direction_changes") {
    int n = 0;
    int last = 0;  // the direction of the last change: +1 rising, -1 falling, 0 none yet
    for (const auto& a : r.activities) {
      if (a.t < 0 || a.to == a.from) continue;
      const int direction = a.to > a.from ? 1 : -1;
      n += last != 0 && direction != last;
      last = direction;
    }
    return double(n);
  }
  if (metric == "replaced_workers") {
    int n = 0;
    for (const auto& e : r.events) n += e.kind == kEventWorkerReplaced;
    return double(n);
  }
  if (metric == "success_rate") {
    if (r.requests.sent == 0) return std::nullopt;
    return double(r.requests.ok) / double(r.requests.sent);
  }
  if (metric == "instance_hours") return instance_hours(r);
  if (metric == "slo_violation_seconds") return double(slo_violation_seconds(r, r.slo));
  if (metric == "availability") return availability(r, r.slo);
  if (metric == "recovery_seconds") {
    std::optional<double> worst;
    for (const FaultRecovery& f : fault_recoveries(r, r.slo))
      worst = std::max(worst.value_or(0.0), f.seconds);
    return worst;
  }
  return std::nullopt;
}

std::optional<double> series_value(std::string_view metric, const TimeseriesRow& row) {
  auto finite = [](double v) -> std::optional<double> {
    if (!std::isfinite(v)) return std::nullopt;
    return v;
  };
  if (metric == "p50_ms") return finite(row.p50_ms);
  if (metric == "p99_ms") return finite(row.p99_ms);
  if (metric == "ok") return double(row.ok);
  if (metric == "errors") return double(row.errors);
  if (metric == "error_rate") return second_error_rate(row);
  if (metric == "offered_rps") return finite(row.offered_rps);
  if (metric == "in_service") return double(row.in_service);
  if (metric == "pending") return double(row.pending);
  if (metric == "desired") return double(row.desired);
  if (metric == "cpu_avg") return finite(row.cpu_avg);
  return std::nullopt;
}

std::optional<double> series_statistic(std::string_view metric, const SeriesWindow& window,
                                       SeriesStat stat, const std::vector<TimeseriesRow>& rows,
                                       Duration duration) {
  const double end_s = to_seconds(duration);
  std::vector<double> values;
  for (const TimeseriesRow& row : rows) {
    const double row_end = end_s > row.t ? std::min(row.t + 1, end_s) : row.t + 1;
    if (!window.covers(row.t, row_end)) continue;
    if (auto v = series_value(metric, row)) values.push_back(*v);
  }
  if (values.empty()) return std::nullopt;
  switch (stat) {
    case SeriesStat::kMax:
      return *std::max_element(values.begin(), values.end());
    case SeriesStat::kMin:
      return *std::min_element(values.begin(), values.end());
    case SeriesStat::kMean: {
      double sum = 0;
      for (double v : values) sum += v;
      return sum / double(values.size());
    }
    case SeriesStat::kP99: {
      // Nearest rank: the ceil(0.99 n)-th smallest.
      const auto rank = static_cast<std::size_t>(std::ceil(0.99 * double(values.size())));
      const auto nth =
          values.begin() + static_cast<std::ptrdiff_t>(std::max<std::size_t>(rank, 1) - 1);
      std::nth_element(values.begin(), nth, values.end());
      return *nth;
    }
  }
  return std::nullopt;
}

ExpectationResult evaluate_expectation(const Expectation& e, const RunRecord& record) {
  ExpectationResult result;
  result.metric = e.metric;
  result.text = e.text();
  result.series = e.series;
  result.stat = e.stat;
  if (e.series) {
    result.observed =
        series_statistic(e.metric, *e.series, e.stat, record.timeseries, record.duration);
    if (!result.observed)
      result.note = e.series->kind == SeriesWindow::Kind::kRun
                        ? "no second of the run has data for " + e.metric
                        : "no second " + e.series->text() + " has data for " + e.metric;
  } else {
    result.observed = observed_value(e.metric, record);
    if (e.metric == "recovery_seconds") {
      for (const FaultRecovery& f : fault_recoveries(record, record.slo))
        if (!f.recovered)
          result.note += std::string(result.note.empty() ? "" : "; ") +
                         "not recovered: " + f.fault + " at " + format_number(f.fault_t, 1) +
                         "s (counted to the run's end)";
    }
    if (!result.observed)
      result.note = e.metric == "recovery_seconds" ? "no fault happened in this run"
                                                   : "not measurable in this run";
  }
  if (result.observed && !std::isfinite(*result.observed)) result.observed.reset();
  result.passed = result.observed.has_value() && (!e.min || *result.observed >= *e.min) &&
                  (!e.max || *result.observed <= *e.max);
  return result;
}

void evaluate_expectations(const std::vector<Expectation>& expectations, RunRecord& record) {
  record.expectations.clear();
  bool all = true;
  for (const auto& e : expectations) {
    record.expectations.push_back(evaluate_expectation(e, record));
    all = all && record.expectations.back().passed;
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
  j["slo"] = {{"latency_ms", to_millis(r.slo.latency)},
              {"error_rate", r.slo.error_rate},
              {"availability", r.slo.availability},
              {"violation_seconds", slo_violation_seconds(r, r.slo)},
              {"throughput_rps", optional_json(throughput_rps(r))},
              {"measured_seconds", slo_measured_seconds(r, r.slo)},
              {"achieved_availability", optional_json(availability(r, r.slo))}};
  j["recovery"] = json::array();
  for (const FaultRecovery& f : fault_recoveries(r, r.slo))
    j["recovery"].push_back(
        {{"t", f.fault_t}, {"fault", f.fault}, {"recovered", f.recovered}, {"seconds", f.seconds}});
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
    j["expectations"].push_back(
        {{"text", e.text},
         {"metric", e.metric},
         {"passed", e.passed},
         {"observed", optional_json(e.observed)},
         {"stat", e.series ? json(std::string(to_string(e.stat))) : json(nullptr)},
         {"window", e.series ? window_json(*e.series) : json(nullptr)},
         {"note", e.note}});
  j["alarms"] = json::array();
  for (const auto& a : r.alarms) {
    json transitions = json::array();
    for (const auto& t : a.transitions)
      transitions.push_back({{"t", t.t}, {"from", t.from}, {"to", t.to}, {"reason", t.reason}});
    j["alarms"].push_back(
        {{"name", a.name}, {"description", a.description}, {"transitions", transitions}});
  }
  j["paths"] = json::array();
  for (const auto& p : r.paths)
    j["paths"].push_back({{"path", p.path},
                          {"method", p.method},
                          {"weight", p.weight},
                          {"body_bytes", p.body_bytes},
                          {"sent", p.sent},
                          {"ok", p.ok},
                          {"errors", p.errors},
                          {"p50_ms", optional_json(p.p50_ms)},
                          {"p99_ms", optional_json(p.p99_ms)}});
  j["workers"] = json::array();
  for (const auto& w : r.workers)
    j["workers"].push_back({{"id", w.id},
                            {"zone", w.zone},
                            {"launched_at", optional_json(w.launched_at)},
                            {"in_service_at", optional_json(w.in_service_at)},
                            {"ended_at", optional_json(w.ended_at)},
                            {"requests", w.requests},
                            {"errors", w.errors},
                            {"end_cause", w.end_cause}});
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

void print_summary(std::ostream& out, const RunRecord& r, bool colour) {
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
  if (r.paths.size() > 1) {
    std::size_t width = 0;
    for (const auto& p : r.paths) width = std::max(width, p.method.size() + 1 + p.path.size());
    out << "  Paths\n";
    for (const auto& p : r.paths)
      out << "    " << std::setw(static_cast<int>(width)) << std::left
          << (p.method + " " + p.path) << std::right << "   sent " << p.sent << "   ok " << p.ok
          << "   errors " << p.errors << "   p50 " << ms(p.p50_ms) << "   p99 " << ms(p.p99_ms)
          << '\n';
  }
  out << "  Capacity     initial " << r.capacity.initial << "   max in service "
      << r.capacity.max_in_service << "   min in service " << r.capacity.min_in_service
      << "   final " << r.capacity.final_in_service << '\n';

  const std::optional<double> achieved = availability(r, r.slo);
  const std::optional<double> throughput = throughput_rps(r);
  out << "  SLO          p99 <= " << format_duration(r.slo.latency)
      << ", error rate <= " << format_number(r.slo.error_rate * 100, 4)
      << " % each second, availability >= " << format_number(r.slo.availability * 100, 4) << " %\n"
      << "               achieved: availability "
      << (achieved ? format_number(*achieved * 100, 2) + " %" : std::string("-")) << " ("
      << slo_violation_seconds(r, r.slo) << " of " << slo_measured_seconds(r, r.slo)
      << " seconds missed it), throughput "
      << (throughput ? format_number(*throughput, 1) : std::string("-")) << " ok/s\n";

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
  const std::vector<FaultRecovery> recoveries = fault_recoveries(r, r.slo);
  if (!recoveries.empty()) {
    out << "\n  Recovery     (" << kRecoveryStreak << " seconds in a row within the SLO)\n";
    for (const FaultRecovery& f : recoveries) {
      out << "    t=" << std::setw(6) << std::left << (format_number(f.fault_t, 1) + "s")
          << std::right << "  " << f.fault << ": ";
      if (f.recovered)
        out << "recovered after " << format_number(f.seconds, 1) << " s\n";
      else
        out << "not recovered (" << format_number(f.seconds, 1) << " s to the run's end)\n";
    }
  }
  out << "\n  Expectations" << (r.expectations.empty() ? "   none\n" : "\n");
  std::size_t width = 0;
  for (const auto& e : r.expectations) width = std::max(width, e.text.size());
  for (const auto& e : r.expectations) {
    out << "    "
        << (e.passed ? paint("PASS", Colour::green, colour) : paint("FAIL", Colour::red, colour))
        << "  " << std::setw(static_cast<int>(width))
        << std::left << e.text << std::right << "   observed "
        << (e.observed ? format_number(*e.observed, 4) : std::string("nothing"));
    if (!e.note.empty()) out << "   (" << e.note << ")";
    out << '\n';
  }
  out << "\n  "
      << (r.passed ? paint("Result: PASSED", Colour::green, colour)
                   : paint("Result: FAILED", Colour::red, colour))
      << '\n';
}

namespace {

std::string attribute(std::string_view name, std::string_view value) {
  return " " + std::string(name) + "=\"" + escape_markup(value) + "\"";
}

}  // namespace

void write_junit_xml(std::ostream& out, const RunRecord& r,
                     const std::optional<std::string>& broke_why) {
  const std::size_t tests = r.expectations.size() + (broke_why ? 1 : 0);
  std::size_t failures = broke_why ? 1 : 0;
  for (const auto& e : r.expectations) failures += !e.passed;
  const std::string time = format_number(to_seconds(r.duration), 3);
  // JUnit's timestamp is an ISO 8601 time without a zone; started_at is UTC.
  std::string timestamp = r.started_at;
  if (!timestamp.empty() && timestamp.back() == 'Z') timestamp.pop_back();
  const std::string counts = attribute("tests", std::to_string(tests)) +
                             attribute("failures", std::to_string(failures)) +
                             attribute("errors", "0");

  out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out << "<testsuites" << attribute("name", "flotilla") << counts << attribute("time", time)
      << ">\n";
  out << "  <testsuite" << attribute("name", r.scenario) << counts << attribute("skipped", "0")
      << attribute("time", time);
  if (!timestamp.empty()) out << attribute("timestamp", timestamp);
  out << ">\n    <properties>\n";
  auto property = [&](std::string_view name, const std::string& value) {
    out << "      <property" << attribute("name", name) << attribute("value", value) << "/>\n";
  };
  property("mode", r.mode);
  property("seed", std::to_string(r.seed));
  if (!r.started_at.empty()) property("started_at", r.started_at);
  if (!r.output_dir.empty()) property("output_dir", r.output_dir);
  out << "    </properties>\n";
  auto test_case = [&](const std::string& name, const std::optional<std::string>& failure,
                       std::string_view type, const std::string& body) {
    out << "    <testcase" << attribute("name", name) << attribute("classname", r.scenario)
        << attribute("time", "0");
    if (!failure) {
      out << "/>\n";
      return;
    }
    out << ">\n      <failure" << attribute("message", *failure) << attribute("type", type) << ">"
        << escape_markup(body) << "</failure>\n    </testcase>\n";
  };
  for (const auto& e : r.expectations) {
    std::string message =
        "observed " + (e.observed ? format_number(*e.observed, 4) : std::string("nothing"));
    if (!e.note.empty()) message += " (" + e.note + ")";
    test_case(e.text, e.passed ? std::nullopt : std::optional<std::string>(message), "expectation",
              "expected " + e.text + ", " + message);
  }
  if (broke_why) test_case("the run completes", *broke_why, "run", "the run broke: " + *broke_why);
  out << "  </testsuite>\n</testsuites>\n";
}

void write_junit_xml(const std::string& path, const RunRecord& record,
                     const std::optional<std::string>& broke_why) {
  std::ofstream out(path);
  if (!out) throw UserError(path, "", "a writable file for the JUnit report (--junit)");
  write_junit_xml(out, record, broke_why);
  if (!out) throw UserError(path, "", "a writable file for the JUnit report (--junit)");
}

void set_last_second(ProgressLine& line, const LoadSnapshot& snap) {
  if (snap.seconds.size() < 2) return;
  const SecondStats& s = snap.seconds[snap.seconds.size() - 2];
  line.offered_rps = s.offered;
  line.ok = s.ok;
  line.errors = s.errors;
  if (s.latency.count > 0) line.p99_ms = to_millis(s.latency.p99);
}

std::string format_progress_line(const ProgressLine& p) {
  const auto total_s = static_cast<long long>(std::llround(to_seconds(p.total)));
  const auto elapsed_s = static_cast<long long>(to_seconds(p.elapsed));
  const int width = std::max<int>(3, static_cast<int>(std::to_string(total_s).size()));
  std::ostringstream out;
  out << '[' << std::setw(width) << elapsed_s << "s/" << total_s << "s] offered "
      << std::llround(p.offered_rps) << " rps | ok " << p.ok << " | err " << p.errors << " | p99 "
      << (p.p99_ms ? fixed(*p.p99_ms, 1) + " ms" : std::string("-"));
  if (p.fleet) out << " | in service " << p.in_service << '/' << p.desired;
  return out.str();
}

}  // namespace flotilla
