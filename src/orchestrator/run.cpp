#include "orchestrator/run.h"

#include <ctime>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "core/duration.h"
#include "core/errors.h"
#include "core/format.h"
#include "orchestrator/scenario_run.h"
#include "scenario/report.h"
#include "scenario/scenario.h"

namespace flotilla {

namespace fs = std::filesystem;

std::string utc_stamp(const char* format) {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  std::ostringstream out;
  out << std::put_time(&tm, format);
  return out.str();
}

std::string prepare_out_dir(const std::string& given, const std::string& name) {
  std::string dir = given;
  if (dir.empty()) dir = "runs/" + name + "-" + utc_stamp("%Y%m%d-%H%M%S");
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir))
    throw UserError("--out " + dir + ": expected a folder that can be created and written (" +
                    ec.message() + ")");
  return dir;
}

std::string default_worker_executable() {
  std::error_code ec;
  const auto self = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return "flotilla-worker";
  return (self.parent_path() / "flotilla-worker").string();
}

int run_scenario(const RunOptions& options, std::ostream& out) {
  // Everything the user wrote is checked before anything starts.
  const Scenario scenario = load_scenario(options.scenario_path);
  ScenarioRunSpec spec;
  spec.simulated = options.simulated;
  spec.seed = options.seed.value_or(scenario.seed);
  spec.worker_executable =
      options.worker_executable.empty() ? default_worker_executable() : options.worker_executable;
  spec.progress = !options.quiet;
  spec.output_dir = prepare_out_dir(options.out_dir, scenario.name);
  spec.started_at = utc_stamp("%Y-%m-%dT%H:%M:%SZ");

  if (spec.progress)
    out << "flotilla: scenario " << scenario.name << " (" << format_duration(scenario.duration)
        << ", seed " << spec.seed << ", time scale "
        << format_number(scenario.effective_time_scale(), 4)
        << (spec.simulated ? ", simulated" : "") << "), output " << spec.output_dir << "\n"
        << std::flush;
  ScenarioRunResult result = run_scenario_once(scenario, spec, out);
  if (result.broke && result.record.timeseries.empty()) {
    std::cerr << "flotilla: " << result.why << "\n";
    return kExitFailed;
  }
  RunRecord& record = result.record;
  evaluate_expectations(scenario.expect, record);
  if (result.broke) record.passed = false;
  write_report_json((fs::path(spec.output_dir) / "report.json").string(), record);
  write_timeseries_csv((fs::path(spec.output_dir) / "timeseries.csv").string(), record);
  print_summary(out, record);
  out << "report: " << (fs::path(spec.output_dir) / "report.json").string() << "\n";
  return record.passed ? kExitOk : kExitFailed;
}

}  // namespace flotilla
