#include "orchestrator/compare.h"

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <ostream>
#include <sstream>
#include <thread>

#include "core/errors.h"
#include "orchestrator/run.h"
#include "orchestrator/scenario_run.h"
#include "scaling/policy_file.h"
#include "scenario/comparison.h"
#include "scenario/report_html.h"
#include "scenario/scenario.h"

namespace flotilla {

namespace fs = std::filesystem;

namespace {

struct Entry {
  std::string file;
  std::string name;    // the policy's own
  std::string folder;  // under --out: the name, made unique
  ScenarioRunResult result;
};

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  if (!out) throw UserError(path.string(), "", "a writable file");
}

}  // namespace

int compare_command(const CompareOptions& options, std::ostream& out, std::ostream& err) {
  if (options.policies.empty())
    throw UserError("compare: expected at least one --policy FILE");
  const Scenario scenario = load_scenario(options.scenario_path);
  const double time_scale = scenario.effective_time_scale();

  std::vector<Entry> entries;
  std::map<std::string, int> seen;
  for (const std::string& file : options.policies) {
    Entry e;
    e.file = file;
    e.name = load_policy_file(file, time_scaled(time_scale))->name();  // UserError if bad
    const int n = ++seen[e.name];
    e.folder = n == 1 ? e.name : e.name + "-" + std::to_string(n);
    entries.push_back(std::move(e));
  }
  std::optional<OutputFolder> folder;
  if (!options.out_dir.empty()) folder.emplace(options.out_dir, scenario.name);
  const std::string out_dir = folder ? folder->path() : std::string();

  ScenarioRunSpec base;
  base.simulated = options.simulated;
  base.seed = options.seed.value_or(scenario.seed);
  base.worker_executable =
      options.worker_executable.empty() ? default_worker_executable() : options.worker_executable;
  base.progress = false;
  base.started_at = utc_stamp("%Y-%m-%dT%H:%M:%SZ");

  std::mutex err_mu;
  auto run_one = [&](Entry& e) {
    {
      std::lock_guard lock(err_mu);
      err << "flotilla compare: " << scenario.name << " under " << e.name << " ("
          << (options.simulated ? "simulated" : "live") << ")\n";
    }
    ScenarioRunSpec spec = base;
    spec.policy_files = std::vector<std::string>{e.file};
    if (!out_dir.empty()) spec.output_dir = (fs::path(out_dir) / e.folder).string();
    std::ostringstream ignored;
    e.result = run_scenario_once(scenario, spec, ignored);
    evaluate_expectations(scenario.expect, e.result.record);
  };

  if (options.simulated) {
    // Each simulated run is single-threaded and independent: two at a time use both cores.
    const std::size_t lanes =
        std::min<std::size_t>({entries.size(), 2, std::max(1u, std::thread::hardware_concurrency())});
    std::atomic<std::size_t> next{0};
    std::exception_ptr failure;
    std::mutex failure_mu;
    std::vector<std::thread> threads;
    for (std::size_t l = 0; l < lanes; ++l)
      threads.emplace_back([&] {
        for (std::size_t i = next++; i < entries.size(); i = next++) {
          try {
            run_one(entries[i]);
          } catch (...) {
            std::lock_guard lock(failure_mu);
            if (!failure) failure = std::current_exception();
          }
        }
      });
    for (auto& t : threads) t.join();
    if (failure) std::rethrow_exception(failure);
  } else {
    for (Entry& e : entries) run_one(e);
  }

  std::vector<PolicyOutcome> outcomes;
  bool broke = false;
  for (const Entry& e : entries) {
    outcomes.push_back(outcome_of(e.name, e.result.record, scenario.slo, e.result.broke));
    if (e.result.broke) {
      broke = true;
      err << "flotilla compare: the run under " << e.name << " broke: " << e.result.why << "\n";
    }
  }
  mark_frontier(outcomes);

  if (!out_dir.empty()) {
    for (const Entry& e : entries) {
      const fs::path dir = fs::path(out_dir) / e.folder;
      fs::create_directories(dir);
      write_run_outputs(dir.string(), e.result.record);
    }
    write_text(fs::path(out_dir) / "compare.json", comparison_json(outcomes).dump(2) + "\n");
    std::ostringstream csv;
    write_comparison_csv(csv, outcomes);
    write_text(fs::path(out_dir) / "compare.csv", csv.str());
    std::vector<const RunRecord*> records;
    for (const Entry& e : entries) records.push_back(&e.result.record);
    write_text(fs::path(out_dir) / "compare.html",
               compare_html(scenario.name, scenario.slo, outcomes, records));
  }

  if (options.json) {
    out << comparison_json(outcomes).dump(2) << "\n";
  } else {
    print_comparison(out, scenario.name, scenario.slo, outcomes);
    if (!out_dir.empty()) out << "\nreports: " << out_dir << "\n";
  }
  return broke ? kExitFailed : kExitOk;
}

}  // namespace flotilla
