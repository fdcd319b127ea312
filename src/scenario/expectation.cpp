#include "scenario/expectation.h"

#include <algorithm>

#include "core/config.h"
#include "core/duration.h"
#include "core/format.h"

namespace flotilla {

namespace {

template <std::size_t N>
bool contains(const std::array<std::string_view, N>& names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

template <std::size_t N>
std::string list(const std::array<std::string_view, N>& names) {
  return join(names);
}

// Every metric an expectation may name, for the "one of" message.
std::string every_metric() {
  std::string out = list(kExpectationMetrics);
  for (auto m : kSeriesMetrics)
    if (!is_run_metric(m)) out += ", " + std::string(m);
  return out;
}

// The smallest whole number of seconds >= d.
std::int64_t ceil_seconds(Duration d) {
  const std::int64_t per_second = std::chrono::nanoseconds(1s).count();
  return (d.count() + per_second - 1) / per_second;
}

// The end of the run's second that starts at `start` (the last one may be shorter).
Duration second_end(std::int64_t start, Duration duration) {
  return std::min<Duration>(std::chrono::seconds(start + 1), duration);
}

constexpr std::array<std::string_view, 4> kWindowKeys = {"after", "before", "between", "at"};

SeriesWindow parse_window(const ConfigNode& node, Duration duration) {
  int given = 0;
  for (auto key : kWindowKeys) given += node.has(key);
  if (given > 1) node.fail("at most one window: \"after\", \"before\", \"between\" or \"at\"");
  const std::string run_end = format_duration(duration);
  SeriesWindow w;
  if (auto after = node.get("after")) {
    w.kind = SeriesWindow::Kind::kAfter;
    w.from = after->as_duration();
    const std::int64_t last_start = ceil_seconds(duration) - 1;
    if (ceil_seconds(w.from) > last_start)
      after->fail("a time at or before the start of the run's last second (" +
                  format_duration(std::chrono::seconds(last_start)) + ")");
  } else if (auto before = node.get("before")) {
    w.kind = SeriesWindow::Kind::kBefore;
    const Duration first_end = second_end(0, duration);
    w.to = before->as_duration();
    if (w.to < first_end || w.to > duration)
      before->fail("a time between the end of the run's first second (" +
                   format_duration(first_end) + ") and the run's end (" + run_end + ")");
  } else if (auto between = node.get("between")) {
    w.kind = SeriesWindow::Kind::kBetween;
    const auto ends = between->items();
    if (ends.size() != 2) between->fail("[start, end]: two times, like [\"30s\", \"60s\"]");
    w.from = ends[0].as_duration();
    w.to = ends[1].as_duration();
    if (w.to > duration) ends[1].fail("a time within the run (at most " + run_end + ")");
    if (w.to <= w.from)
      ends[1].fail("a time after the window's start (" + format_duration(w.from) + ")");
    const std::int64_t first = ceil_seconds(w.from);
    if (std::chrono::seconds(first) >= duration || second_end(first, duration) > w.to)
      between->fail("a window that holds at least one whole second of the run");
  } else if (auto at = node.get("at")) {
    w.kind = SeriesWindow::Kind::kAt;
    w.from = at->as_duration();
    if (w.from >= duration) at->fail("a time before the run's end (" + run_end + ")");
  }
  return w;
}

}  // namespace

bool is_run_metric(std::string_view metric) { return contains(kExpectationMetrics, metric); }
bool is_series_metric(std::string_view metric) { return contains(kSeriesMetrics, metric); }

std::string_view to_string(SeriesStat stat) {
  switch (stat) {
    case SeriesStat::kMax:
      return "max";
    case SeriesStat::kMean:
      return "mean";
    case SeriesStat::kMin:
      return "min";
    case SeriesStat::kP99:
      return "p99";
  }
  return "max";
}

bool SeriesWindow::covers(double start_s, double end_s) const {
  switch (kind) {
    case Kind::kRun:
      return true;
    case Kind::kAfter:
      return start_s >= to_seconds(from);
    case Kind::kBefore:
      return end_s <= to_seconds(to);
    case Kind::kBetween:
      return start_s >= to_seconds(from) && end_s <= to_seconds(to);
    case Kind::kAt:
      return start_s <= to_seconds(from) && to_seconds(from) < end_s;
  }
  return false;
}

std::string SeriesWindow::text() const {
  switch (kind) {
    case Kind::kRun:
      return "";
    case Kind::kAfter:
      return "after " + format_duration(from);
    case Kind::kBefore:
      return "before " + format_duration(to);
    case Kind::kBetween:
      return "between " + format_duration(from) + " and " + format_duration(to);
    case Kind::kAt:
      return "at " + format_duration(from);
  }
  return "";
}

std::string Expectation::text() const {
  std::string subject = metric;
  if (series) {
    // One second has one value: its statistic goes without saying.
    if (series->kind != SeriesWindow::Kind::kAt)
      subject = std::string(to_string(stat)) + " " + subject;
    if (series->kind != SeriesWindow::Kind::kRun) subject += " " + series->text();
  }
  if (min && max)
    return format_number(*min, 6) + " <= " + subject + " <= " + format_number(*max, 6);
  if (min) return subject + " >= " + format_number(*min, 6);
  if (max) return subject + " <= " + format_number(*max, 6);
  return subject;
}

Expectation parse_expectation(const ConfigNode& node, const ExpectationContext& context) {
  node.only_keys({"metric", "min", "max", "after", "before", "between", "at", "stat"});
  Expectation e;
  const ConfigNode metric = node.at("metric");
  if (!metric.is_string()) metric.fail("one of " + every_metric());
  e.metric = metric.as_string();
  const bool run = is_run_metric(e.metric);
  const bool series = is_series_metric(e.metric);
  if (!run && !series) metric.fail("one of " + every_metric());
  if (e.metric == "recovery_seconds" && !context.has_faults)
    metric.fail("a metric other than recovery_seconds: the scenario has no faults to recover from");

  const std::optional<ConfigNode> stat = node.get("stat");
  std::optional<ConfigNode> window;
  for (auto key : kWindowKeys)
    if (!window) window = node.get(key);
  if (!series && (stat || window)) {
    const ConfigNode& where = window ? *window : *stat;
    where.fail("no window or stat: " + e.metric +
               " is a whole-run figure (the per-second series are " + list(kSeriesMetrics) + ")");
  }
  // A metric only the series has reads it over the whole run by default.
  if (stat || window || !run) {
    e.series = parse_window(node, context.duration);
    if (stat) {
      if (e.series->kind == SeriesWindow::Kind::kAt)
        stat->fail("no stat with \"at\" (one second has one value)");
      const std::string s = stat->as_enum({"max", "mean", "min", "p99"});
      for (auto candidate :
           {SeriesStat::kMax, SeriesStat::kMean, SeriesStat::kMin, SeriesStat::kP99})
        if (to_string(candidate) == s) e.stat = candidate;
    }
  }

  if (auto min = node.get("min")) e.min = min->as_number();
  if (auto max = node.get("max")) {
    e.max = max->as_number();
    if (e.min && *e.min > *e.max) max->fail("a number >= min (" + format_number(*e.min, 6) + ")");
  }
  if (!e.min && !e.max) node.fail("\"min\" or \"max\" (or both)");
  return e;
}

}  // namespace flotilla
