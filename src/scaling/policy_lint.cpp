#include "scaling/policy_lint.h"

#include "core/duration.h"
#include "core/errors.h"
#include "core/format.h"
#include "core/terminal.h"
#include "metrics/alarm_file.h"
#include "scaling/hpa.h"
#include "scaling/step_scaling.h"
#include "scaling/target_tracking.h"

namespace flotilla {

namespace {

using Severity = LintFinding::Severity;

// Every step problem of a native ("steps": lower/upper) or AWS ("StepAdjustments") document,
// read leniently so that one bad step does not hide the others.
void lint_steps(const nlohmann::json& doc, const std::string& file, std::vector<LintFinding>& out) {
  const bool aws = doc.contains("StepAdjustments");
  const char* key = aws ? "StepAdjustments" : "steps";
  const char* lower_key = aws ? "MetricIntervalLowerBound" : "lower";
  const char* upper_key = aws ? "MetricIntervalUpperBound" : "upper";
  if (!doc.contains(key) || !doc[key].is_array()) return;
  std::vector<StepAdjustment> steps;
  for (const auto& item : doc[key]) {
    StepAdjustment s;
    if (item.is_object()) {
      if (item.contains(lower_key) && item[lower_key].is_number())
        s.lower = item[lower_key].get<double>();
      if (item.contains(upper_key) && item[upper_key].is_number())
        s.upper = item[upper_key].get<double>();
    }
    steps.push_back(s);
  }
  for (const StepProblem& p : check_steps(steps)) {
    std::string pointer = "/" + std::string(key);
    if (!steps.empty()) pointer += "/" + std::to_string(p.step);
    if (p.field == "lower") pointer += "/" + std::string(lower_key);
    if (p.field == "upper") pointer += "/" + std::string(upper_key);
    out.push_back({Severity::error, file, pointer, p.message});
  }
}

bool strict_never_fires(const AlarmConfig& a, std::string& why) {
  if (a.comparison == ComparisonOperator::greater_than_threshold &&
      a.metric.name == kMetricCpuUtilization && a.threshold >= 100) {
    why = "CPUUtilization is a percentage: it is never greater than " + format_number(a.threshold);
    return true;
  }
  if (a.comparison == ComparisonOperator::less_than_threshold && a.threshold <= 0) {
    why = a.metric.name + " is never negative: it is never less than " + format_number(a.threshold);
    return true;
  }
  return false;
}

bool above(const AlarmConfig& a) {
  return a.comparison == ComparisonOperator::greater_than_threshold ||
         a.comparison == ComparisonOperator::greater_than_or_equal_to_threshold;
}

void lint_alarm(const AlarmConfig& a, const std::string& file, std::vector<LintFinding>& out) {
  std::string why;
  if (strict_never_fires(a, why))
    out.push_back({Severity::error, file, "/alarm/ComparisonOperator",
                   "alarm " + a.name + " never fires: " + why});
}

void lint_step_policy(const StepScalingPolicy& p, const std::string& file,
                      std::vector<LintFinding>& out) {
  const AlarmConfig& a = p.alarm();
  lint_alarm(a, file, out);
  const bool up = above(a);
  bool covers_threshold = false;
  for (std::size_t i = 0; i < p.config().steps.size(); ++i) {
    const StepAdjustment& s = p.config().steps[i];
    const std::string at = "/steps/" + std::to_string(i);
    // In ALARM the value is on the breaching side: a step wholly on the other side never matches.
    if ((up && s.upper && *s.upper <= 0) || (!up && s.lower && *s.lower >= 0))
      out.push_back({Severity::warning, file, at,
                     "step " + describe_step(s, up) +
                         " lies on the non-breaching side of the "
                         "alarm threshold: it never matches"});
    if ((up && (!s.lower || *s.lower <= 0) && (!s.upper || *s.upper > 0)) ||
        (!up && (!s.upper || *s.upper >= 0) && (!s.lower || *s.lower < 0)))
      covers_threshold = true;
    const bool adds =
        p.config().adjustment_type != AdjustmentType::exact_capacity && s.adjustment > 0;
    const bool removes =
        p.config().adjustment_type != AdjustmentType::exact_capacity && s.adjustment < 0;
    if ((adds && !up) || (removes && up))
      out.push_back({Severity::warning, file, at + "/adjustment",
                     std::string(adds ? "adds" : "removes") + " capacity when " + a.metric.name +
                         " is " + (up ? "high" : "low") + ": check the alarm's comparison"});
  }
  if (!covers_threshold && !p.config().steps.empty())
    out.push_back({Severity::warning, file, "/steps",
                   "no step starts at the alarm threshold: values just past it match no step"});
}

}  // namespace

std::vector<LintFinding> lint_policy_file(const std::string& path, const LintContext& ctx) {
  std::vector<LintFinding> out;
  nlohmann::json doc;
  try {
    doc = read_policy_document(path);
    if (detect_policy_format(doc, path) == PolicyFormat::aws_alarm) {
      std::string why;
      // An alarm file on its own: its own checks only.
      const AlarmConfig a = parse_alarm(ConfigNode(doc, path));
      if (strict_never_fires(a, why))
        out.push_back({Severity::error, path, "/ComparisonOperator",
                       "alarm " + a.name + " never fires: " + why});
      return out;
    }
  } catch (const UserError& e) {
    out.push_back(error_finding(e, path));
    return out;
  }
  lint_steps(doc, path, out);
  if (!out.empty()) return out;

  std::unique_ptr<ScalingPolicy> policy;
  try {
    policy = load_policy_file(path, ctx.load);
  } catch (const UserError& e) {
    out.push_back(error_finding(e, path));
    return out;
  }

  if (auto* tt = dynamic_cast<TargetTrackingPolicy*>(policy.get())) {
    if (!tt->config().custom && ctx.group_min && *ctx.group_min == 0)
      out.push_back({Severity::error, path, "/metric",
                     tt->metric_display_name() +
                         " comes from the workers: at the group's "
                         "minimum of 0 there is no datapoint and the policy never scales out"});
  } else if (auto* step = dynamic_cast<StepScalingPolicy*>(policy.get())) {
    lint_step_policy(*step, path, out);
  } else if (auto* simple = dynamic_cast<SimpleScalingPolicy*>(policy.get())) {
    lint_alarm(simple->alarm(), path, out);
    if (ctx.boot_time && simple->config().cooldown < *ctx.boot_time)
      out.push_back({Severity::warning, path, "/cooldown",
                     "cooldown " + format_duration(simple->config().cooldown) +
                         " is shorter than the workers' boot time " +
                         format_duration(*ctx.boot_time) +
                         ": the policy acts again before the workers it added serve"});
  } else if (auto* hpa = dynamic_cast<HpaPolicy*>(policy.get())) {
    bool per_worker_only = true;
    for (const auto& m : hpa->config().metrics)
      if (m.type == HpaMetricType::object || m.type == HpaMetricType::external)
        per_worker_only = false;
    const int min = hpa->config().min_replicas.value_or(ctx.group_min.value_or(1));
    if (min == 0 && per_worker_only)
      out.push_back({Severity::error, path, "/min_replicas",
                     "a minimum of 0 with only per-worker metrics (Resource, Pods): with no "
                     "worker there is no datapoint and the HPA never scales out (Kubernetes "
                     "needs an Object or External metric to scale from zero)"});
  }
  return out;
}

LintFinding error_finding(const UserError& e, const std::string& file) {
  return {Severity::error, e.file().empty() ? file : e.file(), e.pointer(),
          e.file().empty() ? e.what() : e.expected()};
}

const char* to_string(LintFinding::Severity severity) {
  return severity == LintFinding::Severity::error ? "error" : "warning";
}

std::string format_finding(const LintFinding& f, bool colour) {
  const Colour severity_colour =
      f.severity == LintFinding::Severity::error ? Colour::red : Colour::yellow;
  return f.file + ": " + (f.pointer.empty() ? "" : f.pointer + ": ") +
         paint(to_string(f.severity), severity_colour, colour) + ": " + f.message;
}

}  // namespace flotilla
