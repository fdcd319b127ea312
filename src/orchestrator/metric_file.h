#pragma once
// Recorded metrics: one value per period, read from a file that a monitoring system exported, for
// `flotilla policy replay`.
//
// Two formats, told apart by content (a file whose first character other than white space is
// "{" or "[" is JSON):
// - CSV with the header `timestamp,value` and one row per period:
//     timestamp,value
//     2026-11-24T09:00:00Z,41.2
//     2026-11-24T09:01:00Z,43.0
//   Timestamps are all seconds (a number, from any epoch) or all RFC 3339 date-times
//   ("2026-11-24T09:00:00Z", "2026-11-24T10:00:00.5+01:00"), as the first row has it, going
//   forwards. Blank lines are ignored, "\r\n" line ends and a UTF-8 byte order mark accepted.
// - The JSON that `aws cloudwatch get-metric-statistics` prints:
//     {"Label": "CPUUtilization",
//      "Datapoints": [{"Timestamp": "2026-11-24T09:01:00Z", "Average": 43.0, "Unit": "Percent"},
//                     ...]}
//   Datapoints in any order (CloudWatch returns them unordered). Each holds one statistic, the
//   same in every datapoint: Average, Sum, Minimum, Maximum, SampleCount, or ExtendedStatistics
//   with one entry ({"p99": 812.5}).
//
// The period is the smallest spacing of the timestamps; every timestamp must lie on that grid
// from the first one (evenly spaced), and a timestamp missing from the grid is a period without
// data (a gap), not an error. At least two timestamps.
//
// Mistakes are UserErrors naming the file, the line (CSV: "line 7") or the JSON pointer
// ("/Datapoints/3/Timestamp") and what was expected:
//   "m.csv: line 7: expected a timestamp after 2026-11-24T09:05:00Z (time going forwards), got
//    2026-11-24T09:04:00Z"
#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/time.h"

namespace flotilla {

enum class TimestampFormat { seconds, rfc3339 };

struct RecordedMetric {
  std::string file;
  TimestampFormat format = TimestampFormat::seconds;
  // What the values are: the CloudWatch statistic ("Average", "p99"), or "value" (CSV).
  std::string statistic;
  Duration start{};   // the first timestamp: seconds as written, or since the Unix epoch
  Duration period{};  // > 0
  // One per period from `start`, at least 2; nullopt: the file has no row for that period.
  std::vector<std::optional<double>> values;

  // Periods that have a value.
  std::size_t datapoints() const;
  // A time on the file's clock as the file writes it: "2026-11-24T09:03:00Z" (fractions of a
  // second kept, offsets written as Z), or "180" (seconds).
  std::string format_time(Duration t) const;
};

// Parses the file's text; `file` names it in errors.
RecordedMetric parse_metric_csv(std::string_view text, const std::string& file);
RecordedMetric parse_cloudwatch_json(const nlohmann::json& doc, const std::string& file);
// Reads the file and parses it in its format; an unreadable file is a UserError too.
RecordedMetric load_recorded_metric(const std::string& path);

// An RFC 3339 date-time ("2026-11-24T09:00:00Z", "2026-11-24t10:00:00.25+01:00"; "T" or a space
// between date and time) as the time since the Unix epoch; nullopt if malformed or more than 250
// years from 1970 (beyond what a Duration holds with room to spare).
std::optional<Duration> parse_rfc3339(std::string_view text);

}  // namespace flotilla
