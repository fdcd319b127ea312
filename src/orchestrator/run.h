#pragma once
// `flotilla run`: one scenario, live (real workers, the real balancer) or with --sim in virtual
// time (scenario_run.h), then its expectations, report.json, timeseries.csv and the summary.
// Returns the process exit code (0: every expectation held; 1: one failed or the run broke, and
// the JUnit file says which). User mistakes throw flotilla::UserError.
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace flotilla {

struct RunRecord;

struct RunOptions {
  std::string scenario_path;
  std::string out_dir;                // empty: runs/<name>-<time>/
  std::optional<std::uint64_t> seed;  // overrides the scenario's
  bool quiet = false;                 // no live progress line
  bool simulated = false;             // --sim: virtual time, modelled workers
  std::string worker_executable;      // empty: flotilla-worker beside this executable
  // --junit: also write the expectations as JUnit XML test cases here (report.h); empty: no.
  std::string junit_path;
  bool colour = false;  // may colour the summary on `out` (core/terminal.h)
};

int run_scenario(const RunOptions& options, std::ostream& out);

// The flotilla-worker executable beside the running flotilla binary (/proc/self/exe).
std::string default_worker_executable();

// The output folder of run or serve: "runs/<name>-<UTC time>" unless `dir` is given, created at
// once (UserError naming --out if it cannot be) so that a bad --out costs nothing. The folders
// it created are removed again when it goes while they are still empty: a command refused after
// that (a port in use, a worker that cannot start) leaves nothing behind.
class OutputFolder {
 public:
  OutputFolder(const std::string& dir, const std::string& name);
  ~OutputFolder();
  OutputFolder(const OutputFolder&) = delete;
  OutputFolder& operator=(const OutputFolder&) = delete;

  const std::string& path() const { return path_; }

 private:
  void remove_created();

  std::string path_;
  std::vector<std::string> created_;  // deepest first
};
// report.json, timeseries.csv and report.html of `record` into `dir` (UserError if one cannot be
// written). All three or none: they are written into a folder of their own inside `dir` and
// moved into place once they all are.
void write_run_outputs(const std::string& dir, const RunRecord& record);
// The wall clock in UTC, e.g. utc_stamp("%Y-%m-%dT%H:%M:%SZ").
std::string utc_stamp(const char* format);

}  // namespace flotilla
