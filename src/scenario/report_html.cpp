#include "scenario/report_html.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <cmath>
#include <fstream>
#include <initializer_list>

#include "core/config.h"
#include "core/errors.h"
#include "core/format.h"
#include "scenario/report_assets.h"

namespace flotilla {

namespace {

struct Column {
  std::string_view name;
  double (*value)(const TimeseriesRow&);
  bool step;  // a count that holds until it changes: drawn as steps, kept as its changes
};

// timeseries.csv's columns but t, in its order.
constexpr std::array<Column, 9> kColumns{{
    {"offered_rps", [](const TimeseriesRow& r) { return r.offered_rps; }, false},
    {"ok", [](const TimeseriesRow& r) { return double(r.ok); }, false},
    {"errors", [](const TimeseriesRow& r) { return double(r.errors); }, false},
    {"p50_ms", [](const TimeseriesRow& r) { return r.p50_ms; }, false},
    {"p99_ms", [](const TimeseriesRow& r) { return r.p99_ms; }, false},
    {"in_service", [](const TimeseriesRow& r) { return double(r.in_service); }, true},
    {"pending", [](const TimeseriesRow& r) { return double(r.pending); }, true},
    {"desired", [](const TimeseriesRow& r) { return double(r.desired); }, true},
    {"cpu_avg", [](const TimeseriesRow& r) { return r.cpu_avg; }, false},
}};

const Column& column(std::string_view name) {
  for (const Column& c : kColumns)
    if (c.name == name) return c;
  assert(false && "not a timeseries.csv column");
  return kColumns[0];
}

bool same_value(double a, double b) { return a == b || (std::isnan(a) && std::isnan(b)); }

// What a field of an item holds.
enum class Kind { kNumber, kNumberOrNull, kString, kStringOrNull, kBool };

struct Field {
  std::string_view key;
  Kind kind;
  bool required = false;
};

std::string expected_text(Kind kind) {
  switch (kind) {
    case Kind::kNumber:
      return "a number";
    case Kind::kNumberOrNull:
      return "a number or null";
    case Kind::kString:
      return "a string";
    case Kind::kStringOrNull:
      return "a string or null";
    case Kind::kBool:
      return "true or false";
  }
  return {};
}

void check_field(const ConfigNode& item, const Field& f) {
  const auto it = item.json().find(f.key);
  const bool nullable = f.kind == Kind::kNumberOrNull || f.kind == Kind::kStringOrNull;
  if (it == item.json().end()) {
    if (f.required) item.child_pointer_only(f.key).fail(expected_text(f.kind));
    return;
  }
  if (it->is_null() && nullable) return;
  const bool fits = (f.kind == Kind::kNumber || f.kind == Kind::kNumberOrNull)   ? it->is_number()
                    : (f.kind == Kind::kString || f.kind == Kind::kStringOrNull) ? it->is_string()
                                                                                 : it->is_boolean();
  if (!fits)
    ConfigNode(*it, item.file(), item.pointer() + "/" + json_pointer_escape(f.key))
        .fail(expected_text(f.kind));
}

// `key`, when present (or when required), is an array of objects whose fields are as given.
void check_items(const ConfigNode& parent, std::string_view key, bool required,
                 std::initializer_list<Field> fields) {
  const auto array = required ? std::optional<ConfigNode>(parent.at(key)) : parent.get(key);
  if (!array) return;
  for (const ConfigNode& item : array->items()) {
    if (!item.is_object()) item.fail("an object");
    for (const Field& f : fields) check_field(item, f);
  }
}

void replace_all(std::string& text, std::string_view from, std::string_view to) {
  for (std::size_t at = text.find(from); at != std::string::npos;
       at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
}

// The pages.js draws into; what a browser without scripts shows instead.
constexpr std::string_view kReportBody =
    "<main id=\"page\"><noscript>This report draws its charts and tables with a script: allow "
    "scripts\nfor this file to see them.</noscript></main>";

std::string fill_page(std::string_view title, const nlohmann::json& data) {
  const std::string script =
      std::string(report_assets::kChartsJs) + "\n" + std::string(report_assets::kPagesJs);
  return fill_template(report_assets::kPageHtml, {{"title", title},
                                                  {"style", report_assets::kPageCss},
                                                  {"body", kReportBody},
                                                  {"data", script_safe_json(data)},
                                                  {"script", script}});
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  if (!out) throw UserError(path, "", "a writable file for the page");
  out << text;
  if (!out) throw UserError(path, "", "a writable file for the page");
}

}  // namespace

std::vector<SeriesPoint> column_points(const std::vector<TimeseriesRow>& rows,
                                       std::string_view name) {
  const Column& c = column(name);
  std::vector<SeriesPoint> out;
  out.reserve(rows.size());
  for (const TimeseriesRow& r : rows) out.push_back({r.t, c.value(r)});
  return out;
}

std::vector<SeriesPoint> changes_only(const std::vector<SeriesPoint>& points) {
  std::vector<SeriesPoint> out;
  for (std::size_t i = 0; i < points.size(); ++i)
    if (i == 0 || i + 1 == points.size() || !same_value(points[i].v, points[i - 1].v))
      out.push_back(points[i]);
  return out;
}

std::vector<SeriesPoint> downsample_extremes(const std::vector<SeriesPoint>& points,
                                             std::size_t buckets) {
  assert(buckets > 0);
  const std::size_t n = points.size();
  if (n <= 2 * buckets) return points;
  std::vector<SeriesPoint> out;
  out.reserve(2 * buckets);
  for (std::size_t b = 0; b < buckets; ++b) {
    const std::size_t begin = b * n / buckets;
    const std::size_t end = (b + 1) * n / buckets;
    std::size_t low = end, high = end;
    for (std::size_t i = begin; i < end; ++i) {
      const double v = points[i].v;
      if (!std::isfinite(v)) continue;
      if (low == end || v < points[low].v) low = i;
      if (high == end || v > points[high].v) high = i;
    }
    if (low == end) {
      out.push_back({points[begin].t, std::nan("")});
      continue;
    }
    out.push_back(points[std::min(low, high)]);
    if (low != high) out.push_back(points[std::max(low, high)]);
  }
  return out;
}

nlohmann::json points_json(const std::vector<SeriesPoint>& points) {
  nlohmann::json out = nlohmann::json::array();
  for (const SeriesPoint& p : points) {
    nlohmann::json v = nullptr;
    if (std::isfinite(p.v)) v = p.v;
    out.push_back(nlohmann::json::array({p.t, std::move(v)}));
  }
  return out;
}

nlohmann::json drawn_series(const std::vector<TimeseriesRow>& rows, std::size_t buckets) {
  nlohmann::json out = nlohmann::json::object();
  for (const Column& c : kColumns) {
    std::vector<SeriesPoint> points = column_points(rows, c.name);
    if (c.step) points = changes_only(points);
    out[std::string(c.name)] = points_json(downsample_extremes(points, buckets));
  }
  return out;
}

void check_report_json(const nlohmann::json& report, const std::string& file) {
  const ConfigNode root(report, file);
  if (!root.is_object()) root.fail("a report object (report.json as flotilla run writes it)");
  root.at("scenario").as_string();
  root.at("duration_s").as_number(0);
  check_items(root, "expectations", true,
              {{"text", Kind::kString, true},
               {"passed", Kind::kBool, true},
               {"metric", Kind::kString},
               {"observed", Kind::kNumberOrNull},
               {"note", Kind::kStringOrNull}});
  if (const auto slo = root.get("slo")) {
    if (!slo->is_object()) slo->fail("an object");
    for (const std::string_view key :
         {"latency_ms", "error_rate", "availability", "violation_seconds", "throughput_rps",
          "measured_seconds", "achieved_availability"})
      check_field(*slo, {key, Kind::kNumberOrNull});
  }
  check_items(root, "recovery", false,
              {{"t", Kind::kNumber, true},
               {"fault", Kind::kString},
               {"recovered", Kind::kBool},
               {"seconds", Kind::kNumberOrNull}});
  check_items(root, "activities", false,
              {{"t", Kind::kNumber, true},
               {"from", Kind::kNumber, true},
               {"to", Kind::kNumber, true},
               {"cause", Kind::kString, true},
               {"status", Kind::kString}});
  check_items(
      root, "events", false,
      {{"t", Kind::kNumber, true}, {"kind", Kind::kString, true}, {"detail", Kind::kString, true}});
  check_items(root, "decisions", false,
              {{"t", Kind::kNumber, true},
               {"desired_before", Kind::kNumber},
               {"desired_after", Kind::kNumber},
               {"reason", Kind::kString}});
  check_items(root, "alarms", false,
              {{"name", Kind::kString, true}, {"description", Kind::kString}});
  if (const auto alarms = root.get("alarms"))
    for (const ConfigNode& alarm : alarms->items())
      check_items(alarm, "transitions", true,
                  {{"t", Kind::kNumber, true},
                   {"from", Kind::kString, true},
                   {"to", Kind::kString, true},
                   {"reason", Kind::kString}});
  check_items(root, "paths", false,
              {{"path", Kind::kString, true},
               {"method", Kind::kStringOrNull},
               {"sent", Kind::kNumberOrNull},
               {"ok", Kind::kNumberOrNull},
               {"errors", Kind::kNumberOrNull},
               {"p50_ms", Kind::kNumberOrNull},
               {"p99_ms", Kind::kNumberOrNull}});
  check_items(root, "workers", false,
              {{"id", Kind::kString, true},
               {"launched_at", Kind::kNumberOrNull},
               {"in_service_at", Kind::kNumberOrNull},
               {"ended_at", Kind::kNumberOrNull},
               {"requests", Kind::kNumberOrNull},
               {"errors", Kind::kNumberOrNull},
               {"end_cause", Kind::kStringOrNull}});
}

std::string script_safe_json(const nlohmann::json& value) {
  std::string text = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  // Outside strings JSON has none of these characters, so only string contents change.
  replace_all(text, "&", "\\u0026");
  replace_all(text, "<", "\\u003c");
  replace_all(text, ">", "\\u003e");
  return text;
}

std::string report_html(const nlohmann::json& report, const std::vector<TimeseriesRow>& rows) {
  const nlohmann::json data = {{"page", "run"},
                               {"report", report},
                               {"seconds", rows.size()},
                               {"series", drawn_series(rows)}};
  const std::string name = report.value("scenario", std::string("run"));
  return fill_page(escape_markup(name + ": flotilla run report"), data);
}

void write_report_html(const std::string& path, const nlohmann::json& report,
                       const std::vector<TimeseriesRow>& rows) {
  write_file(path, report_html(report, rows));
}

void write_report_html(const std::string& path, const RunRecord& record) {
  write_report_html(path, to_json(record), record.timeseries);
}

std::string compare_html(const std::string& scenario, const SloSpec& slo,
                         const std::vector<PolicyOutcome>& outcomes,
                         const std::vector<const RunRecord*>& records) {
  assert(records.size() == outcomes.size());
  nlohmann::json capacity = nlohmann::json::array();
  double duration_s = 0;
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    const RunRecord& r = *records[i];
    duration_s = std::max(duration_s, to_seconds(r.duration));
    capacity.push_back({{"policy", outcomes[i].policy},
                        {"in_service", points_json(downsample_extremes(
                                           changes_only(column_points(r.timeseries, "in_service")),
                                           kDrawnBuckets))}});
  }
  nlohmann::json traffic = nlohmann::json::array();
  if (!records.empty())
    traffic = points_json(downsample_extremes(
        column_points(records.front()->timeseries, "offered_rps"), kDrawnBuckets));
  const nlohmann::json data = {
      {"page", "compare"},
      {"scenario", scenario},
      {"slo", {{"latency_ms", to_millis(slo.latency)}, {"error_rate", slo.error_rate}}},
      {"duration_s", duration_s},
      {"policies", comparison_json(outcomes)["policies"]},
      {"traffic", std::move(traffic)},
      {"capacity", std::move(capacity)}};
  return fill_page(escape_markup(scenario + ": flotilla compare"), data);
}

}  // namespace flotilla
