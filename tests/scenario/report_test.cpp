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

TEST_CASE("evaluate_expectations: all must pass; unmeasurable values fail") {
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

}  // namespace flotilla
