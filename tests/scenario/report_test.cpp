#include "scenario/report.h"

#include <doctest/doctest.h>

#include <unistd.h>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/errors.h"

namespace flotilla {
namespace {

namespace fs = std::filesystem;

RunRecord sample_record() {
  RunRecord r;
  r.scenario = "flash-sale";
  r.description = "a spike";
  r.seed = 1;
  r.duration = 90s;
  r.started_at = "2024-05-01T12:00:00Z";
  r.output_dir = "runs/flash-sale";
  r.requests.sent = 1000;
  r.requests.ok = 995;
  r.requests.errors = 5;
  r.requests.by_kind = {{"http_5xx", 3}, {"reset", 2}, {"timeout", 0}};
  r.latency_ms.p50_ms = 12.5;
  r.latency_ms.p90_ms = 30;
  r.latency_ms.p99_ms = 80;
  r.latency_ms.max_ms = 412;
  r.capacity = {2, 5, 1, 3};
  // The group's creation before traffic (t < 0) is not a scale-out.
  r.activities = {{-1.5, 0, 2, "group created"},
                  {24, 2, 4, "CPU 81% > target 50%"},
                  {30, 4, 5, "CPU 60% > target 50%"},
                  {70, 5, 3, "CPU 20% < target 50%"}};
  r.decisions = nlohmann::json::array({{{"t", 24}, {"desired", 4}}});
  r.events = {{45, std::string(kEventFault), "kill 1 worker: i-0000000000000002"},
              {46, std::string(kEventWorkerReplaced), "i-0000000000000002 -> i-0000000000000006"}};
  TimeseriesRow row;
  row.t = 0;
  row.offered_rps = 40;
  row.ok = 40;
  row.errors = 0;
  row.p50_ms = 12.25;
  row.p99_ms = 38.2;
  row.in_service = 2;
  row.pending = 0;
  row.desired = 2;
  row.cpu_avg = 20.5;
  r.timeseries.push_back(row);
  row.t = 1;
  row.ok = 0;
  row.p50_ms = std::numeric_limits<double>::quiet_NaN();
  row.p99_ms = std::numeric_limits<double>::quiet_NaN();
  r.timeseries.push_back(row);
  return r;
}

Expectation expect(const char* metric, std::optional<double> min, std::optional<double> max) {
  Expectation e;
  e.metric = metric;
  e.min = min;
  e.max = max;
  return e;
}

std::string temp_path(const char* name) {
  static std::atomic<int> counter{0};
  return (fs::temp_directory_path() / ("flotilla-report-test-" + std::to_string(::getpid()) + "-" +
                                       std::to_string(counter++) + "-" + name))
      .string();
}

}  // namespace

TEST_CASE("observed_value and evaluate_expectations: one row per metric and bound") {
  const RunRecord base = sample_record();
  struct Row {
    Expectation e;
    std::optional<double> observed;
    bool passed;
    const char* text;
  };
  const Row rows[] = {
      {expect("error_rate", {}, 0.01), 0.005, true, "error_rate <= 0.01"},
      {expect("error_rate", {}, 0.001), 0.005, false, "error_rate <= 0.001"},
      {expect("errors", {}, 5), 5, true, "errors <= 5"},  // bounds are inclusive
      {expect("ok", 995, {}), 995, true, "ok >= 995"},
      {expect("sent", 1001, {}), 1000, false, "sent >= 1001"},
      {expect("p50_ms", {}, 12.5), 12.5, true, "p50_ms <= 12.5"},
      {expect("p90_ms", {}, 29), 30, false, "p90_ms <= 29"},
      {expect("p99_ms", 1, 100), 80, true, "1 <= p99_ms <= 100"},
      {expect("max_latency_ms", {}, 400), 412, false, "max_latency_ms <= 400"},
      {expect("max_in_service", 3, {}), 5, true, "max_in_service >= 3"},
      {expect("max_in_service", 6, {}), 5, false, "max_in_service >= 6"},
      {expect("min_in_service", 1, {}), 1, true, "min_in_service >= 1"},
      {expect("final_in_service", {}, 3), 3, true, "final_in_service <= 3"},
      {expect("final_in_service", 4, 6), 3, false, "4 <= final_in_service <= 6"},
      {expect("scale_out_count", 2, 2), 2, true, "2 <= scale_out_count <= 2"},
      {expect("scale_in_count", 1, {}), 1, true, "scale_in_count >= 1"},
      {expect("replaced_workers", 1, {}), 1, true, "replaced_workers >= 1"},
      {expect("replaced_workers", 2, {}), 1, false, "replaced_workers >= 2"},
      {expect("success_rate", 0.995, {}), 0.995, true, "success_rate >= 0.995"},
      {expect("success_rate", 0.999, {}), 0.995, false, "success_rate >= 0.999"},
      // Up 2 -> 4 -> 5, then down to 3: one turn.
      {expect("direction_changes", {}, 1), 1, true, "direction_changes <= 1"},
      // Two seconds of two workers in service.
      {expect("instance_hours", {}, 0.01), 4.0 / 3600, true, "instance_hours <= 0.01"},
      // Second 0 meets the SLO; second 1 finished nothing and has no verdict.
      {expect("slo_violation_seconds", {}, 0), 0, true, "slo_violation_seconds <= 0"},
      {expect("availability", 0.999, {}), 1, true, "availability >= 0.999"},
      // The kill at 45 s is followed by no second that meets the SLO: the rest of the run.
      {expect("recovery_seconds", {}, 10), 45, false, "recovery_seconds <= 10"},
  };
  for (const auto& row : rows) {
    const std::string label = row.text;
    CAPTURE(label);
    RunRecord r = base;
    CHECK(observed_value(row.e.metric, r) == row.observed);
    evaluate_expectations({row.e}, r);
    REQUIRE(r.expectations.size() == 1);
    CHECK(r.expectations[0].text == row.text);
    CHECK(r.expectations[0].metric == row.e.metric);
    CHECK(r.expectations[0].observed == row.observed);
    CHECK(r.expectations[0].passed == row.passed);
    CHECK(r.passed == row.passed);
  }
}

TEST_CASE("evaluate_expectations: all must pass, unmeasurable values fail") {
  RunRecord r = sample_record();
  evaluate_expectations({expect("error_rate", {}, 0.01), expect("max_in_service", 3, {})}, r);
  CHECK(r.passed);
  evaluate_expectations({expect("error_rate", {}, 0.01), expect("max_in_service", 9, {})}, r);
  CHECK_FALSE(r.passed);
  CHECK(r.expectations.size() == 2);

  r.latency_ms = {};  // nothing succeeded
  evaluate_expectations({expect("p99_ms", {}, 1000)}, r);
  CHECK_FALSE(r.passed);
  CHECK_FALSE(r.expectations[0].observed.has_value());

  evaluate_expectations({}, r);  // no expectations: passed
  CHECK(r.passed);
  CHECK(r.expectations.empty());

  RunRecord idle;  // nothing sent: the error rate is 0, not NaN
  CHECK(observed_value("error_rate", idle) == 0.0);
  CHECK_FALSE(observed_value("happiness", idle).has_value());
}

TEST_CASE("every expectation metric the parser accepts can be observed") {
  RunRecord r = sample_record();
  for (auto metric : kExpectationMetrics) {
    CAPTURE(metric);
    CHECK(observed_value(metric, r).has_value());
  }
  for (auto metric : kSeriesMetrics) {
    CAPTURE(metric);
    CHECK(series_value(metric, r.timeseries[0]).has_value());
  }
  CHECK_FALSE(series_value("sent", r.timeseries[0]).has_value());
}

TEST_CASE("the SLO metrics read the record's SLO, nothing to measure is unmeasurable") {
  RunRecord r = sample_record();
  r.timeseries[0].p99_ms = 600;  // over the default 500 ms
  CHECK(observed_value("slo_violation_seconds", r) == 1.0);
  CHECK(observed_value("availability", r) == 0.0);
  r.slo.latency = 1s;
  CHECK(observed_value("slo_violation_seconds", r) == 0.0);
  CHECK(observed_value("availability", r) == 1.0);

  RunRecord idle;
  CHECK_FALSE(observed_value("success_rate", idle).has_value());      // nothing sent
  CHECK_FALSE(observed_value("availability", idle).has_value());      // no second with a verdict
  CHECK_FALSE(observed_value("recovery_seconds", idle).has_value());  // no fault
  CHECK(observed_value("direction_changes", idle) == 0.0);
  evaluate_expectations({expect("recovery_seconds", {}, 100)}, idle);
  CHECK_FALSE(idle.passed);
  CHECK(idle.expectations[0].note == "no fault happened in this run");
}

TEST_CASE("direction_changes: turns of the desired capacity between rising and falling") {
  struct Row {
    const char* what;
    std::vector<ActivityRecord> activities;
    double changes;
  };
  const Row rows[] = {
      {"none", {}, 0},
      {"only the group's creation", {{-1, 0, 2, ""}}, 0},
      {"one scale-out", {{-1, 0, 2, ""}, {10, 2, 4, ""}}, 0},
      {"out then in", {{-1, 0, 2, ""}, {10, 2, 4, ""}, {50, 4, 2, ""}}, 1},
      {"out, out, in", {{10, 2, 4, ""}, {20, 4, 6, ""}, {50, 6, 3, ""}}, 1},
      {"out, in, out, in", {{10, 2, 4, ""}, {20, 4, 3, ""}, {30, 3, 5, ""}, {40, 5, 2, ""}}, 3},
      {"in first, then out", {{10, 4, 2, ""}, {20, 2, 3, ""}}, 1},
      // Replacements and failed launches keep the desired capacity: they are not turns.
      {"a replacement between two scale-outs",
       {{10, 2, 4, ""}, {15, 4, 4, "replacement"}, {20, 4, 6, ""}},
       0},
      {"a failed launch between out and in",
       {{10, 2, 4, ""}, {15, 4, 4, "launch failed", true}, {20, 4, 2, ""}},
       1},
      // The creation (t < 0) sets the capacity up; a first scale-in is not a turn from it.
      {"creation then in", {{-1, 0, 4, ""}, {20, 4, 2, ""}}, 0},
  };
  for (const auto& row : rows) {
    CAPTURE(std::string(row.what));
    RunRecord r;
    r.activities = row.activities;
    CHECK(observed_value("direction_changes", r) == row.changes);
  }
}

namespace {

// Ten seconds with every column known: second k has p99 10 (k + 1) ms, k ok requests, one error
// in seconds 3 and 7, k in service and cpu 10 k %; seconds 4 and 5 finished nothing.
RunRecord series_record() {
  RunRecord r;
  r.duration = 10s;
  for (int k = 0; k < 10; ++k) {
    TimeseriesRow row;
    row.t = k;
    row.offered_rps = 10;
    row.ok = static_cast<std::uint64_t>(k);
    row.errors = (k == 3 || k == 7) ? 1 : 0;
    row.p50_ms = 5.0 * (k + 1);
    row.p99_ms = 10.0 * (k + 1);
    row.in_service = k;
    row.pending = k % 2;
    row.desired = k + 1;
    row.cpu_avg = 10.0 * k;
    if (k == 4 || k == 5) {
      row.ok = 0;
      row.p50_ms = row.p99_ms = std::numeric_limits<double>::quiet_NaN();
      row.cpu_avg = std::numeric_limits<double>::quiet_NaN();
    }
    if (k == 0) row.p50_ms = row.p99_ms = std::numeric_limits<double>::quiet_NaN();  // 0 ok
    r.timeseries.push_back(row);
  }
  return r;
}

}  // namespace

TEST_CASE("series_statistic: each window and stat over the per-second series") {
  using K = SeriesWindow::Kind;
  using S = SeriesStat;
  const RunRecord r = series_record();
  struct Row {
    const char* what;
    const char* metric;
    SeriesWindow w;
    SeriesStat stat;
    std::optional<double> want;
  };
  const Row rows[] = {
      // p99_ms has data in seconds 1-3 and 6-9: 20 30 40 70 80 90 100.
      {"max over the run", "p99_ms", SeriesWindow{K::kRun}, S::kMax, 100},
      {"min over the run", "p99_ms", SeriesWindow{K::kRun}, S::kMin, 20},
      {"mean leaves out the seconds with no data", "p99_ms", SeriesWindow{K::kRun}, S::kMean,
       (20 + 30 + 40 + 70 + 80 + 90 + 100) / 7.0},
      {"p99 of 7 values is the largest (nearest rank)", "p99_ms", SeriesWindow{K::kRun}, S::kP99,
       100},
      {"after 6s", "p99_ms", SeriesWindow{K::kAfter, 6s}, S::kMin, 70},
      {"after 5.5s starts with second 6", "p99_ms", SeriesWindow{K::kAfter, 5500ms}, S::kMin, 70},
      {"before 3s: seconds 0-2", "p99_ms", SeriesWindow{K::kBefore, {}, 3s}, S::kMax, 30},
      {"before 3.5s: still seconds 0-2", "p99_ms", SeriesWindow{K::kBefore, {}, 3500ms}, S::kMax,
       30},
      {"between 2s and 8s: seconds 2-7", "p99_ms", SeriesWindow{K::kBetween, 2s, 8s}, S::kMean,
       (30 + 40 + 70 + 80) / 4.0},
      {"at 7.5s: second 7", "p99_ms", SeriesWindow{K::kAt, 7500ms}, S::kMax, 80},
      {"at a second with no data", "p99_ms", SeriesWindow{K::kAt, 4s}, S::kMax, std::nullopt},
      {"a window with no data at all", "p99_ms", SeriesWindow{K::kBetween, 4s, 6s}, S::kMean,
       std::nullopt},
      {"p50_ms", "p50_ms", SeriesWindow{K::kAfter, 9s}, S::kMax, 50},
      // error_rate = errors / (ok + errors): second 3 is 1 / 4, second 7 is 1 / 8; seconds 0,
      // 4 and 5 finished nothing (0 ok in second 0) and are left out.
      {"error_rate max", "error_rate", SeriesWindow{K::kRun}, S::kMax, 0.25},
      {"error_rate mean", "error_rate", SeriesWindow{K::kRun}, S::kMean, (0.25 + 0.125) / 7.0},
      {"error_rate at a second where nothing finished", "error_rate", SeriesWindow{K::kAt, 4s},
       S::kMax, std::nullopt},
      {"ok counts zero seconds", "ok", SeriesWindow{K::kBefore, {}, 6s}, S::kMin, 0},
      {"errors", "errors", SeriesWindow{K::kBetween, 3s, 8s}, S::kMean, 2 / 5.0},
      {"offered_rps", "offered_rps", SeriesWindow{K::kRun}, S::kMean, 10},
      {"in_service", "in_service", SeriesWindow{K::kAt, 6s}, S::kMax, 6},
      {"in_service min after 2s", "in_service", SeriesWindow{K::kAfter, 2s}, S::kMin, 2},
      {"pending", "pending", SeriesWindow{K::kRun}, S::kMean, 0.5},
      {"desired", "desired", SeriesWindow{K::kAfter, 9s}, S::kMax, 10},
      {"cpu_avg leaves out seconds with nobody in service", "cpu_avg", SeriesWindow{K::kRun},
       S::kMean, (0 + 10 + 20 + 30 + 60 + 70 + 80 + 90) / 8.0},
  };
  for (const auto& row : rows) {
    CAPTURE(std::string(row.what));
    const auto got = series_statistic(row.metric, row.w, row.stat, r.timeseries, r.duration);
    REQUIRE(got.has_value() == row.want.has_value());
    if (row.want) CHECK(*got == doctest::Approx(*row.want));
  }
}

TEST_CASE("series_statistic: p99 is the nearest rank, and the run's last second may be short") {
  RunRecord r;
  r.duration = 200500ms;  // 201 seconds, the last one half long
  for (int k = 0; k <= 200; ++k) {
    TimeseriesRow row;
    row.t = k;
    row.in_service = k + 1;  // 1 .. 201
    r.timeseries.push_back(row);
  }
  const SeriesWindow run{SeriesWindow::Kind::kRun};
  // ceil(0.99 x 201) = 199: the 199th smallest.
  CHECK(series_statistic("in_service", run, SeriesStat::kP99, r.timeseries, r.duration) == 199);
  // Second 200 ends at 200.5 s, within "before 200.5s".
  const SeriesWindow before{SeriesWindow::Kind::kBefore, {}, 200500ms};
  CHECK(series_statistic("in_service", before, SeriesStat::kMax, r.timeseries, r.duration) == 201);
  const SeriesWindow between{SeriesWindow::Kind::kBetween, 199s, 200500ms};
  CHECK(series_statistic("in_service", between, SeriesStat::kMin, r.timeseries, r.duration) == 200);
}

TEST_CASE("evaluate_expectation: series expectations pass, fail, or have no data") {
  const RunRecord r = series_record();
  auto series = [](const char* metric, SeriesWindow w, SeriesStat stat, std::optional<double> min,
                   std::optional<double> max) {
    Expectation e = expect(metric, min, max);
    e.series = w;
    e.stat = stat;
    return e;
  };
  using K = SeriesWindow::Kind;
  struct Row {
    Expectation e;
    std::optional<double> observed;
    bool passed;
    const char* text;
    const char* note;
  };
  const Row rows[] = {
      {series("p99_ms", SeriesWindow{K::kAfter, 6s}, SeriesStat::kMax, {}, 100), 100, true,
       "max p99_ms after 6s <= 100", ""},
      {series("p99_ms", SeriesWindow{K::kAfter, 6s}, SeriesStat::kMax, {}, 99), 100, false,
       "max p99_ms after 6s <= 99", ""},
      {series("in_service", SeriesWindow{K::kAt, 7s}, SeriesStat::kMax, 7, {}), 7, true,
       "in_service at 7s >= 7", ""},
      {series("in_service", SeriesWindow{K::kAt, 7s}, SeriesStat::kMax, 8, {}), 7, false,
       "in_service at 7s >= 8", ""},
      {series("p99_ms", SeriesWindow{K::kBetween, 4s, 6s}, SeriesStat::kMean, {}, 1000),
       std::nullopt, false, "mean p99_ms between 4s and 6s <= 1000",
       "no second between 4s and 6s has data for p99_ms"},
      {series("cpu_avg", SeriesWindow{K::kRun}, SeriesStat::kMin, {}, 0), 0, true,
       "min cpu_avg <= 0", ""},
  };
  for (const auto& row : rows) {
    CAPTURE(std::string(row.text));
    const ExpectationResult got = evaluate_expectation(row.e, r);
    CHECK(got.text == row.text);
    CHECK(got.observed == row.observed);
    CHECK(got.passed == row.passed);
    CHECK(got.note == row.note);
  }
}

TEST_CASE("to_json: the report's contract keys") {
  RunRecord r = sample_record();
  evaluate_expectations({expect("error_rate", {}, 0.01)}, r);
  const auto j = to_json(r);
  CHECK(j.at("scenario") == "flash-sale");
  CHECK(j.at("passed") == true);
  CHECK(j.at("requests").at("sent") == 1000);
  CHECK(j.at("requests").at("ok") == 995);
  CHECK(j.at("requests").at("errors") == 5);
  CHECK(j.at("requests").at("error_rate").get<double>() == doctest::Approx(0.005));
  CHECK(j.at("requests").at("by_kind").at("http_5xx") == 3);
  CHECK(j.at("latency_ms").at("p50") == 12.5);
  CHECK(j.at("latency_ms").at("p90") == 30.0);
  CHECK(j.at("latency_ms").at("p99") == 80.0);
  CHECK(j.at("latency_ms").at("max") == 412.0);
  CHECK(j.at("capacity").at("initial") == 2);
  CHECK(j.at("capacity").at("max_in_service") == 5);
  CHECK(j.at("capacity").at("final") == 3);
  REQUIRE(j.at("activities").size() == 4);
  const auto& a = j.at("activities")[1];
  CHECK(a.at("t") == 24.0);
  CHECK(a.at("from") == 2);
  CHECK(a.at("to") == 4);
  CHECK(a.at("cause") == "CPU 81% > target 50%");
  REQUIRE(j.at("expectations").size() == 1);
  CHECK(j.at("expectations")[0].at("text") == "error_rate <= 0.01");
  CHECK(j.at("expectations")[0].at("passed") == true);
  CHECK(j.at("expectations")[0].at("observed").get<double>() == doctest::Approx(0.005));
  CHECK(j.at("decisions").size() == 1);
  REQUIRE(j.at("events").size() == 2);
  CHECK(j.at("events")[1].at("kind") == "worker_replaced");
  CHECK(j.at("duration_s") == 90.0);
  CHECK_FALSE(j.contains("timeseries"));

  r.latency_ms = {};
  CHECK(to_json(r).at("latency_ms").at("p99").is_null());
}

TEST_CASE("to_json: the SLO with what was achieved, each fault's recovery, series expectations") {
  RunRecord r = sample_record();
  r.slo.latency = 250ms;
  r.slo.availability = 0.99;
  Expectation windowed = expect("p99_ms", {}, 500);
  windowed.series = SeriesWindow{SeriesWindow::Kind::kBetween, 30s, 60s};
  windowed.stat = SeriesStat::kMean;
  Expectation at = expect("in_service", 2, {});
  at.series = SeriesWindow{SeriesWindow::Kind::kAt, 0s, {}};
  evaluate_expectations({expect("error_rate", {}, 0.01), windowed, at}, r);
  const auto j = to_json(r);
  const auto& slo = j.at("slo");
  CHECK(slo.at("latency_ms") == 250.0);
  CHECK(slo.at("error_rate") == 0.01);
  CHECK(slo.at("availability") == 0.99);
  CHECK(slo.at("violation_seconds") == 0);
  CHECK(slo.at("measured_seconds") == 1);
  CHECK(slo.at("achieved_availability") == 1.0);
  CHECK(slo.at("throughput_rps").get<double>() == doctest::Approx(995.0 / 90));
  REQUIRE(j.at("recovery").size() == 1);
  CHECK(j.at("recovery")[0].at("t") == 45.0);
  CHECK(j.at("recovery")[0].at("fault") == "kill 1 worker: i-0000000000000002");
  CHECK(j.at("recovery")[0].at("recovered") == false);
  CHECK(j.at("recovery")[0].at("seconds") == 45.0);
  const auto& e = j.at("expectations");
  REQUIRE(e.size() == 3);
  CHECK(e[0].at("stat").is_null());
  CHECK(e[0].at("window").is_null());
  CHECK(e[0].at("note") == "");
  CHECK(e[1].at("text") == "mean p99_ms between 30s and 60s <= 500");
  CHECK(e[1].at("stat") == "mean");
  CHECK(e[1].at("window") == nlohmann::json{{"between", {30.0, 60.0}}});
  CHECK(e[1].at("observed").is_null());
  CHECK(e[1].at("passed") == false);
  CHECK(e[1].at("note") == "no second between 30s and 60s has data for p99_ms");
  CHECK(e[2].at("window") == nlohmann::json{{"at", 0.0}});
  CHECK(e[2].at("observed") == 2.0);

  RunRecord empty;  // a run of no length has no throughput
  CHECK(to_json(empty).at("slo").at("throughput_rps").is_null());
  CHECK(to_json(empty).at("slo").at("achieved_availability").is_null());
  CHECK(to_json(empty).at("recovery").empty());
}

TEST_CASE("write_report_json and write_timeseries_csv write files") {
  RunRecord r = sample_record();
  evaluate_expectations({expect("error_rate", {}, 0.01)}, r);
  const std::string json_path = temp_path("report.json");
  const std::string csv_path = temp_path("timeseries.csv");
  write_report_json(json_path, r);
  write_timeseries_csv(csv_path, r);

  std::ifstream json_in(json_path);
  const auto j = nlohmann::json::parse(json_in);
  CHECK(j == to_json(r));

  std::ifstream csv_in(csv_path);
  std::string header, row0, row1, extra;
  std::getline(csv_in, header);
  std::getline(csv_in, row0);
  std::getline(csv_in, row1);
  CHECK(header == "t,offered_rps,ok,errors,p50_ms,p99_ms,in_service,pending,desired,cpu_avg");
  CHECK(row0 == "0,40,40,0,12.25,38.2,2,0,2,20.5");
  CHECK(row1 == "1,40,0,0,,,2,0,2,20.5");  // no latency that second: empty cells
  CHECK_FALSE(std::getline(csv_in, extra));
  fs::remove(json_path);
  fs::remove(csv_path);

  CHECK_THROWS_AS(write_report_json("/nonexistent-dir/x/report.json", r), UserError);
}

TEST_CASE("fill_requests and load_timeseries take the load generator's figures") {
  LoadSnapshot load;
  load.sent = 10;
  load.ok = 8;
  load.by_kind[LoadErrorKind::kHttp5xx] = 2;
  load.errors = 2;
  for (int i = 1; i <= 8; ++i) load.latency.record(std::chrono::milliseconds(i * 10));
  SecondStats s0;
  s0.second = 0;
  s0.offered = 10;
  s0.sent = 10;
  s0.ok = 8;
  s0.errors = 2;
  s0.latency = summarize(load.latency);
  SecondStats s1;
  s1.second = 1;
  load.seconds = {s0, s1};

  RunRecord r;
  fill_requests(r, load);
  CHECK(r.requests.sent == 10);
  CHECK(r.requests.ok == 8);
  CHECK(r.requests.errors == 2);
  CHECK(r.requests.by_kind.at("http_5xx") == 2);
  CHECK(r.requests.by_kind.at("overload") == 0);
  REQUIRE(r.latency_ms.max_ms.has_value());
  CHECK(*r.latency_ms.max_ms == doctest::Approx(80));
  CHECK(*r.latency_ms.p50_ms == doctest::Approx(40).epsilon(0.01));

  const auto rows = load_timeseries(load);
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].t == 0);
  CHECK(rows[0].offered_rps == 10);
  CHECK(rows[0].ok == 8);
  CHECK(rows[0].errors == 2);
  CHECK(rows[0].p99_ms == doctest::Approx(80));
  CHECK(rows[1].t == 1);
  CHECK(std::isnan(rows[1].p50_ms));
}

