// The report pages' pure parts: what is drawn from the per-second series (downsampling that keeps
// extremes, step series kept as their changes), the checks of report.json that `flotilla report`
// makes, and the page itself (self-contained, its data intact and unable to end its script).
// The browser test (tests/integration/report_page_test.cpp) checks what a browser draws.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/errors.h"
#include "scenario/report_html.h"
#include "support/page_data.h"
#include "support/user_error.h"

using namespace flotilla;
using flotilla::test::page_data;

namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();

std::vector<SeriesPoint> points(const std::vector<double>& values) {
  std::vector<SeriesPoint> out;
  for (std::size_t i = 0; i < values.size(); ++i) out.push_back({double(i), values[i]});
  return out;
}

// NaN equals NaN here: a gap is a value of the series.
bool same(const std::vector<SeriesPoint>& a, const std::vector<SeriesPoint>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].t != b[i].t) return false;
    if (!(a[i].v == b[i].v || (std::isnan(a[i].v) && std::isnan(b[i].v)))) return false;
  }
  return true;
}

std::vector<SeriesPoint> at(const std::vector<std::pair<double, double>>& tv) {
  std::vector<SeriesPoint> out;
  for (const auto& [t, v] : tv) out.push_back({t, v});
  return out;
}

nlohmann::json minimal_report() {
  return nlohmann::json::parse(R"({
    "scenario": "s", "duration_s": 10, "passed": true,
    "slo": {"latency_ms": 500, "error_rate": 0.01, "availability": 0.999,
            "violation_seconds": 1, "throughput_rps": 10, "measured_seconds": 9,
            "achieved_availability": null},
    "recovery": [{"t": 2, "fault": "kill 1 worker", "recovered": true, "seconds": 3}],
    "expectations": [{"text": "error_rate <= 0.01", "metric": "error_rate", "passed": true,
                      "observed": 0}],
    "activities": [{"t": 1, "from": 2, "to": 3, "cause": "c", "status": "Successful"}],
    "events": [{"t": 2, "kind": "fault", "detail": "kill 1 worker: SIGKILL i-1"}],
    "decisions": [{"t": 1, "desired_before": 2, "desired_after": 3, "reason": "r"}],
    "alarms": [{"name": "a", "description": "d",
                "transitions": [{"t": 3, "from": "OK", "to": "ALARM", "reason": "x"}]}],
    "paths": [{"path": "/", "method": "GET", "sent": 1, "ok": 1, "errors": 0, "p50_ms": 1,
               "p99_ms": null}],
    "workers": [{"id": "i-1", "launched_at": -1, "in_service_at": 0, "ended_at": null,
                 "requests": 5, "errors": 0, "end_cause": null}]
  })");
}

std::vector<TimeseriesRow> flat_rows(std::size_t n) {
  std::vector<TimeseriesRow> rows(n);
  for (std::size_t i = 0; i < n; ++i) rows[i] = {double(i), 100, 100, 0, 10, 40, 2, 0, 2, 30};
  return rows;
}

}  // namespace

TEST_CASE("changes_only keeps the first and last points and every change") {
  struct Row {
    const char* name;
    std::vector<SeriesPoint> in;
    std::vector<SeriesPoint> out;
  };
  const std::vector<Row> rows = {
      {"empty", {}, {}},
      {"one point", points({3}), points({3})},
      {"constant: first and last", points({2, 2, 2, 2}), at({{0, 2}, {3, 2}})},
      {"a step up and back", points({2, 2, 4, 4, 2, 2}), at({{0, 2}, {2, 4}, {4, 2}, {5, 2}})},
      {"a change on the last point", points({1, 1, 5}), at({{0, 1}, {2, 5}})},
      {"gaps are values: into and out of NaN", points({1, kNaN, kNaN, 1}),
       at({{0, 1}, {1, kNaN}, {3, 1}})},
  };
  for (const Row& row : rows) {
    CAPTURE(row.name);
    CHECK(same(changes_only(row.in), row.out));
  }
}

