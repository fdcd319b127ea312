#pragma once
// `flotilla policy import` and `flotilla policy lint`: the logic behind the CLI's subcommands,
// as functions returning the process exit code.
//
// import FILE [--alarm FILE] [--time-scale X]: prints the native policy JSON equivalent to FILE
//   (AWS put-scaling-policy JSON, an HPA manifest, or a native file as it is), durations
//   multiplied by X (default 1: AWS's seconds as written). User mistakes throw UserError.
// lint FILE... [--alarm FILE]: every FILE is a policy, an alarm or a scenario (then each of its
//   policies is linted knowing the fleet's minimum and boot time, at the scenario's time scale).
//   Prints one line per finding (scaling/policy_lint.h) and a summary; returns 2 if any finding
//   is an error, 0 otherwise (warnings only, or none).
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace flotilla {

struct PolicyImportOptions {
  std::string file;
  std::string alarm_file;
  double time_scale = 1;
};
int policy_import_command(const PolicyImportOptions& options, std::ostream& out);

struct PolicyLintOptions {
  std::vector<std::string> files;
  std::string alarm_file;
};
int policy_lint_command(const PolicyLintOptions& options, std::ostream& out);

}  // namespace flotilla
