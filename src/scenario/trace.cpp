#include "scenario/trace.h"

#include <algorithm>
#include <cassert>
#include <cmath>

#include "core/data_files.h"
#include "core/errors.h"
#include "scenario/csv_text.h"

namespace flotilla {

namespace {

constexpr std::string_view kHeader = "t_seconds,rps";
// The latest row a trace may have: a year, as long as a scenario may last. Far larger times made
// the trace's length overflow to infinity, and the durations computed from it undefined.
constexpr double kMaxTraceSeconds = 365.0 * 86400;

}  // namespace

Trace parse_trace(std::string_view text, const std::string& file) {
  using csv::quoted;
  Trace trace;
  trace.file = file;
  bool header = false;
  std::string_view last_t_text;  // the previous row's t_seconds as written, for messages
  const std::size_t last_line = csv::for_each_line(text, [&](std::size_t line,
                                                             std::string_view content) {
    const csv::LineError at(file, line);
    const auto fields = csv::split_fields(content);
    const std::string_view first = fields[0];
    const std::string_view second = fields.size() > 1 ? fields[1] : std::string_view();
    if (!header) {
      if (fields.size() != 2 || first != "t_seconds" || second != "rps")
        at.fail("the header " + std::string(kHeader) + ", got " + quoted(content));
      header = true;
      return;
    }
    if (fields.size() != 2)
      at.fail("two fields, " + std::string(kHeader) + ", got " + quoted(content));
    const auto t = csv::parse_number(first);
    if (!t) at.fail("t_seconds as a number, got " + quoted(first));
    const auto rps = csv::parse_number(second);
    if (!rps) at.fail("rps as a number, got " + quoted(second));
    if (trace.rows.empty()) {
      if (*t != 0)
        at.fail("t_seconds 0 in the first row (a trace starts at 0), got " + std::string(first));
    } else if (*t <= trace.rows.back().t_s) {
      at.fail("t_seconds after " + std::string(last_t_text) + " (time going forwards), got " +
              std::string(first));
    }
    if (*t > kMaxTraceSeconds)
      at.fail("t_seconds at most " + std::to_string(static_cast<long long>(kMaxTraceSeconds)) +
              " (a year), got " + std::string(first));
    if (*rps < 0) at.fail("rps >= 0, got " + std::string(second));
    trace.rows.push_back({*t, *rps});
    if (*rps > trace.peak.rps || trace.rows.size() == 1) trace.peak = trace.rows.back();
    last_t_text = first;
  });
  const csv::LineError end(file, last_line + 1);
  if (!header) end.fail("the header " + std::string(kHeader) + ", got an empty file");
  if (trace.rows.size() < 2)
    end.fail(
        "at least 2 rows after the header (the last row lasts as long as the step before it), "
        "got " +
        std::to_string(trace.rows.size()));
  return trace;
}

Trace load_trace(const std::string& path) {
  return parse_trace(read_text_file(path, "a trace file"), path);
}

double Trace::length_s() const {
  assert(rows.size() >= 2);
  const double last = rows.back().t_s;
  return last + (last - rows[rows.size() - 2].t_s);
}

double Trace::rate_at(double t_s) const {
  if (rows.empty() || t_s < 0 || t_s >= length_s()) return 0;
  auto it = std::upper_bound(rows.begin(), rows.end(), t_s,
                             [](double v, const TraceRow& r) { return v < r.t_s; });
  const TraceRow& a = *std::prev(it);
  if (it == rows.end()) return a.rps;
  return a.rps + (it->rps - a.rps) * (t_s - a.t_s) / (it->t_s - a.t_s);
}

Duration TracePlayback::playable() const {
  return from_seconds((trace.length_s() - to_seconds(offset)) / speedup);
}

std::vector<RatePoint> TracePlayback::points(Duration total) const {
  assert(speedup > 0 && scale >= 0);
  const double from = to_seconds(offset);
  const double end = from + to_seconds(total) * speedup;  // trace time at `total`
  // The same expression as playable(), so a trace played to its end ends exactly at `total`.
  auto scenario_time = [&](double u) { return from_seconds((u - from) / speedup); };
  const auto& rows = trace.rows;
  auto it = std::upper_bound(rows.begin(), rows.end(), from,
                             [](double v, const TraceRow& r) { return v < r.t_s; });
  std::vector<RatePoint> out;
  out.reserve(static_cast<std::size_t>(rows.end() - it) + 2);
  out.push_back({Duration::zero(), scale * trace.rate_at(from)});
  for (; it != rows.end(); ++it) {
    out.push_back({scenario_time(it->t_s), scale * it->rps});
    if (it->t_s >= end) return out;
  }
  out.push_back({scenario_time(trace.length_s()), scale * rows.back().rps});
  return out;
}

}  // namespace flotilla
