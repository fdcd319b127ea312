#pragma once
// `flotilla policy import`, `export`, `lint` and `replay`: the logic behind the CLI's subcommands,
// as functions returning the process exit code.
//
// import FILE [--alarm FILE] [--time-scale X] [--json]: prints the native policy JSON equivalent
//   to FILE (AWS put-scaling-policy JSON, an HPA manifest, or a native file as it is), durations
//   multiplied by X (default 1: AWS's seconds as written). The output is that JSON document
//   alone, with or without --json (the flag is there so that every policy command takes it).
//   User mistakes throw UserError.
// export FILE --to aws|hpa [--alarm FILE] [--alarm-out FILE] [--time-scale X]: prints what would
//   be deployed (scaling/policy_export.h), FILE being any policy file that import accepts, its
//   durations at scale X as import would have made them (default 1), written back at AWS's own
//   scale (divided by X).
//   --to aws: standard output is the JSON of `aws autoscaling put-scaling-policy
//     --cli-input-json` alone, for every policy type, so that it can be saved and passed as
//     file://. A step or simple policy's alarm, the JSON of `aws cloudwatch put-metric-alarm
//     --cli-input-json`, goes to the file --alarm-out names (two documents, as the two AWS
//     commands take them: put-scaling-policy first, since it prints the PolicyARN that the
//     alarm's --alarm-actions must name). Without --alarm-out a note on `err` says that the
//     alarm was not written; --alarm-out with a target tracking policy (no alarm) is a mistake.
//   --to hpa: standard output is the autoscaling/v2 HorizontalPodAutoscaler manifest (YAML), for
//     `kubectl apply -f`.
//   Each of ExportedPolicy::notes (what the output lacks or had to guess) is a line on `err`.
//   A field the target format cannot express is a UserError naming it; nothing is written then.
// lint FILE... [--alarm FILE] [--json]: every FILE is a policy, an alarm or a scenario (then each
//   of its policies is linted knowing the fleet's minimum and boot time, at the scenario's time
//   scale). Prints one line per finding (scaling/policy_lint.h), its severity in colour when
//   allowed, and a summary; with --json, a JSON array alone, one object per finding:
//   {"severity" ("error" or "warning"), "policy" (the file the finding is in), "field" (JSON
//   pointer, "" for the whole file), "message"}. Returns 2 if any finding is an error, 0
//   otherwise (warnings only, or none), with or without --json.
// replay POLICY --metric FILE [--capacity N] [--min N] [--max N] [--json]: a dry run of the
//   policy (any file `flotilla run` accepts, durations as written) over a recorded metric
//   (orchestrator/metric_file.h) at the metric's own period, on a group of min..max workers
//   starting at `capacity` (orchestrator/policy_replay.h). Prints a header line, one line per
//   logged decision (the decision log's text form, timed as the file writes its timestamps) and a
//   summary; with --json, {"policy", "type", "metric" (the file), "statistic", "period" (s),
//   "start", "periods", "datapoints", "capacity" {initial, min, max, final}, "decisions"} where
//   `decisions` is report.json's (times in the file's seconds, Unix seconds for RFC 3339
//   timestamps). Returns 0; user mistakes (files, flags) throw UserError.
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace flotilla {

struct PolicyImportOptions {
  std::string file;
  std::string alarm_file;
  double time_scale = 1;
  bool json = false;
};
int policy_import_command(const PolicyImportOptions& options, std::ostream& out);

struct PolicyExportOptions {
  std::string file;
  std::string to;  // "aws" or "hpa"
  std::string alarm_file;
  std::string alarm_out;
  double time_scale = 1;
};
int policy_export_command(const PolicyExportOptions& options, std::ostream& out, std::ostream& err);

struct PolicyLintOptions {
  std::vector<std::string> files;
  std::string alarm_file;
  bool json = false;
  bool colour = false;  // may colour `out` (core/terminal.h); never with json
};
int policy_lint_command(const PolicyLintOptions& options, std::ostream& out);

struct PolicyReplayOptions {
  std::string policy_file;
  std::string metric_file;
  int min = 1;
  int max = 10;
  std::optional<int> capacity;  // default: min
  bool json = false;
};
int policy_replay_command(const PolicyReplayOptions& options, std::ostream& out);

}  // namespace flotilla
