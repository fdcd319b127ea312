#pragma once
// `flotilla policy lint`: mistakes in a policy file that load_policy_file accepts or rejects,
// all of them rather than the first.
//
// Errors (the policy cannot work as written):
// - anything load_policy_file rejects (a bad field, a missing alarm, ...);
// - step adjustments with a gap or an overlap (every one is reported), or bounds AWS rejects;
// - a minimum of 0 with a metric that cannot leave 0: target tracking on a per-worker metric
//   (ASGAverageCPUUtilization, ALBRequestCountPerTarget) when the group's minimum is 0, or an HPA
//   with min_replicas 0 and only per-worker metrics (Resource, Pods): with no worker there is no
//   datapoint, and the policy never scales out again;
// - an alarm with a strict comparison that never fires: GreaterThanThreshold at or above 100 on
//   CPUUtilization (a percentage), LessThanThreshold at or below 0 (metrics are never negative).
// Warnings (it works, but probably not as meant):
// - a simple scaling cooldown shorter than the workers' boot time (known only with a scenario):
//   the policy acts again before the workers it added serve;
// - a step that can never match its alarm (on the non-breaching side of the threshold), or
//   breaching values just past the threshold that match no step;
// - step adjustments that scale the wrong way for their alarm (adding capacity on a low alarm).
#include <optional>
#include <string>
#include <vector>

#include "core/errors.h"
#include "core/time.h"
#include "scaling/policy_file.h"

namespace flotilla {

struct LintFinding {
  enum class Severity { error, warning } severity = Severity::error;
  std::string file;
  std::string pointer;
  std::string message;
};

struct LintContext {
  PolicyLoadOptions load;
  std::optional<int> group_min;       // the scenario's fleet minimum, if known
  std::optional<Duration> boot_time;  // the scenario's worker boot time, if known
};

std::vector<LintFinding> lint_policy_file(const std::string& path, const LintContext& context);
// A user error as an error finding (its own file and field when it names them, else `file`).
LintFinding error_finding(const UserError& error, const std::string& file);
// "error" or "warning".
const char* to_string(LintFinding::Severity severity);
// "policies/x.json: /steps/1/lower: error: gap: ...", the severity in colour (errors red,
// warnings yellow) when `colour`.
std::string format_finding(const LintFinding& finding, bool colour = false);

}  // namespace flotilla
