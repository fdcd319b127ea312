#include "orchestrator/metric_file.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/config.h"
#include "core/data_files.h"
#include "core/duration.h"
#include "core/errors.h"
#include "core/format.h"
#include "scaling/scheduled.h"

namespace flotilla {

namespace {

// A year of one-minute periods is 525,600; gaps count as periods too.
constexpr std::size_t kMaxPeriods = 1'000'000;
constexpr Duration kSecond = std::chrono::seconds(1);

constexpr const char* kStatistics[] = {"Average", "Sum",         "Minimum",
                                       "Maximum", "SampleCount", "ExtendedStatistics"};

// One row or datapoint before the series is laid on its grid; `where` is the line or the
// pointer of its timestamp, for messages.
struct Point {
  Duration t{};
  double value = 0;
  std::string where;
};

[[noreturn]] void fail_at(const std::string& file, const std::string& where,
                          const std::string& expected) {
  throw UserError(file, where, expected);
}

std::string quote(std::string_view s) {
  return "\"" + std::string(s.substr(0, 57)) + (s.size() > 57 ? "...\"" : "\"");
}

std::string_view strip(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::optional<double> to_number(std::string_view s) {
  double v = 0;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

// Seconds at microsecond resolution, so that decimal spacings (0.1 s) stay exact.
std::optional<Duration> seconds_timestamp(std::string_view s) {
  const auto v = to_number(s);
  if (!v || std::fabs(*v) > 9e12) return std::nullopt;
  return std::chrono::microseconds(std::llround(*v * 1e6));
}

bool digits_at(std::string_view s, std::size_t from, std::size_t count) {
  if (from + count > s.size()) return false;
  for (std::size_t i = from; i < from + count; ++i)
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
  return true;
}

int two_digits(std::string_view s, std::size_t at) {
  return (s[at] - '0') * 10 + (s[at + 1] - '0');
}

// Lays the points (sorted by time, no duplicates) on their grid.
RecordedMetric on_grid(const std::vector<Point>& points, RecordedMetric m) {
  Duration period = Duration::max();
  for (std::size_t i = 1; i < points.size(); ++i)
    period = std::min(period, points[i].t - points[i - 1].t);
  m.start = points.front().t;
  m.period = period;
  for (const Point& p : points) {
    if ((p.t - m.start) % period != Duration::zero())
      fail_at(m.file, p.where,
              "a timestamp on the grid of " + format_duration(period) + " from " +
                  m.format_time(m.start) +
                  " (evenly spaced; the period is the smallest spacing), " + "got " +
                  m.format_time(p.t));
  }
  const auto count = static_cast<std::size_t>((points.back().t - m.start) / period) + 1;
  if (count > kMaxPeriods)
    fail_at(m.file, points.back().where,
            "at most " + std::to_string(kMaxPeriods) + " periods of " + format_duration(period) +
                " from the first timestamp, got " + std::to_string(count));
  m.values.assign(count, std::nullopt);
  for (const Point& p : points)
    m.values[static_cast<std::size_t>((p.t - m.start) / period)] = p.value;
  return m;
}

const char* format_name(TimestampFormat f) {
  return f == TimestampFormat::rfc3339 ? "an RFC 3339 date-time such as 2026-11-24T09:00:00Z"
                                       : "a number of seconds";
}

}  // namespace

std::optional<Duration> parse_rfc3339(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS, then an optional fraction and the offset.
  if (!digits_at(s, 0, 4) || s.size() < 20 || s[4] != '-' || !digits_at(s, 5, 2) || s[7] != '-' ||
      !digits_at(s, 8, 2) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
      !digits_at(s, 11, 2) || s[13] != ':' || !digits_at(s, 14, 2) || s[16] != ':' ||
      !digits_at(s, 17, 2))
    return std::nullopt;
  const auto whole =
      parse_utc_timestamp(std::string(s.substr(0, 10)) + "T" + std::string(s.substr(11, 8)) + "Z");
  // A Duration (int64 nanoseconds) holds +-292 years around 1970; beyond +-250 the conversion
  // would overflow, here or in the caller's arithmetic.
  constexpr std::int64_t kMaxSeconds = 250LL * 365 * 86400;
  if (!whole || *whole > kMaxSeconds || *whole < -kMaxSeconds) return std::nullopt;
  Duration t = std::chrono::seconds(*whole);
  std::size_t i = 19;
  if (s[i] == '.') {
    const std::size_t first = ++i;
    std::int64_t ns = 0, scale = 100'000'000;
    for (; i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])); ++i, scale /= 10)
      ns += (s[i] - '0') * scale;  // digits past the ninth weigh 0
    if (i == first) return std::nullopt;
    t += std::chrono::nanoseconds(ns);
  }
  const std::string_view offset = s.substr(i);
  if (offset == "Z" || offset == "z") return t;
  if (offset.size() != 6 || (offset[0] != '+' && offset[0] != '-') || !digits_at(offset, 1, 2) ||
      offset[3] != ':' || !digits_at(offset, 4, 2))
    return std::nullopt;
  const int hours = two_digits(offset, 1), minutes = two_digits(offset, 4);
  if (hours > 23 || minutes > 59) return std::nullopt;
  const Duration east = std::chrono::minutes(hours * 60 + minutes);
  return offset[0] == '+' ? t - east : t + east;
}