TEST_CASE("downsample_extremes keeps each bucket's lowest and highest point, in time order") {
  struct Row {
    const char* name;
    std::vector<SeriesPoint> in;
    std::size_t buckets;
    std::vector<SeriesPoint> out;
  };
  const std::vector<Row> rows = {
      {"at most 2 x buckets points: unchanged", points({5, 1, 7, 3}), 2, points({5, 1, 7, 3})},
      {"the high before the low stays before it", points({1, 9, 5, 0, 4, 4, 4, 4, 4}), 2,
       at({{1, 9}, {3, 0}, {4, 4}})},
      {"a bucket without data is one gap", points({1, 2, 3, kNaN, kNaN, kNaN, 4, 5, 6}), 3,
       at({{0, 1}, {2, 3}, {3, kNaN}, {6, 4}, {8, 6}})},
      {"missing values in a bucket with data are left out",
       points({kNaN, 2, kNaN, 7, 1, 1, 1, 1, 1}), 3, at({{1, 2}, {3, 7}, {4, 1}, {6, 1}})},
      {"equal lowest and highest: one point (the first)", points({3, 3, 3, 3, 3, 3, 3}), 3,
       at({{0, 3}, {2, 3}, {4, 3}})},
  };
  for (const Row& row : rows) {
    CAPTURE(row.name);
    CHECK(same(downsample_extremes(row.in, row.buckets), row.out));
  }
}

TEST_CASE("a day of seconds draws from a few thousand points, and a one-second spike survives") {
  std::vector<TimeseriesRow> rows = flat_rows(86400);
  rows[50000].p99_ms = 4000;   // one slow second
  rows[60000].cpu_avg = kNaN;  // one second without CPU data
  rows[70000].ok = 0;          // one dip
  for (std::size_t i = 40000; i < 40600; ++i) rows[i].in_service = 3;  // a scale-out and back
  const nlohmann::json series = drawn_series(rows);
  for (const char* column : {"offered_rps", "ok", "errors", "p50_ms", "p99_ms", "in_service",
                             "pending", "desired", "cpu_avg"}) {
    CAPTURE(column);
    REQUIRE(series.contains(column));
    CHECK(series[column].size() <= 2 * kDrawnBuckets);
    CHECK(series[column].size() >= 2);
  }
  double highest_p99 = 0, lowest_ok = 1e9;
  for (const auto& p : series["p99_ms"]) highest_p99 = std::max(highest_p99, p[1].get<double>());
  for (const auto& p : series["ok"]) lowest_ok = std::min(lowest_ok, p[1].get<double>());
  CHECK(highest_p99 == 4000);
  CHECK(lowest_ok == 0);
  // A step series keeps its changes exactly: 2 until 40000, 3 until 40600, then 2.
  CHECK(series["in_service"] == nlohmann::json::parse("[[0,2],[40000,3],[40600,2],[86399,2]]"));
  // The bucket holding the missing CPU second has data too: no gap is drawn for it.
  int gaps = 0;
  for (const auto& p : series["cpu_avg"]) gaps += p[1].is_null();
  CHECK(gaps == 0);
}

TEST_CASE("drawn_series: every column from its own field, no data is null") {
  std::vector<TimeseriesRow> rows(2);
  rows[0] = {0, 1.5, 2, 3, 4.5, 5.5, 6, 7, 8, 9.5};
  rows[1] = {1, 10, 20, 30, kNaN, kNaN, 60, 70, 80, kNaN};
  const nlohmann::json s = drawn_series(rows);
  CHECK(s["offered_rps"] == nlohmann::json::parse("[[0,1.5],[1,10]]"));
  CHECK(s["ok"] == nlohmann::json::parse("[[0,2],[1,20]]"));
  CHECK(s["errors"] == nlohmann::json::parse("[[0,3],[1,30]]"));
  CHECK(s["p50_ms"] == nlohmann::json::parse("[[0,4.5],[1,null]]"));
  CHECK(s["p99_ms"] == nlohmann::json::parse("[[0,5.5],[1,null]]"));
  CHECK(s["in_service"] == nlohmann::json::parse("[[0,6],[1,60]]"));
  CHECK(s["pending"] == nlohmann::json::parse("[[0,7],[1,70]]"));
  CHECK(s["desired"] == nlohmann::json::parse("[[0,8],[1,80]]"));
  CHECK(s["cpu_avg"] == nlohmann::json::parse("[[0,9.5],[1,null]]"));
  CHECK(drawn_series({})["ok"] == nlohmann::json::array());
}

