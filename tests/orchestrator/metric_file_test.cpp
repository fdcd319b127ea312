// Recorded metrics for `flotilla policy replay`: CSV and `aws cloudwatch get-metric-statistics`
// JSON, the period from the timestamps' spacing, gaps, and every mistake with its message.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "core/errors.h"
#include "orchestrator/metric_file.h"
#include "support/files.h"

using namespace flotilla;
using namespace std::chrono_literals;

namespace {

// 2026-11-24T09:00:00Z in Unix seconds.
constexpr std::int64_t kNine = 1795510800;

// `name` ending in .json: the text is get-metric-statistics JSON, else CSV.
RecordedMetric parse_metric(const std::string& name, const std::string& text) {
  if (name.ends_with(".json")) return parse_cloudwatch_json(nlohmann::json::parse(text), name);
  return parse_metric_csv(text, name);
}

std::string error_of(const std::string& name, const std::string& text) {
  try {
    parse_metric(name, text);
  } catch (const UserError& e) {
    return e.what();
  }
  return "no error";
}

using Values = std::vector<std::optional<double>>;

}  // namespace

TEST_CASE("parse_rfc3339: UTC, offsets, fractions, anything else is refused") {
  struct Row {
    const char* text;
    std::optional<Duration> want;  // since the Unix epoch
  };
  const Duration nine = std::chrono::seconds(kNine);
  const Row rows[] = {
      {"2026-11-24T09:00:00Z", nine},
      {"2026-11-24t09:00:00z", nine},
      {"2026-11-24 09:00:00Z", nine},
      {"2026-11-24T09:00:00+00:00", nine},  // the AWS CLI v2's own spelling
      {"2026-11-24T10:30:00+01:30", nine},
      {"2026-11-24T04:00:00-05:00", nine},
      {"2026-11-24T09:00:00.5Z", nine + 500ms},
      {"2026-11-24T09:00:00.000001Z", nine + 1us},
      {"2026-11-24T09:00:00.1234567891Z", nine + 123456789ns},  // past nanoseconds: cut
      {"1970-01-01T00:00:00Z", Duration::zero()},
      {"2024-02-29T00:00:00Z", std::chrono::seconds(1709164800)},
      {"2023-02-29T00:00:00Z", std::nullopt},  // not a leap year
      {"2026-11-24T24:00:00Z", std::nullopt},
      {"2026-13-01T00:00:00Z", std::nullopt},
      {"2026-11-24T09:00:00", std::nullopt},  // no offset
      {"2026-11-24T09:00:00.Z", std::nullopt},
      {"2026-11-24T09:00:00+0100", std::nullopt},
      {"2026-11-24T09:00:00+24:00", std::nullopt},
      {"2026-11-24T09:00Z", std::nullopt},
      {"2026-11-24", std::nullopt},
      {"+026-11-24T09:00:00Z", std::nullopt},
      {"60", std::nullopt},
      {"", std::nullopt},
      // More than 250 years from 1970 would overflow a Duration's nanoseconds: year 9999 was
      // signed overflow (tests/fuzz/corpus/metric/csv-far-year).
      {"2219-01-01T00:00:00Z", std::chrono::seconds(7857648000)},
      {"1721-01-01T00:00:00Z", std::chrono::seconds(-7857648000)},
      {"2221-01-01T00:00:00Z", std::nullopt},
      {"9999-12-31T23:59:59Z", std::nullopt},
      {"1719-01-01T00:00:00Z", std::nullopt},
  };
  for (const Row& r : rows) {
    CAPTURE(r.text);
    CHECK(parse_rfc3339(r.text) == r.want);
  }
}

