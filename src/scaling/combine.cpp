#include "scaling/combine.h"

#include <algorithm>

#include "core/format.h"

namespace flotilla {

namespace {

std::string said(const PolicyEvaluation& ev) { return ev.policy + ": " + ev.decision.reason; }

// The capacity the decision asks for, if it differs from `current`.
std::optional<int> asks(const PolicyEvaluation& ev, int current) {
  const auto& d = ev.decision.desired;
  if (!d || *d == current) return std::nullopt;
  return d;
}

}  // namespace

CombinedDecision combine_decisions(const GroupState& group,
                                   const std::vector<PolicyEvaluation>& evaluations) {
  CombinedDecision out;
  if (evaluations.empty()) {
    out.reason = "no scaling policies";
    return out;
  }
  const bool several = evaluations.size() > 1;

  const PolicyEvaluation* scheduled = nullptr;
  int min = group.min;
  int max = group.max;
  for (const PolicyEvaluation& ev : evaluations) {
    const Decision& d = ev.decision;
    if (!d.min && !d.max && !d.overrides) continue;
    scheduled = &ev;
    if (d.min || d.max) {
      min = d.min.value_or(min);
      max = std::max(d.max.value_or(max), min);
      out.limits.push_back({min, max, said(ev)});
    }
  }
  if (scheduled) {
    out.rule = CombineRule::scheduled;
    out.winner = scheduled->policy;
    out.desired = scheduled->decision.desired;
    out.reason = said(*scheduled);
    if (several) out.reason += "; a scheduled action applies as is, the others act next time";
    return out;
  }

  const int current = group.desired;
  for (const PolicyEvaluation& ev : evaluations) {
    if (ev.role != PolicyRole::tracking || !ev.may_scale_in) continue;
    const auto want = asks(ev, current);
    if (!want || *want > current) out.not_agreeing.push_back(ev.policy);
  }
  const PolicyEvaluation* best = nullptr;
  std::optional<int> best_held;
  std::vector<std::string> capacities;   // "a 6" per policy that triggered
  std::vector<std::string> held_wishes;  // "c 3" per held-back scale-in
  for (const PolicyEvaluation& ev : evaluations) {
    const auto want = asks(ev, current);
    if (!want) continue;
    const std::string wish = ev.policy + " " + std::to_string(*want);
    if (ev.role == PolicyRole::tracking && *want < current && !out.not_agreeing.empty()) {
      out.held.push_back(ev.policy);
      held_wishes.push_back(wish);
      best_held = std::max(best_held.value_or(*want), *want);
      continue;
    }
    out.triggered.push_back(ev.policy);
    capacities.push_back(wish);
    if (!best || *want > *best->decision.desired) best = &ev;
  }
  if (best_held && (!best || *best_held > *best->decision.desired))
    out.clamped_by.push_back(kClampOtherPolicies);
  const std::string held_note = "tracking scale-in (" + join(held_wishes) +
                                ") needs every tracking policy that may scale in to agree, and " +
                                join(out.not_agreeing) + " did not";

  if (best) {
    out.rule = CombineRule::largest;
    out.winner = best->policy;
    out.desired = best->decision.desired;
    out.reason = said(*best);
    if (several) {
      out.reason +=
          capacities.size() == 1
              ? "; the only policy that triggered"
              : "; the largest capacity of the policies that triggered (" + join(capacities) + ")";
      if (!out.clamped_by.empty()) out.reason += "; " + held_note;
    }
    return out;
  }
  out.rule = CombineRule::none_triggered;
  if (several) out.reason = out.held.empty() ? "no policy triggered; " : held_note + "; ";
  for (std::size_t i = 0; i < evaluations.size(); ++i)
    out.reason += (i > 0 ? "; " : "") + said(evaluations[i]);
  return out;
}

}  // namespace flotilla