TEST_CASE("check_report_json: what the page reads must be there and of its type") {
  CHECK_NOTHROW(check_report_json(minimal_report(), "r.json"));
  CHECK_NOTHROW(check_report_json(
      nlohmann::json::parse(R"({"scenario": "s", "duration_s": 0, "expectations": []})"),
      "r.json"));

  struct Row {
    const char* name;
    const char* patch;  // JSON Patch applied to the minimal report
    const char* pointer;
    const char* expected;
  };
  const std::vector<Row> rows = {
      {"not an object", R"([{"op": "replace", "path": "", "value": [1]}])", "/", "a report object"},
      {"no scenario", R"([{"op": "remove", "path": "/scenario"}])", "/scenario", "a value"},
      {"scenario not a string", R"([{"op": "replace", "path": "/scenario", "value": 3}])",
       "/scenario", "a string"},
      {"negative duration", R"([{"op": "replace", "path": "/duration_s", "value": -1}])",
       "/duration_s", "a number >= 0"},
      {"no expectations", R"([{"op": "remove", "path": "/expectations"}])", "/expectations",
       "a value"},
      {"expectations not an array", R"([{"op": "replace", "path": "/expectations", "value": {}}])",
       "/expectations", "an array"},
      {"an expectation without text", R"([{"op": "remove", "path": "/expectations/0/text"}])",
       "/expectations/0/text", "a string"},
      {"passed not a bool",
       R"([{"op": "replace", "path": "/expectations/0/passed", "value": "yes"}])",
       "/expectations/0/passed", "true or false"},
      {"observed a string",
       R"([{"op": "replace", "path": "/expectations/0/observed", "value": "1"}])",
       "/expectations/0/observed", "a number or null"},
      {"slo not an object", R"([{"op": "replace", "path": "/slo", "value": 500}])", "/slo",
       "an object"},
      {"an slo figure a string",
       R"([{"op": "replace", "path": "/slo/latency_ms", "value": "500ms"}])", "/slo/latency_ms",
       "a number or null"},
      {"recovered not a bool",
       R"([{"op": "replace", "path": "/recovery/0/recovered", "value": "no"}])",
       "/recovery/0/recovered", "true or false"},
      {"an activity's t missing", R"([{"op": "remove", "path": "/activities/0/t"}])",
       "/activities/0/t", "a number"},
      {"an activity's t null", R"([{"op": "replace", "path": "/activities/0/t", "value": null}])",
       "/activities/0/t", "a number, got null"},
      {"an event that is not an object",
       R"([{"op": "replace", "path": "/events/0", "value": "fault"}])", "/events/0", "an object"},
      {"a decision's t a string", R"([{"op": "replace", "path": "/decisions/0/t", "value": "1s"}])",
       "/decisions/0/t", "a number"},
      {"an alarm without transitions", R"([{"op": "remove", "path": "/alarms/0/transitions"}])",
       "/alarms/0/transitions", "a value"},
      {"a transition's to missing", R"([{"op": "remove", "path": "/alarms/0/transitions/0/to"}])",
       "/alarms/0/transitions/0/to", "a string"},
      {"a path's sent a string", R"([{"op": "replace", "path": "/paths/0/sent", "value": "1"}])",
       "/paths/0/sent", "a number or null"},
      {"a worker without id", R"([{"op": "remove", "path": "/workers/0/id"}])", "/workers/0/id",
       "a string"},
      {"workers not an array", R"([{"op": "replace", "path": "/workers", "value": 1}])", "/workers",
       "an array"},
  };
  for (const Row& row : rows) {
    CAPTURE(row.name);
    const nlohmann::json report = minimal_report().patch(nlohmann::json::parse(row.patch));
    const auto error = test::user_error_of([&] { check_report_json(report, "r.json"); });
    CHECK(error.file == "r.json");
    CHECK(error.pointer == row.pointer);
    CHECK(error.expected.find(row.expected) != std::string::npos);
  }
}

