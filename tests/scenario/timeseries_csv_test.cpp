// Reading timeseries.csv back: what report.h writes reads back the same, and a bad file names its
// line and what was expected.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "core/errors.h"
#include "scenario/timeseries_csv.h"
#include "support/files.h"
#include "support/user_error.h"

using namespace flotilla;

namespace {

const double kNaNCell = std::numeric_limits<double>::quiet_NaN();
constexpr const char* kHeader =
    "t,offered_rps,ok,errors,p50_ms,p99_ms,in_service,pending,desired,cpu_avg\n";

bool same_number(double a, double b) { return a == b || (std::isnan(a) && std::isnan(b)); }

bool same_row(const TimeseriesRow& a, const TimeseriesRow& b) {
  return a.t == b.t && same_number(a.offered_rps, b.offered_rps) && a.ok == b.ok &&
         a.errors == b.errors && same_number(a.p50_ms, b.p50_ms) &&
         same_number(a.p99_ms, b.p99_ms) && a.in_service == b.in_service &&
         a.pending == b.pending && a.desired == b.desired && same_number(a.cpu_avg, b.cpu_avg);
}

}  // namespace

TEST_CASE("timeseries.csv reads back what write_timeseries_csv wrote") {
  RunRecord record;
  record.timeseries = {{0, 40, 40, 0, 12.5, 31.25, 2, 0, 2, 18.75},
                       {1, 320.5, 300, 7, kNaNCell, kNaNCell, 2, 2, 4, kNaNCell},
                       {2, 0, 0, 0, kNaNCell, kNaNCell, 4, 0, 4, 0}};
  std::ostringstream csv;
  write_timeseries_csv(csv, record);
  const auto rows = parse_timeseries_csv(csv.str(), "timeseries.csv");
  REQUIRE(rows.size() == record.timeseries.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    CAPTURE(i);
    CHECK(same_row(rows[i], record.timeseries[i]));
  }
}

TEST_CASE("timeseries.csv: the header names the columns, more columns, any order, CRLF") {
  const auto rows = parse_timeseries_csv(
      "\xEF\xBB\xBF"
      "cpu_avg,t,error_rate,desired,pending,in_service,p99_ms,p50_ms,errors,ok,offered_rps\r\n"
      "50,0,0.5,3,1,2,40,10,5,5,10\r\n"
      "\r\n"
      ",1,,3,0,3,,,0,0,0\r\n",
      "x.csv");
  REQUIRE(rows.size() == 2);
  CHECK(same_row(rows[0], {0, 10, 5, 5, 10, 40, 2, 1, 3, 50}));
  CHECK(same_row(rows[1], {1, 0, 0, 0, kNaNCell, kNaNCell, 3, 0, 3, kNaNCell}));
  CHECK(parse_timeseries_csv(kHeader, "x.csv").empty());
}

TEST_CASE("timeseries.csv: a bad file names its line and what was expected") {
  struct Row {
    const char* name;
    std::string text;
    const char* pointer;
    const char* expected;
  };
  const std::string h = kHeader;
  const std::vector<Row> rows = {
      {"empty", "", "line 1", "the header t,offered_rps,"},
      {"blank lines only", "\n\n", "line 3", "got an empty file"},
      {"a column missing", "t,offered_rps,ok,errors,p50_ms,p99_ms,in_service,pending,desired\n",
       "line 1", "the column cpu_avg"},
      {"not a header", "0,40,40,0,1,2,2,0,2,3\n", "line 1", "the column t "},
      {"too few fields", h + "0,40,40,0,1,2,2,0,2\n", "line 2",
       "10 fields as in the header, got 9"},
      {"too many fields", h + "0,40,40,0,1,2,2,0,2,3,4\n", "line 2", "got 11"},
      {"t not a number", h + "zero,40,40,0,1,2,2,0,2,3\n", "line 2", "t as a number, got \"zero\""},
      {"t empty", h + ",40,40,0,1,2,2,0,2,3\n", "line 2", "t as a number"},
      {"a count negative", h + "0,40,-1,0,1,2,2,0,2,3\n", "line 2", "ok as a whole number >= 0"},
      {"a count with a fraction", h + "0,40,40,0,1,2,2.5,0,2,3\n", "line 2",
       "in_service as a whole number >= 0, got \"2.5\""},
      {"a latency that is text", h + "0,40,40,0,fast,2,2,0,2,3\n", "line 2",
       "p50_ms as a number or empty (no data)"},
      {"time going backwards",
       h + "0,40,40,0,1,2,2,0,2,3\n" + "2,1,1,0,1,2,2,0,2,3\n\n" + "1,1,1,0,1,2,2,0,2,3\n",
       "line 5", "t after 2 (time going forwards), got 1"},
  };
  for (const Row& row : rows) {
    CAPTURE(row.name);
    const auto error =
        test::user_error_of([&] { parse_timeseries_csv(row.text, "run/timeseries.csv"); });
    CHECK(error.file == "run/timeseries.csv");
    CHECK(error.pointer == row.pointer);
    CHECK(error.expected.find(row.expected) != std::string::npos);
  }
}

TEST_CASE("load_timeseries_csv: a missing file or a folder is a UserError naming it") {
  const auto dir = flotilla::test::fresh_temp_dir("timeseries-csv");
  const std::string missing = (dir / "timeseries.csv").string();
  CHECK_THROWS_WITH_AS(load_timeseries_csv(missing), doctest::Contains("not found"), UserError);
  CHECK_THROWS_WITH_AS(load_timeseries_csv(dir.string()), doctest::Contains("got a folder"),
                       UserError);
  std::ofstream(missing) << kHeader << "0,1,1,0,1,2,2,0,2,3\n";
  CHECK(load_timeseries_csv(missing).size() == 1);
  std::filesystem::remove_all(dir);
}