TEST_CASE("print_summary: a readable table with PASS and FAIL") {
  RunRecord r = sample_record();
  evaluate_expectations({expect("error_rate", {}, 0.01), expect("max_in_service", 6, {})}, r);
  std::ostringstream out;
  print_summary(out, r);
  const std::string text = out.str();
  CAPTURE(text);
  for (const char* want :
       {"flash-sale", "sent 1000", "ok 995", "errors 5 (0.5 %)", "http_5xx 3", "p99 80.0 ms",
        "max in service 5", "2 -> 4", "CPU 81% > target 50%", "kill 1 worker",
        "PASS  error_rate <= 0.01", "FAIL  max_in_service >= 6", "observed 5", "FAILED"})
    CHECK(text.find(want) != std::string::npos);
  CHECK(text.find("timeout 0") == std::string::npos);  // zero kinds are left out
}

TEST_CASE("print_summary: colour on PASS, FAIL and the Result line only when asked") {
  RunRecord r = sample_record();
  evaluate_expectations({expect("error_rate", {}, 0.01), expect("max_in_service", 6, {})}, r);
  std::ostringstream plain, coloured;
  print_summary(plain, r);
  print_summary(coloured, r, true);
  CAPTURE(coloured.str());
  CHECK(plain.str().find('\033') == std::string::npos);
  CHECK(coloured.str().find("\033[32mPASS\033[0m  error_rate") != std::string::npos);
  CHECK(coloured.str().find("\033[31mFAIL\033[0m  max_in_service") != std::string::npos);
  CHECK(coloured.str().find("\033[31mResult: FAILED\033[0m") != std::string::npos);
  r.expectations.pop_back();
  r.passed = true;
  std::ostringstream passed;
  print_summary(passed, r, true);
  CHECK(passed.str().find("\033[32mResult: PASSED\033[0m") != std::string::npos);
}

