#include "scaling/decision_log.h"

#include <cmath>
#include <cstdio>

#include "core/format.h"

namespace flotilla {

namespace {

double seconds(Time t, Time origin) { return std::round(to_seconds(t - origin) * 1000) / 1000; }

nlohmann::json optional_int(const std::optional<int>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

nlohmann::json value_json(const std::optional<double>& v) {
  return v ? nlohmann::json(std::round(*v * 1000) / 1000) : nlohmann::json(nullptr);
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

}  // namespace

nlohmann::json decision_record_json(const DecisionRecord& r, Time origin) {
  nlohmann::json policies = nlohmann::json::array();
  for (const PolicyEvaluation& p : r.policies) {
    nlohmann::json points = nlohmann::json::array();
    for (const PeriodValue& v : p.values)
      points.push_back({{"t", seconds(v.end, origin)}, {"value", value_json(v.value)}});
    policies.push_back({{"policy", p.policy},
                        {"type", p.type},
                        {"metric", p.decision.metric},
                        {"datapoints", points},
                        {"rule", p.decision.rule},
                        {"raw", optional_int(p.decision.unclamped)},
                        {"desired", optional_int(p.decision.desired)},
                        {"clamped_by", p.decision.clamped_by},
                        {"reason", p.decision.reason}});
  }
  return {{"t", seconds(r.t, origin)},
          {"period_end", seconds(r.period_end, origin)},
          {"group_cpu", value_json(r.group_cpu)},
          {"desired_before", r.desired_before},
          {"requested", optional_int(r.combined)},
          {"desired_after", r.desired_after},
          {"min_after", optional_int(r.min_after)},
          {"max_after", optional_int(r.max_after)},
          {"clamped_by", r.clamped_by},
          {"reason", r.reason},
          {"policies", policies}};
}

nlohmann::json decisions_json(const std::deque<DecisionRecord>& records, Time origin) {
  auto out = nlohmann::json::array();
  for (const auto& r : records)
    if (r.logged()) out.push_back(decision_record_json(r, origin));
  return out;
}

std::string format_decision_line(const DecisionRecord& r, Time origin) {
  char t[32];
  std::snprintf(t, sizeof t, "%.1fs", to_seconds(r.t - origin));
  return format_decision_line(r, std::string_view(t));
}

std::string format_decision_line(const DecisionRecord& r, std::string_view time) {
  std::string line(time);
  for (const PolicyEvaluation& p : r.policies) {
    const Decision& d = p.decision;
    if (!d.wanted_change(r.desired_before)) continue;
    line += "  " + p.policy;
    if (!d.rule.empty()) line += " [" + d.rule + "]";
    std::string values;
    // The newest three datapoints are enough to read the trend on one line.
    const std::size_t from = p.values.size() > 3 ? p.values.size() - 3 : 0;
    for (std::size_t i = from; i < p.values.size(); ++i)
      values += (values.empty() ? "" : ", ") +
                (p.values[i].value ? format_number(*p.values[i].value) : std::string("-"));
    if (!values.empty()) line += " " + values;
    if (d.unclamped) line += " -> raw " + std::to_string(*d.unclamped);
    if (!d.clamped_by.empty()) line += " (held by " + join(d.clamped_by) + ")";
  }
  line +=
      ": desired " + std::to_string(r.desired_before) + " -> " + std::to_string(r.desired_after);
  if (!r.clamped_by.empty()) line += " (clamped by " + join(r.clamped_by) + ")";
  return line;
}

}  // namespace flotilla