TEST_CASE("Recorded metrics: both formats, the period from the spacing, gaps as missing data") {
  struct Row {
    const char* name;
    std::string text;
    TimestampFormat format;
    Duration start;
    Duration period;
    Values values;
    const char* statistic;
  };
  const Duration nine = std::chrono::seconds(kNine);
  const Row rows[] = {
      {"seconds.csv",
       "timestamp,value\n0,41.2\n60,43\n120,50\n",
       TimestampFormat::seconds,
       0s,
       60s,
       {41.2, 43.0, 50.0},
       "value"},
      {"spaces-crlf-bom.csv",
       "\xEF\xBB\xBF timestamp , value \r\n\r\n 100 , 1 \r\n110,2\r\n",
       TimestampFormat::seconds,
       100s,
       10s,
       {1.0, 2.0},
       "value"},
      {"decimal-seconds.csv",
       "timestamp,value\n0,1\n0.1,2\n0.2,3\n0.3,4\n",
       TimestampFormat::seconds,
       0s,
       100ms,
       {1.0, 2.0, 3.0, 4.0},
       "value"},
      {"unix-seconds.csv",
       "timestamp,value\n1795510800,5\n1795510860,-2.5e1\n",
       TimestampFormat::seconds,
       nine,
       60s,
       {5.0, -25.0},
       "value"},
      {"gap.csv",
       "timestamp,value\n0,1\n60,2\n240,3\n",
       TimestampFormat::seconds,
       0s,
       60s,
       {1.0, 2.0, std::nullopt, std::nullopt, 3.0},
       "value"},
      // The period is the smallest spacing: a row between two others halves it.
      {"finer.csv",
       "timestamp,value\n0,1\n60,2\n90,3\n",
       TimestampFormat::seconds,
       0s,
       30s,
       {1.0, std::nullopt, 2.0, 3.0},
       "value"},
      {"rfc3339.csv",
       "timestamp,value\n2026-11-24T09:00:00Z,41.2\n2026-11-24T10:01:00+01:00,43\n"
       "2026-11-24T09:02:00.000Z,50\n",
       TimestampFormat::rfc3339,
       nine,
       60s,
       {41.2, 43.0, 50.0},
       "value"},
      {"average.json",
       R"({"Label": "CPUUtilization", "Datapoints": [
           {"Timestamp": "2026-11-24T09:02:00Z", "Average": 50, "Unit": "Percent"},
           {"Timestamp": "2026-11-24T09:00:00Z", "Average": 41.2, "Unit": "Percent"},
           {"Timestamp": "2026-11-24T09:01:00Z", "Average": 43, "Unit": "Percent"}]})",
       TimestampFormat::rfc3339,
       nine,
       60s,
       {41.2, 43.0, 50.0},
       "Average"},
      {"sum-gap.json",
       R"({"Datapoints": [{"Timestamp": "2026-11-24T09:10:00+00:00", "Sum": 7},
                          {"Timestamp": "2026-11-24T09:00:00+00:00", "Sum": 5}]})",
       TimestampFormat::rfc3339,
       nine,
       600s,
       {5.0, 7.0},
       "Sum"},
      {"minimum.json",
       R"({"Datapoints": [{"Timestamp": "2026-11-24T09:00:00Z", "Minimum": 1},
                          {"Timestamp": "2026-11-24T09:05:00Z", "Minimum": 2},
                          {"Timestamp": "2026-11-24T09:15:00Z", "Minimum": 3}]})",
       TimestampFormat::rfc3339,
       nine,
       300s,
       {1.0, 2.0, std::nullopt, 3.0},
       "Minimum"},
      {"maximum.json",
       R"({"Datapoints": [{"Timestamp": "2026-11-24T09:00:00Z", "Maximum": 1},
                          {"Timestamp": "2026-11-24T09:01:00Z", "Maximum": 2}]})",
       TimestampFormat::rfc3339,
       nine,
       60s,
       {1.0, 2.0},
       "Maximum"},
      {"sample-count.json",
       R"({"Datapoints": [{"Timestamp": "2026-11-24T09:00:00Z", "SampleCount": 60},
                          {"Timestamp": "2026-11-24T09:01:00Z", "SampleCount": 58}]})",
       TimestampFormat::rfc3339,
       nine,
       60s,
       {60.0, 58.0},
       "SampleCount"},
      {"percentile.json",
       R"({"Label": "TargetResponseTime", "Datapoints": [
           {"Timestamp": "2026-11-24T09:00:00Z", "ExtendedStatistics": {"p99": 0.8}},
           {"Timestamp": "2026-11-24T09:01:00Z", "ExtendedStatistics": {"p99": 1.2}}]})",
       TimestampFormat::rfc3339,
       nine,
       60s,
       {0.8, 1.2},
       "p99"},
  };
  for (const Row& r : rows) {
    CAPTURE(r.name);
    const RecordedMetric m = parse_metric(r.name, r.text);
    CHECK(m.file == r.name);
    CHECK(m.format == r.format);
    CHECK(m.start == r.start);
    CHECK(m.period == r.period);
    CHECK(m.values == r.values);
    CHECK(m.statistic == r.statistic);
  }
}