std::size_t RecordedMetric::datapoints() const {
  return static_cast<std::size_t>(
      std::count_if(values.begin(), values.end(), [](const auto& v) { return v.has_value(); }));
}

std::string RecordedMetric::format_time(Duration t) const {
  if (format == TimestampFormat::seconds) return format_number(to_seconds(t), 6);
  Duration whole = std::chrono::floor<std::chrono::seconds>(t);
  std::string text =
      format_utc_timestamp(std::chrono::duration_cast<std::chrono::seconds>(whole).count());
  const auto ns = (t - whole).count();
  if (ns != 0) {
    char fraction[16];
    std::snprintf(fraction, sizeof fraction, ".%09lld", static_cast<long long>(ns));
    std::string f = fraction;
    while (f.back() == '0') f.pop_back();
    text.insert(text.size() - 1, f);
  }
  return text;
}

RecordedMetric parse_metric_csv(std::string_view text, const std::string& file) {
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
  RecordedMetric m;
  m.file = file;
  m.statistic = "value";
  std::vector<Point> points;
  std::string previous;  // the previous row's timestamp as written
  bool header = false;
  std::size_t line_number = 0;
  for (std::size_t from = 0; from <= text.size();) {
    const std::size_t newline = std::min(text.find('\n', from), text.size());
    const std::string_view line = strip(text.substr(from, newline - from));
    from = newline + 1;
    ++line_number;
    if (line.empty()) continue;
    const std::string where = "line " + std::to_string(line_number);
    const std::size_t comma = line.find(',');
    const std::string_view time_text = strip(line.substr(0, comma));
    const std::string_view value_text =
        comma == std::string_view::npos ? std::string_view() : strip(line.substr(comma + 1));
    if (!header) {
      if (time_text != "timestamp" || value_text != "value")
        fail_at(file, where, "the header timestamp,value, got " + quote(line));
      header = true;
      continue;
    }
    if (comma == std::string_view::npos || value_text.find(',') != std::string_view::npos)
      fail_at(file, where, "two fields, timestamp,value, got " + quote(line));
    if (points.empty())
      m.format = parse_rfc3339(time_text) ? TimestampFormat::rfc3339 : TimestampFormat::seconds;
    const auto t = m.format == TimestampFormat::rfc3339 ? parse_rfc3339(time_text)
                                                        : seconds_timestamp(time_text);
    if (!t && points.empty())
      fail_at(file, where,
              "a timestamp: a number of seconds or " +
                  std::string(format_name(TimestampFormat::rfc3339)) + ", got " + quote(time_text));
    if (!t)
      fail_at(file, where,
              std::string("a timestamp: ") + format_name(m.format) +
                  " (as in the first row), got " + quote(time_text));
    const auto value = to_number(value_text);
    if (!value) fail_at(file, where, "a value: a number, got " + quote(value_text));
    if (!points.empty() && *t == points.back().t)
      fail_at(file, where,
              "a timestamp after " + previous + " (one row per period), got " +
                  std::string(time_text) + " again");
    if (!points.empty() && *t < points.back().t)
      fail_at(file, where,
              "a timestamp after " + previous + " (time going forwards), got " +
                  std::string(time_text));
    points.push_back({*t, *value, where});
    previous = time_text;
  }
  const std::string end = "line " + std::to_string(line_number);
  if (!header) fail_at(file, end, "the header timestamp,value, got an empty file");
  if (points.size() < 2)
    fail_at(file, end,
            "at least 2 rows after the header (the period is the spacing of the timestamps), got " +
                std::to_string(points.size()));
  return on_grid(points, std::move(m));
}