TEST_CASE("print_summary: the SLO and what was achieved, recoveries, and notes") {
  RunRecord r = sample_record();
  evaluate_expectations({expect("recovery_seconds", {}, 10)}, r);
  std::ostringstream out;
  print_summary(out, r);
  const std::string text = out.str();
  CAPTURE(text);
  for (const char* want :
       {"SLO          p99 <= 500ms, error rate <= 1 % each second, availability >= 99.9 %",
        "achieved: availability 100 % (0 of 1 seconds missed it), throughput 11.1 ok/s",
        "Recovery     (5 seconds in a row within the SLO)",
        "kill 1 worker: i-0000000000000002: not recovered (45 s to the run's end)",
        "FAIL  recovery_seconds <= 10   observed 45   (not recovered: kill 1 worker: "
        "i-0000000000000002 at 45s (counted to the run's end))"})
    CHECK(text.find(want) != std::string::npos);
}

namespace {

std::string junit(const RunRecord& r, const std::optional<std::string>& broke = std::nullopt) {
  std::ostringstream out;
  write_junit_xml(out, r, broke);
  return out.str();
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("write_junit_xml: one test case per expectation, a failure with the observed value") {
  RunRecord r = sample_record();
  r.mode = "simulated";
  evaluate_expectations(
      {expect("error_rate", {}, 0.01), expect("max_in_service", 6, {}), expect("p99_ms", {}, 50)},
      r);
  const std::string xml = junit(r);
  CAPTURE(xml);
  CHECK(xml.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites", 0) == 0);
  CHECK(xml.find("<testsuites name=\"flotilla\" tests=\"3\" failures=\"2\" errors=\"0\" "
                 "time=\"90\">") != std::string::npos);
  CHECK(xml.find("<testsuite name=\"flash-sale\" tests=\"3\" failures=\"2\" errors=\"0\" "
                 "skipped=\"0\" time=\"90\" timestamp=\"2024-05-01T12:00:00\">") !=
        std::string::npos);
  CHECK(xml.find("<property name=\"mode\" value=\"simulated\"/>") != std::string::npos);
  CHECK(xml.find("<property name=\"seed\" value=\"1\"/>") != std::string::npos);
  CHECK(count(xml, "<testcase ") == 3);
  CHECK(count(xml, "<failure ") == 2);
  // Text is escaped: "<=" is "&lt;=".
  CHECK(xml.find("<testcase name=\"error_rate &lt;= 0.01\" classname=\"flash-sale\" "
                 "time=\"0\"/>") != std::string::npos);
  CHECK(xml.find("<testcase name=\"max_in_service &gt;= 6\" classname=\"flash-sale\" "
                 "time=\"0\">\n      <failure message=\"observed 5\" type=\"expectation\">"
                 "expected max_in_service &gt;= 6, observed 5</failure>\n    </testcase>") !=
        std::string::npos);
  CHECK(xml.find("<failure message=\"observed 80\"") != std::string::npos);
  const std::string end = "  </testsuite>\n</testsuites>\n";
  CHECK(xml.substr(xml.size() - end.size()) == end);

  r.latency_ms = {};  // unmeasurable: "observed nothing" and why
  evaluate_expectations({expect("p99_ms", {}, 50)}, r);
  CHECK(junit(r).find("<failure message=\"observed nothing (not measurable in this run)\"") !=
        std::string::npos);
}

TEST_CASE("write_junit_xml: a run that broke is one failed test case") {
  RunRecord r;
  r.scenario = "flash-sale";
  r.mode = "live";
  const std::string xml = junit(r, "the initial workers did not become healthy in time");
  CAPTURE(xml);
  CHECK(xml.find("tests=\"1\" failures=\"1\"") != std::string::npos);
  CHECK(count(xml, "<testcase ") == 1);
  CHECK(xml.find("<testcase name=\"the run completes\" classname=\"flash-sale\" time=\"0\">"
                 "\n      <failure message=\"the initial workers did not become healthy in "
                 "time\" type=\"run\">") != std::string::npos);
  CHECK(xml.find("timestamp=") == std::string::npos);  // not started

  // Broken after traffic: the expectations evaluated stay beside the broken run.
  RunRecord late = sample_record();
  evaluate_expectations({expect("error_rate", {}, 0.01)}, late);
  const std::string both = junit(late, "interrupted");
  CHECK(both.find("tests=\"2\" failures=\"1\"") != std::string::npos);
  CHECK(count(both, "<testcase ") == 2);

  // What XML cannot hold is escaped or left out.
  RunRecord odd;
  odd.scenario = "a&b";
  const std::string x = junit(odd, std::string("\"quoted\" <'x'>\x01 & more"));
  CHECK(x.find("name=\"a&amp;b\"") != std::string::npos);
  CHECK(x.find("message=\"&quot;quoted&quot; &lt;&apos;x&apos;&gt; &amp; more\"") !=
        std::string::npos);

  CHECK_THROWS_AS(write_junit_xml("/nonexistent-dir/x/junit.xml", r), UserError);
}

TEST_CASE("format_progress_line: one line per second") {
  struct Row {
    ProgressLine line;
    const char* want;
  };
  const Row rows[] = {
      {{23s, 90s, 112.4, 110, 0, 38.2, 2, 4},
       "[ 23s/90s] offered 112 rps | ok 110 | err 0 | p99 38.2 ms | in service 2/4"},
      {{5s, 90s, 40, 40, 1, 3.0, 2, 2},
       "[  5s/90s] offered 40 rps | ok 40 | err 1 | p99 3.0 ms | in service 2/2"},
      {{0s, 90s, 0, 0, 0, std::nullopt, 0, 2},
       "[  0s/90s] offered 0 rps | ok 0 | err 0 | p99 - | in service 0/2"},
      {{1234s, 3600s, 1000, 990, 10, 250.04, 10, 10},
       "[1234s/3600s] offered 1000 rps | ok 990 | err 10 | p99 250.0 ms | in service 10/10"},
  };
  for (const auto& row : rows) CHECK(format_progress_line(row.line) == row.want);
}

TEST_CASE("fill_paths, to_json and print_summary: a row per entry of the mix, every worker") {
  LoadSnapshot load;
  load.requests.resize(2);
  load.requests[0].sent = 6;
  load.requests[0].ok = 5;
  load.requests[0].errors = 1;
  for (int i = 1; i <= 5; ++i) load.requests[0].latency.record(std::chrono::milliseconds(i * 10));
  load.requests[1].sent = 2;
  load.requests[1].errors = 2;  // nothing succeeded: no latency
  const std::vector<RequestSpec> mix = {{"GET", "/api", 3, 0}, {"POST", "/orders", 1, 512}};
  RunRecord r = sample_record();
  fill_paths(r, load, mix);
  REQUIRE(r.paths.size() == 2);
  CHECK(r.paths[0].path == "/api");
  CHECK(r.paths[0].sent == 6);
  CHECK(r.paths[0].ok == 5);
  CHECK(r.paths[0].errors == 1);
  REQUIRE(r.paths[0].p99_ms.has_value());
  CHECK(*r.paths[0].p99_ms == doctest::Approx(50).epsilon(0.01));
  CHECK(*r.paths[0].p50_ms == doctest::Approx(30).epsilon(0.01));
  CHECK(r.paths[1].method == "POST");
  CHECK(r.paths[1].body_bytes == 512);
  CHECK_FALSE(r.paths[1].p50_ms.has_value());

  r.workers = {{"i-00000000000000001", "", -1.5, 0.0, 40.25, 120, 2, "signal 9 (SIGKILL)"},
               {"i-00000000000000002", "b", 40.5, std::nullopt, std::nullopt, 0, 0,
                "run finished"}};
  const auto j = to_json(r);
  REQUIRE(j.at("paths").size() == 2);
  const auto& p = j.at("paths")[0];
  for (const char* key : {"path", "method", "sent", "ok", "errors", "p50_ms", "p99_ms"})
    CHECK_MESSAGE(p.contains(key), key);
  CHECK(j.at("paths")[1].at("p99_ms").is_null());
  CHECK(j.at("paths")[1].at("weight") == 1.0);
  REQUIRE(j.at("workers").size() == 2);
  const auto& w = j.at("workers")[0];
  CHECK(w.at("id") == "i-00000000000000001");
  CHECK(w.at("launched_at") == -1.5);
  CHECK(w.at("in_service_at") == 0.0);
  CHECK(w.at("ended_at") == 40.25);
  CHECK(w.at("requests") == 120);
  CHECK(w.at("errors") == 2);
  CHECK(w.at("end_cause") == "signal 9 (SIGKILL)");
  CHECK(j.at("workers")[1].at("in_service_at").is_null());
  CHECK(j.at("workers")[1].at("ended_at").is_null());
  CHECK(j.at("workers")[1].at("zone") == "b");

  // The summary's Paths block, only when there is more than one path.
  std::ostringstream out;
  print_summary(out, r);
  CAPTURE(out.str());
  CHECK(out.str().find("  Paths\n    GET /api       sent 6   ok 5   errors 1   p50 30") !=
        std::string::npos);
  CHECK(out.str().find("    POST /orders   sent 2   ok 0   errors 2   p50 -   p99 -\n") !=
        std::string::npos);
  r.paths.pop_back();
  std::ostringstream one;
  print_summary(one, r);
  CHECK(one.str().find("Paths") == std::string::npos);
}

}  // namespace flotilla
