#include "orchestrator/run.h"

#include <unistd.h>

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
#include "scenario/report_html.h"
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

OutputFolder::OutputFolder(const std::string& given, const std::string& name) : path_(given) {
  if (path_.empty()) path_ = "runs/" + name + "-" + utc_stamp("%Y%m%d-%H%M%S");
  std::error_code ec;
  for (fs::path p = fs::absolute(path_, ec); !p.empty() && !fs::exists(p, ec); p = p.parent_path())
    created_.push_back(p.string());
  fs::create_directories(path_, ec);
  if (ec || !fs::is_directory(path_)) {
    const std::string why = ec ? ec.message() : "not a folder";
    remove_created();
    throw UserError("--out " + path_ + ": expected a folder that can be created and written (" +
                    why + ")");
  }
}

OutputFolder::~OutputFolder() { remove_created(); }

void OutputFolder::remove_created() {
  std::error_code ignored;
  // fs::remove removes a folder only when it is empty.
  for (const std::string& dir : created_) fs::remove(dir, ignored);
  created_.clear();
}

void write_run_outputs(const std::string& dir, const RunRecord& record) {
  const fs::path staging = fs::path(dir) / ".writing";
  const char* const names[] = {"report.json", "timeseries.csv", "report.html"};
  std::error_code ec;
  fs::create_directories(staging, ec);
  if (ec)
    throw UserError("--out " + dir + ": expected a folder that can be written (" + ec.message() +
                    ")");
  try {
    write_report_json((staging / names[0]).string(), record);
    write_timeseries_csv((staging / names[1]).string(), record);
    write_report_html((staging / names[2]).string(), record);
  } catch (...) {
    fs::remove_all(staging, ec);
    throw;
  }
  for (const char* name : names) fs::rename(staging / name, fs::path(dir) / name, ec);
  fs::remove(staging, ec);
}

namespace {

// A file `flag` names can be written: checked before the run, not found out after it.
void check_writable_file(const std::string& path, const std::string& flag) {
  const fs::path file(path);
  const fs::path folder = file.has_parent_path() ? file.parent_path() : fs::path(".");
  std::error_code ec;
  const bool writable = fs::exists(file, ec)
                            ? ::access(path.c_str(), W_OK) == 0
                            : fs::is_directory(folder, ec) && ::access(folder.c_str(), W_OK) == 0;
  if (!writable || fs::is_directory(file, ec))
    throw UserError(flag + " " + path + ": expected a file that can be written");
}

}  // namespace

std::string default_worker_executable() {
  std::error_code ec;
  const auto self = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return "flotilla-worker";
  return (self.parent_path() / "flotilla-worker").string();
}

int run_scenario(const RunOptions& options, std::ostream& out) {
  // Everything the user wrote is checked before anything starts.
  const Scenario scenario = load_scenario(options.scenario_path);
  if (!options.junit_path.empty()) check_writable_file(options.junit_path, "--junit");
  ScenarioRunSpec spec;
  spec.simulated = options.simulated;
  spec.seed = options.seed.value_or(scenario.seed);
  spec.worker_executable =
      options.worker_executable.empty() ? default_worker_executable() : options.worker_executable;
  spec.progress = !options.quiet;
  const OutputFolder folder(options.out_dir, scenario.name);
  spec.output_dir = folder.path();
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
    if (!options.junit_path.empty()) {
      RunRecord& record = result.record;
      record.scenario = scenario.name;
      record.mode = spec.simulated ? "simulated" : "live";
      record.seed = spec.seed;
      record.started_at = spec.started_at;
      write_junit_xml(options.junit_path, record, result.why);
    }
    return kExitFailed;
  }
  RunRecord& record = result.record;
  evaluate_expectations(scenario.expect, record);
  if (result.broke) record.passed = false;
  write_run_outputs(spec.output_dir, record);
  if (!options.junit_path.empty())
    write_junit_xml(options.junit_path, record,
                    result.broke ? std::optional<std::string>(result.why) : std::nullopt);
  print_summary(out, record, options.colour);
  out << "report: " << (fs::path(spec.output_dir) / "report.json").string() << "\n";
  out << "        " << (fs::path(spec.output_dir) / "report.html").string() << "\n";
  return record.passed ? kExitOk : kExitFailed;
}

}  // namespace flotilla
