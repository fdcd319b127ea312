#pragma once
// Reading timeseries.csv back (report.h writes it), for `flotilla report DIR`.
//
// The header names the columns; the ten of report.h's header must be there (in any order; other
// columns are ignored, so a file with more columns still reads). Every row has as many fields as
// the header. t, offered_rps, ok, errors, in_service, pending and desired are numbers (the counts
// whole and >= 0); p50_ms, p99_ms and cpu_avg are numbers or empty (no data: NaN). A bad file
// is a UserError naming the file, the line and what was expected.
#include <string>
#include <string_view>
#include <vector>

#include "scenario/report.h"

namespace flotilla {

std::vector<TimeseriesRow> parse_timeseries_csv(std::string_view text, const std::string& file);
// The file's rows; UserError when it is missing or unreadable, or as parse_timeseries_csv.
std::vector<TimeseriesRow> load_timeseries_csv(const std::string& path);

}  // namespace flotilla
