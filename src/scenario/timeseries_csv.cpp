#include "scenario/timeseries_csv.h"

#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>

#include "core/data_files.h"
#include "core/format.h"
#include "scenario/csv_text.h"

namespace flotilla {

namespace {

// Per-second counts; an int holds every one.
constexpr double kMaxCount = 2e9;

enum class Cell { kNumber, kCount, kOptional };

struct ColumnSpec {
  std::string_view name;
  Cell cell;
};

// report.h's header, in its order.
constexpr std::array<ColumnSpec, 10> kCsvColumns{{{"t", Cell::kNumber},
                                               {"offered_rps", Cell::kNumber},
                                               {"ok", Cell::kCount},
                                               {"errors", Cell::kCount},
                                               {"p50_ms", Cell::kOptional},
                                               {"p99_ms", Cell::kOptional},
                                               {"in_service", Cell::kCount},
                                               {"pending", Cell::kCount},
                                               {"desired", Cell::kCount},
                                               {"cpu_avg", Cell::kOptional}}};

std::string header_text() {
  std::string out;
  for (const ColumnSpec& c : kCsvColumns) out += (out.empty() ? "" : ",") + std::string(c.name);
  return out;
}

double read_cell(const ColumnSpec& c, std::string_view text, const csv::LineError& at) {
  if (text.empty() && c.cell == Cell::kOptional) return std::numeric_limits<double>::quiet_NaN();
  const auto v = csv::parse_number(text);
  const std::string name(c.name);
  switch (c.cell) {
    case Cell::kNumber:
      if (!v) at.fail(name + " as a number, got " + csv::quoted(text));
      break;
    case Cell::kOptional:
      if (!v) at.fail(name + " as a number or empty (no data), got " + csv::quoted(text));
      break;
    case Cell::kCount:
      if (!v || *v < 0 || *v != std::floor(*v) || *v > kMaxCount)
        at.fail(name + " as a whole number >= 0, got " + csv::quoted(text));
      break;
  }
  return *v;
}

}  // namespace

std::vector<TimeseriesRow> parse_timeseries_csv(std::string_view text, const std::string& file) {
  std::vector<TimeseriesRow> rows;
  std::size_t fields_per_row = 0;                    // 0 until the header is read
  std::array<std::size_t, kCsvColumns.size()> index{};  // kCsvColumns[i] is field index[i]
  const std::size_t last_line =
      csv::for_each_line(text, [&](std::size_t line, std::string_view content) {
        const csv::LineError at(file, line);
        const auto fields = csv::split_fields(content);
        if (fields_per_row == 0) {
          for (std::size_t i = 0; i < kCsvColumns.size(); ++i) {
            std::optional<std::size_t> found;
            for (std::size_t f = 0; f < fields.size(); ++f)
              if (fields[f] == kCsvColumns[i].name) found = f;
            if (!found)
              at.fail("a header with the column " + std::string(kCsvColumns[i].name) + " (" +
                      header_text() + "), got " + csv::quoted(content));
            index[i] = *found;
          }
          fields_per_row = fields.size();
          return;
        }
        if (fields.size() != fields_per_row)
          at.fail(std::to_string(fields_per_row) + " fields as in the header, got " +
                  std::to_string(fields.size()));
        std::array<double, kCsvColumns.size()> v{};
        for (std::size_t i = 0; i < kCsvColumns.size(); ++i)
          v[i] = read_cell(kCsvColumns[i], fields[index[i]], at);
        if (!rows.empty() && v[0] <= rows.back().t)
          at.fail("t after " + format_number(rows.back().t, 6) + " (time going forwards), got " +
                  std::string(fields[index[0]]));
        TimeseriesRow r;
        r.t = v[0];
        r.offered_rps = v[1];
        r.ok = static_cast<std::uint64_t>(v[2]);
        r.errors = static_cast<std::uint64_t>(v[3]);
        r.p50_ms = v[4];
        r.p99_ms = v[5];
        r.in_service = static_cast<int>(v[6]);
        r.pending = static_cast<int>(v[7]);
        r.desired = static_cast<int>(v[8]);
        r.cpu_avg = v[9];
        rows.push_back(r);
      });
  if (fields_per_row == 0)
    csv::LineError(file, last_line + 1).fail("the header " + header_text() + ", got an empty file");
  return rows;
}

std::vector<TimeseriesRow> load_timeseries_csv(const std::string& path) {
  return parse_timeseries_csv(read_text_file(path, "the file timeseries.csv"), path);
}

}  // namespace flotilla