TEST_CASE("Recorded metrics: every mistake names the file, the line or pointer, the expectation") {
  struct Row {
    const char* name;
    std::string text;
    std::string message;
  };
  const std::string h = "timestamp,value\n";
  const Row rows[] = {
      // CSV
      {"m.csv", "", "m.csv: line 1: expected the header timestamp,value, got an empty file"},
      {"m.csv", "0,41\n60,42\n",
       "m.csv: line 1: expected the header timestamp,value, got \"0,41\""},
      {"m.csv", "time,cpu\n0,41\n",
       "m.csv: line 1: expected the header timestamp,value, got \"time,cpu\""},
      {"m.csv", h + "0,41\n60,abc\n", "m.csv: line 3: expected a value: a number, got \"abc\""},
      {"m.csv", h + "0,41\n60,\n", "m.csv: line 3: expected a value: a number, got \"\""},
      {"m.csv", h + "0,nan\n", "m.csv: line 2: expected a value: a number, got \"nan\""},
      {"m.csv", h + "0,41\n60\n",
       "m.csv: line 3: expected two fields, timestamp,value, got \"60\""},
      {"m.csv", h + "0,41,1\n",
       "m.csv: line 2: expected two fields, timestamp,value, got \"0,41,1\""},
      {"m.csv", h + "yesterday,41\n",
       "m.csv: line 2: expected a timestamp: a number of seconds or an RFC 3339 date-time such as "
       "2026-11-24T09:00:00Z, got \"yesterday\""},
      {"m.csv", h + "0,41\n1min,42\n",
       "m.csv: line 3: expected a timestamp: a number of seconds (as in the first row), got "
       "\"1min\""},
      {"m.csv", h + "2026-11-24T09:00:00Z,41\n2026-11-24T25:00:00Z,42\n",
       "m.csv: line 3: expected a timestamp: an RFC 3339 date-time such as 2026-11-24T09:00:00Z "
       "(as "
       "in the first row), got \"2026-11-24T25:00:00Z\""},
      {"m.csv", h + "2026-11-24T09:00:00Z,41\n60,42\n",
       "m.csv: line 3: expected a timestamp: an RFC 3339 date-time such as 2026-11-24T09:00:00Z "
       "(as "
       "in the first row), got \"60\""},
      {"m.csv", h + "0,1\n60,2\n30,3\n",
       "m.csv: line 4: expected a timestamp after 60 (time going forwards), got 30"},
      {"m.csv", h + "2026-11-24T09:01:00Z,1\n2026-11-24T09:00:00Z,2\n",
       "m.csv: line 3: expected a timestamp after 2026-11-24T09:01:00Z (time going forwards), got "
       "2026-11-24T09:00:00Z"},
      {"m.csv", h + "0,1\n60,2\n60,3\n",
       "m.csv: line 4: expected a timestamp after 60 (one row per period), got 60 again"},
      {"m.csv", h + "0,1\n40,2\n100,3\n",
       "m.csv: line 4: expected a timestamp on the grid of 40s from 0 (evenly spaced; the period "
       "is the smallest spacing), got 100"},
      {"m.csv", h + "0,1\n",
       "m.csv: line 3: expected at least 2 rows after the header (the period is the spacing of the "
       "timestamps), got 1"},
      {"m.csv", h + "0,1\n0.000001,2\n10,3\n",
       "m.csv: line 4: expected at most 1000000 periods of 1us from the first timestamp, got "
       "10000001"},
      // get-metric-statistics JSON
      {"m.json", "[1, 2]",
       "m.json: expected the output of `aws cloudwatch get-metric-statistics`: an object with "
       "\"Datapoints\" (or a CSV file with the header timestamp,value)"},
      {"m.json", R"({"Label": "CPUUtilization"})",
       "m.json: expected the output of `aws cloudwatch get-metric-statistics`: an object with "
       "\"Datapoints\" (or a CSV file with the header timestamp,value)"},
      {"m.json", R"({"Datapoints": [], "MetricDataResults": []})",
       "m.json: /MetricDataResults: expected one of the known fields (Label, Datapoints), got an "
       "unknown field"},
      {"m.json", R"({"Label": 3, "Datapoints": []})", "m.json: /Label: expected a string, got 3"},
      {"m.json", R"({"Datapoints": {}})", "m.json: /Datapoints: expected an array, got {}"},
      {"m.json", R"({"Datapoints": [{"Timestamp": "2026-11-24T09:00:00Z", "Average": 1}]})",
       "m.json: /Datapoints: expected at least 2 datapoints (the period is the spacing of the "
       "timestamps), got 1"},
      {"m.json", R"({"Datapoints": [{"Timestamp": "2026-11-24T09:00:00Z", "Unit": "Percent"}]})",
       "m.json: /Datapoints/0: expected one statistic (Average, Sum, Minimum, Maximum, SampleCount "
       "or ExtendedStatistics; ask get-metric-statistics for one), got none"},
      {"m.json",
       R"({"Datapoints": [{"Timestamp": "2026-11-24T09:00:00Z", "Average": 1, "Maximum": 2}]})",
       "m.json: /Datapoints/0: expected one statistic (Average, Sum, Minimum, Maximum, SampleCount "
       "or ExtendedStatistics; ask get-metric-statistics for one), got Average, Maximum"},
      {"m.json",
       R"({"Datapoints": [{"Timestamp": "2026-11-24T09:00:00Z", "Average": 1},
                          {"Timestamp": "2026-11-24T09:01:00Z", "Maximum": 2}]})",
       "m.json: /Datapoints/1: expected the statistic Average (as /Datapoints/0 has it), got "
       "Maximum"},
      {"m.json",
       R"({"Datapoints": [{"Timestamp": "2026-11-24T09:00:00Z", "ExtendedStatistics": {}}]})",
       "m.json: /Datapoints/0/ExtendedStatistics: expected an object with one percentile, such as "
       "{\"p99\": 812.5}, got {}"},
      {"m.json", R"({"Datapoints": [{"Timestamp": "2026-11-24T09:00:00Z", "Average": "41"}]})",
       "m.json: /Datapoints/0/Average: expected a number, got \"41\""},
      {"m.json", R"({"Datapoints": [{"Average": 41}]})",
       "m.json: /Datapoints/0/Timestamp: expected a value, got nothing (the field is missing)"},
      {"m.json", R"({"Datapoints": [{"Timestamp": "yesterday", "Average": 41}]})",
       "m.json: /Datapoints/0/Timestamp: expected an RFC 3339 date-time such as "
       "2026-11-24T09:00:00Z, got \"yesterday\""},
      {"m.json", R"({"Datapoints": [{"Timestamp": 1795510800, "Average": 41}]})",
       "m.json: /Datapoints/0/Timestamp: expected a string, got 1795510800"},
      {"m.json",
       R"({"Datapoints": [{"Timestamp": "2026-11-24T09:00:00Z", "Average": 1, "Foo": 2}]})",
       "m.json: /Datapoints/0/Foo: expected one of the known fields (Timestamp, Unit, Average, "
       "Sum, "
       "Minimum, Maximum, SampleCount, ExtendedStatistics), got an unknown field"},
      {"m.json",
       R"({"Datapoints": [{"Timestamp": "2026-11-24T09:01:00Z", "Average": 1},
                          {"Timestamp": "2026-11-24T09:00:00Z", "Average": 2},
                          {"Timestamp": "2026-11-24T10:01:00+01:00", "Average": 3}]})",
       "m.json: /Datapoints/2/Timestamp: expected one datapoint per timestamp, got "
       "2026-11-24T09:01:00Z again (/Datapoints/0/Timestamp has it too)"},
      {"m.json",
       R"({"Datapoints": [{"Timestamp": "2026-11-24T09:00:00Z", "Average": 1},
                          {"Timestamp": "2026-11-24T09:01:00Z", "Average": 2},
                          {"Timestamp": "2026-11-24T09:02:30Z", "Average": 3}]})",
       "m.json: /Datapoints/2/Timestamp: expected a timestamp on the grid of 60s from "
       "2026-11-24T09:00:00Z (evenly spaced; the period is the smallest spacing), got "
       "2026-11-24T09:02:30Z"},
  };
  for (const Row& r : rows) {
    CAPTURE(r.text);
    CHECK(error_of(r.name, r.text) == r.message);
  }
}

