#include "orchestrator/policy_command.h"

#include <ostream>

#include "core/config.h"
#include "core/errors.h"
#include "scaling/policy_file.h"
#include "scaling/policy_lint.h"
#include "scenario/scenario.h"
#include "worker/profile.h"

namespace flotilla {

int policy_import_command(const PolicyImportOptions& options, std::ostream& out) {
  PolicyLoadOptions load;
  load.time_scale = options.time_scale;
  load.alarm_file = options.alarm_file;
  const nlohmann::json native = native_policy_json(options.file, load);
  // Parsing it back proves the output is a policy Flotilla accepts.
  parse_policy(ConfigNode(native, options.file), load);
  out << native.dump(2) << "\n";
  return kExitOk;
}

namespace {

bool is_scenario(const std::string& path) {
  const nlohmann::json doc = read_policy_document(path);
  return doc.is_object() && doc.contains("traffic");
}

}  // namespace

int policy_lint_command(const PolicyLintOptions& options, std::ostream& out) {
  std::vector<LintFinding> findings;
  auto lint = [&](const std::string& path, const LintContext& ctx) {
    for (auto& f : lint_policy_file(path, ctx)) findings.push_back(std::move(f));
  };
  for (const std::string& file : options.files) {
    LintContext ctx;
    ctx.load.alarm_file = options.alarm_file;
    bool scenario = false;
    try {
      scenario = is_scenario(file);
    } catch (const UserError& e) {
      findings.push_back(error_finding(e, file));
      continue;
    }
    if (!scenario) {
      lint(file, ctx);
      continue;
    }
    try {
      const Scenario s = load_scenario(file);
      ctx.load.time_scale = s.effective_time_scale();
      ctx.group_min = s.fleet.min;
      ctx.boot_time = load_worker_profile(s.fleet.profile).boot_time;
      for (const std::string& policy : s.policies) lint(policy, ctx);
    } catch (const UserError& e) {
      findings.push_back(error_finding(e, file));
    }
  }
  int errors = 0, warnings = 0;
  for (const LintFinding& f : findings) {
    out << format_finding(f) << "\n";
    (f.severity == LintFinding::Severity::error ? errors : warnings)++;
  }
  out << options.files.size() << " file" << (options.files.size() == 1 ? "" : "s") << ": " << errors
      << " error" << (errors == 1 ? "" : "s") << ", " << warnings << " warning"
      << (warnings == 1 ? "" : "s") << "\n";
  return errors > 0 ? kExitUsage : kExitOk;
}

}  // namespace flotilla
