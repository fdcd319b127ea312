#include "orchestrator/report_command.h"

#include <filesystem>
#include <ostream>

#include "core/config.h"
#include "core/errors.h"
#include "scenario/report_html.h"
#include "scenario/timeseries_csv.h"

namespace flotilla {

namespace fs = std::filesystem;

int report_command(const ReportOptions& options, std::ostream& out) {
  std::error_code ec;
  if (!fs::is_directory(options.dir, ec))
    throw UserError(options.dir, "",
                    "a run's output folder (with report.json and timeseries.csv), " +
                        std::string(fs::exists(options.dir, ec) ? "got a file" : "not found"));
  const fs::path dir(options.dir);
  const std::string json_path = (dir / "report.json").string();
  const nlohmann::json report = load_json_file(json_path);
  check_report_json(report, json_path);
  const std::vector<TimeseriesRow> rows = load_timeseries_csv((dir / "timeseries.csv").string());
  const std::string page = (dir / "report.html").string();
  write_report_html(page, report, rows);
  out << "report: " << page << "\n";
  return kExitOk;
}

}  // namespace flotilla