TEST_CASE("Recorded metrics: a file is read in the format its content has") {
  const auto dir = flotilla::test::fresh_temp_dir("metric-file");
  struct Row {
    std::string name;
    std::string text;
    std::string result;  // the statistic, or the error
  };
  const Row rows[] = {
      {"cpu.txt", "timestamp,value\n0,1\n60,2\n", "value"},
      {"cpu.data",
       "\n  "
       R"({"Datapoints": [{"Timestamp": "2026-11-24T09:00:00Z", "Average": 1},
                                  {"Timestamp": "2026-11-24T09:01:00Z", "Average": 2}]})",
       "Average"},
      {"broken.json", "{\"Datapoints\": [\n{]}",
       (dir / "broken.json").string() + ": expected valid JSON (syntax error at line 2, column 2)"},
  };
  for (const Row& r : rows) {
    CAPTURE(r.name);
    const std::string path = (dir / r.name).string();
    std::ofstream(path) << r.text;
    std::string result;
    try {
      result = load_recorded_metric(path).statistic;
    } catch (const UserError& e) {
      result = e.what();
    }
    CHECK(result == r.result);
  }
  const std::string missing = (dir / "missing.csv").string();
  CHECK_THROWS_WITH_AS(load_recorded_metric(missing),
                       (missing + ": expected an existing file (not found)").c_str(), UserError);
  CHECK_THROWS_WITH_AS(load_recorded_metric(dir.string()),
                       (dir.string() + ": expected a metric file, got a folder").c_str(),
                       UserError);
  std::filesystem::remove_all(dir);
}

TEST_CASE("RecordedMetric::format_time writes times as the file does") {
  RecordedMetric seconds;
  CHECK(seconds.format_time(180s) == "180");
  CHECK(seconds.format_time(1500ms) == "1.5");
  CHECK(seconds.format_time(std::chrono::seconds(kNine)) == "1795510800");
  RecordedMetric dated;
  dated.format = TimestampFormat::rfc3339;
  CHECK(dated.format_time(std::chrono::seconds(kNine)) == "2026-11-24T09:00:00Z");
  CHECK(dated.format_time(std::chrono::seconds(kNine) + 250ms) == "2026-11-24T09:00:00.25Z");
  CHECK(dated.format_time(-1s) == "1969-12-31T23:59:59Z");
}