TEST_CASE("script_safe_json: no string can end the script, and the data reads back the same") {
  const nlohmann::json value = {{"detail", "</script><script>alert(1)</script> & <b>"},
                                {"n", 1.25}};
  const std::string text = script_safe_json(value);
  CHECK(text.find('<') == std::string::npos);
  CHECK(text.find('>') == std::string::npos);
  CHECK(text.find('&') == std::string::npos);
  CHECK(nlohmann::json::parse(text) == value);
  // A worker's output may be anything; invalid UTF-8 does not stop the page.
  CHECK_NOTHROW(script_safe_json(nlohmann::json{{"detail", std::string("bad \xff byte")}}));
}

TEST_CASE("report_html: one self-contained page carrying the report and the drawn series") {
  nlohmann::json report = minimal_report();
  report["description"] = "a run that mentions </script> and {{data}}";
  const std::string page = report_html(report, flat_rows(10));
  CHECK(page.rfind("<!DOCTYPE html>", 0) == 0);
  // Nothing is fetched: no external script, style sheet, image or font.
  for (const char* external : {" src=", " href=", "<link", "@import", "url("}) {
    CAPTURE(external);
    CHECK(page.find(external) == std::string::npos);
  }
  for (const char* placeholder : {"{{title}}", "{{style}}", "{{script}}"})
    CHECK(page.find(placeholder) == std::string::npos);
  CHECK(page.find("<title>s: flotilla run report</title>") != std::string::npos);
  const nlohmann::json data = page_data(page);
  CHECK(data["page"] == "run");
  CHECK(data["report"] == report);
  CHECK(data["seconds"] == 10);
  CHECK(data["series"] == drawn_series(flat_rows(10)));
  // The script that draws it is inline.
  CHECK(page.find("const Flotilla = ") != std::string::npos);
  CHECK(page.find("function runPage(") != std::string::npos);
}

TEST_CASE("compare_html: each policy's outcome and capacity, and the traffic they shared") {
  RunRecord a, b;
  a.duration = b.duration = std::chrono::seconds(3);
  a.timeseries = flat_rows(3);
  b.timeseries = flat_rows(3);
  b.timeseries[2].in_service = 5;
  PolicyOutcome oa, ob;
  oa.policy = "cheap";
  oa.instance_hours = 0.5;
  oa.on_frontier = true;
  ob.policy = "safe";
  ob.instance_hours = 0.9;
  ob.slo_violation_seconds = 4;
  SloSpec slo;
  slo.latency = std::chrono::milliseconds(250);
  const std::string page = compare_html("spike", slo, {oa, ob}, {&a, &b});
  CHECK(page.find("<title>spike: flotilla compare</title>") != std::string::npos);
  const nlohmann::json data = page_data(page);
  CHECK(data["page"] == "compare");
  CHECK(data["scenario"] == "spike");
  CHECK(data["slo"]["latency_ms"] == 250);
  CHECK(data["slo"]["error_rate"] == 0.01);
  CHECK(data["duration_s"] == 3);
  REQUIRE(data["policies"].size() == 2);
  CHECK(data["policies"][0]["policy"] == "cheap");
  CHECK(data["policies"][0]["on_frontier"] == true);
  CHECK(data["policies"][1]["slo_violation_seconds"] == 4);
  REQUIRE(data["capacity"].size() == 2);
  CHECK(data["capacity"][0]["policy"] == "cheap");
  CHECK(data["capacity"][0]["in_service"] == nlohmann::json::parse("[[0,2],[2,2]]"));
  CHECK(data["capacity"][1]["in_service"] == nlohmann::json::parse("[[0,2],[2,5]]"));
  CHECK(data["traffic"] == nlohmann::json::parse("[[0,100],[1,100],[2,100]]"));
}