RecordedMetric parse_cloudwatch_json(const nlohmann::json& doc, const std::string& file) {
  const ConfigNode root(doc, file);
  if (!doc.is_object() || !doc.contains("Datapoints"))
    fail_at(file, "",
            "the output of `aws cloudwatch get-metric-statistics`: an object with \"Datapoints\" "
            "(or a CSV file with the header timestamp,value)");
  root.only_keys({"Label", "Datapoints"});
  if (const auto label = root.get("Label")) label->as_string();
  RecordedMetric m;
  m.file = file;
  m.format = TimestampFormat::rfc3339;
  std::vector<Point> points;
  std::string first_statistic_at;
  for (const ConfigNode& d : root.at("Datapoints").items()) {
    d.only_keys({"Timestamp", "Unit", "Average", "Sum", "Minimum", "Maximum", "SampleCount",
                 "ExtendedStatistics"});
    const ConfigNode stamp = d.at("Timestamp");
    const auto t = parse_rfc3339(stamp.as_string());
    if (!t) stamp.fail(format_name(TimestampFormat::rfc3339));
    if (const auto unit = d.get("Unit")) unit->as_string();
    std::vector<std::string> present;
    for (const char* s : kStatistics)
      if (d.has(s)) present.push_back(s);
    if (present.size() != 1) {
      const std::string list = join(present);
      throw UserError(file, d.pointer(),
                      "one statistic (Average, Sum, Minimum, Maximum, SampleCount or "
                      "ExtendedStatistics; ask get-metric-statistics for one), got " +
                          (list.empty() ? std::string("none") : list));
    }
    ConfigNode value = d.at(present[0]);
    std::string statistic = present[0];
    if (statistic == "ExtendedStatistics") {
      if (!value.is_object() || value.json().size() != 1)
        value.fail("an object with one percentile, such as {\"p99\": 812.5}");
      statistic = value.json().begin().key();
      value = value.at(statistic);
    }
    if (m.statistic.empty()) {
      m.statistic = statistic;
      first_statistic_at = d.pointer();
    } else if (statistic != m.statistic) {
      throw UserError(file, d.pointer(),
                      "the statistic " + m.statistic + " (as " + first_statistic_at +
                          " has it), got " + statistic);
    }
    points.push_back({*t, value.as_number(), stamp.pointer()});
  }
  if (points.size() < 2)
    fail_at(file, "/Datapoints",
            "at least 2 datapoints (the period is the spacing of the timestamps), got " +
                std::to_string(points.size()));
  std::stable_sort(points.begin(), points.end(),
                   [](const Point& a, const Point& b) { return a.t < b.t; });
  for (std::size_t i = 1; i < points.size(); ++i)
    if (points[i].t == points[i - 1].t)
      fail_at(file, points[i].where,
              "one datapoint per timestamp, got " + m.format_time(points[i].t) + " again (" +
                  points[i - 1].where + " has it too)");
  return on_grid(points, std::move(m));
}

RecordedMetric load_recorded_metric(const std::string& path) {
  const std::string content = read_text_file(path, "a metric file");
  const auto first = content.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && (content[first] == '{' || content[first] == '['))
    return parse_cloudwatch_json(load_json_file(path), path);
  return parse_metric_csv(content, path);
}

}  // namespace flotilla
