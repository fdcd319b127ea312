#pragma once
// report.html and compare.html: pages a person opens in a browser, each one self-contained
// (style, script and data inline; nothing is fetched, so a page works offline and from any
// folder). The script that draws the charts (SVG) and the tables is an asset built into the
// binary (report_assets/); this file prepares the data it draws and fills the page template.
// Pure, but for the write_* functions.
//
// The page's data, JSON in <script type="application/json" id="flotilla-data">:
//   run:     {"page": "run", "report": <report.json as it is>, "seconds": <rows>,
//             "series": {<timeseries.csv column but t>: [[t, v], ...]}}
//   compare: {"page": "compare", "scenario", "slo": {"latency_ms", "error_rate"}, "duration_s",
//             "policies": comparison_json()'s, "traffic": [[t, offered_rps], ...],
//             "capacity": [{"policy", "in_service": [[t, v], ...]}]}   (one per policy, in order)
// t is seconds since traffic started; v null is a second without data (a gap in the line).
// A series is drawn from at most about 2 * kDrawnBuckets points: longer ones keep each bucket's
// lowest and highest point, so a spike of one second in a day still shows; the capacity columns
// (in_service, pending, desired) keep only their changes first, which loses nothing.
#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "scenario/comparison.h"
#include "scenario/report.h"
#include "scenario/scenario.h"

namespace flotilla {

inline constexpr std::size_t kDrawnBuckets = 1500;

struct SeriesPoint {
  double t = 0;
  double v = 0;  // NaN: no data
  bool operator==(const SeriesPoint&) const = default;
};

// One timeseries.csv column (but t) as points; the name must be one of the columns (asserted).
std::vector<SeriesPoint> column_points(const std::vector<TimeseriesRow>& rows,
                                       std::string_view column);
// The first point, every point whose value differs from the one before (NaN counts as a value)
// and the last point: a step series drawn from these looks the same.
std::vector<SeriesPoint> changes_only(const std::vector<SeriesPoint>& points);
// Unchanged when there are at most 2 * buckets points. Otherwise the points are cut into
// `buckets` runs of (nearly) equal length, and each gives its lowest and highest finite point in
// time order (one point when they are the same), or a single NaN point when it has none.
std::vector<SeriesPoint> downsample_extremes(const std::vector<SeriesPoint>& points,
                                             std::size_t buckets);
// [[t, v], ...] with null for NaN.
nlohmann::json points_json(const std::vector<SeriesPoint>& points);
// Every column, ready to draw: the "series" member of the run page's data.
nlohmann::json drawn_series(const std::vector<TimeseriesRow>& rows,
                            std::size_t buckets = kDrawnBuckets);

// The members of report.json the page reads must have the types it expects: UserError(file,
// pointer, expected) otherwise. Required: scenario (string), duration_s (number >= 0),
// expectations [{text, passed, observed (number or null)}]. Checked when present: slo (an object
// of numbers), recovery, activities, events, decisions, alarms, paths, workers (arrays of
// objects; their times numbers).
void check_report_json(const nlohmann::json& report, const std::string& file);

// JSON that may stand inside a <script> element: '<', '>' and '&' are written as \u escapes
// (so no "</script>" in a string ends it early) and invalid UTF-8 is replaced.
std::string script_safe_json(const nlohmann::json& value);

// The run's page from its report.json document and its per-second rows.
std::string report_html(const nlohmann::json& report, const std::vector<TimeseriesRow>& rows);
// Throws UserError if the file cannot be written.
void write_report_html(const std::string& path, const nlohmann::json& report,
                       const std::vector<TimeseriesRow>& rows);
void write_report_html(const std::string& path, const RunRecord& record);

// The comparison's page: `records[i]` is the run behind `outcomes[i]` (its timeseries gives
// the capacity line; the first run's offered load is the traffic, the same for all).
std::string compare_html(const std::string& scenario, const SloSpec& slo,
                         const std::vector<PolicyOutcome>& outcomes,
                         const std::vector<const RunRecord*>& records);

}  // namespace flotilla
