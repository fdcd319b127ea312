#include "orchestrator/policy_command.h"

#include <algorithm>
#include <fstream>
#include <ostream>

#include "core/config.h"
#include "core/duration.h"
#include "core/errors.h"
#include "core/format.h"
#include "orchestrator/metric_file.h"
#include "orchestrator/policy_replay.h"
#include "orchestrator/scenario_system.h"
#include "scaling/decision_log.h"
#include "scaling/policy_export.h"
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

int policy_export_command(const PolicyExportOptions& options, std::ostream& out,
                          std::ostream& err) {
  const auto to = parse_export_target(options.to);
  if (!to) throw UserError("--to: expected aws or hpa, got \"" + options.to + "\"");
  if (!(options.time_scale > 0))
    throw UserError("--time-scale: expected a number above 0, got " +
                    format_number(options.time_scale, 6));
  PolicyLoadOptions load;
  load.time_scale = options.time_scale;
  load.alarm_file = options.alarm_file;
  const ExportedPolicy exported = export_policy(load_policy_export_input(options.file, load), *to);
  if (!options.alarm_out.empty()) {
    if (!exported.alarm)
      throw UserError(
          "--alarm-out: expected a step or simple scaling policy exported --to aws "
          "(only they have an alarm), got " +
          options.file);
    std::ofstream file(options.alarm_out);
    file << *exported.alarm;
    if (!file.flush())
      throw UserError("--alarm-out: expected a file that can be written, got " + options.alarm_out);
  } else if (exported.alarm) {
    err << "flotilla: the policy's alarm " << exported.alarm_name
        << " is not written: pass --alarm-out FILE for its put-metric-alarm JSON\n";
  }
  for (const std::string& note : exported.notes) err << "flotilla: note: " << note << "\n";
  out << exported.policy;
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
      ctx.boot_time = fleet_profile(s).boot_time;
      for (const std::string& policy : s.policies) lint(policy, ctx);
    } catch (const UserError& e) {
      findings.push_back(error_finding(e, file));
    }
  }
  int errors = 0, warnings = 0;
  for (const LintFinding& f : findings)
    (f.severity == LintFinding::Severity::error ? errors : warnings)++;
  const int code = errors > 0 ? kExitUsage : kExitOk;
  if (options.json) {
    nlohmann::json list = nlohmann::json::array();
    for (const LintFinding& f : findings)
      list.push_back({{"severity", to_string(f.severity)},
                      {"policy", f.file},
                      {"field", f.pointer},
                      {"message", f.message}});
    out << list.dump(2) << "\n";
    return code;
  }
  for (const LintFinding& f : findings) out << format_finding(f, options.colour) << "\n";
  out << options.files.size() << " file" << (options.files.size() == 1 ? "" : "s") << ": " << errors
      << " error" << (errors == 1 ? "" : "s") << ", " << warnings << " warning"
      << (warnings == 1 ? "" : "s") << "\n";
  return code;
}

namespace {

ReplayCapacity replay_capacity(const PolicyReplayOptions& options) {
  ReplayCapacity c;
  c.min = options.min;
  c.max = options.max;
  c.capacity = options.capacity.value_or(options.min);
  if (c.min < 0) throw UserError("--min: expected a number >= 0, got " + std::to_string(c.min));
  if (c.max < 1 || c.max < c.min)
    throw UserError("--max: expected a number >= 1 and >= --min (" + std::to_string(c.min) +
                    "), got " + std::to_string(c.max));
  if (c.capacity < c.min || c.capacity > c.max)
    throw UserError("--capacity: expected a number from --min (" + std::to_string(c.min) +
                    ") to --max (" + std::to_string(c.max) + "), got " +
                    std::to_string(c.capacity));
  return c;
}

}  // namespace

int policy_replay_command(const PolicyReplayOptions& options, std::ostream& out) {
  const ReplayCapacity capacity = replay_capacity(options);
  std::unique_ptr<ScalingPolicy> policy = load_policy_file(options.policy_file, time_scaled(1));
  const std::string name = policy->name();
  const std::string type = policy->type();
  const RecordedMetric metric = load_recorded_metric(options.metric_file);
  const auto replay = replay_recorded_metric(std::move(policy), metric, capacity);
  const auto& records = replay->loop().records();
  const int final_desired = replay->group().desired();

  if (options.json) {
    nlohmann::json doc = {{"policy", name},
                          {"type", type},
                          {"metric", metric.file},
                          {"statistic", metric.statistic},
                          {"period", to_seconds(metric.period)},
                          {"start", metric.format_time(metric.start)},
                          {"periods", metric.values.size()},
                          {"datapoints", metric.datapoints()},
                          {"capacity",
                           {{"initial", capacity.capacity},
                            {"min", capacity.min},
                            {"max", capacity.max},
                            {"final", final_desired}}},
                          {"decisions", decisions_json(records, recorded_time_origin(metric))}};
    out << doc.dump(2) << "\n";
    return kExitOk;
  }

  out << "replaying " << name << " (" << type << ") over " << metric.file << ": "
      << metric.values.size() << " periods of " << format_duration(metric.period) << " from "
      << metric.format_time(metric.start) << " (" << metric.datapoints() << " with a "
      << metric.statistic << "); capacity " << capacity.capacity << ", min " << capacity.min
      << ", max " << capacity.max << "\n";
  int decisions = 0, highest = capacity.capacity, lowest = capacity.capacity;
  for (const DecisionRecord& r : records) {
    if (!r.logged()) continue;
    ++decisions;
    highest = std::max(highest, r.desired_after);
    lowest = std::min(lowest, r.desired_after);
    out << format_decision_line(r, recorded_time_label(metric, r.t)) << "\n";
  }
  out << decisions << " decision" << (decisions == 1 ? "" : "s") << "; desired capacity "
      << capacity.capacity << " at the start, " << final_desired << " at the end (" << lowest
      << " to " << highest << ")\n";
  return kExitOk;
}

}  // namespace flotilla
