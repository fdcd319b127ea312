#pragma once
// Combining the decisions of several scaling policies on one group into one change of desired
// capacity, as EC2 Auto Scaling combines several policies on one Auto Scaling group. A pure
// function of its arguments; ScalingLoop applies the result.
//
// The rule, in order:
// 1. Scheduled actions (a decision with new limits or Decision::overrides) come first: their
//    limits apply in policy order, and the last one's desired capacity, when it sets one, is
//    taken as is. The other policies saw the old limits, so their results wait for the next
//    evaluation.
// 2. Otherwise each policy that triggers in this evaluation gives a capacity, and the largest
//    wins, out and in alike (AWS: the policy that provides the largest capacity). Ties go to the
//    earlier policy. A policy triggers when its decision asks for a capacity other than the
//    current desired one, except a tracking policy's scale-in (PolicyRole::tracking), which
//    triggers only when every tracking policy that may scale in asks for less too (AWS scales
//    in on target tracking only when all its target tracking policies are ready to). So a
//    tracking policy with no opinion (within its band, missing data, held by warm-up or
//    cooldown) holds back the other tracking policies' scale-in and nothing else; one that may
//    not scale in (ScalingPolicy::may_scale_in) has no say; a step or simple policy's scale-in
//    is never held back by another policy.
// 3. No policy triggered: no change.
//
// Threading: none (a pure function).
#include <optional>
#include <string>
#include <vector>

#include "scaling/group_state.h"
#include "scaling/scaling_policy.h"

namespace flotilla {

// One policy's evaluation in one tick: who it is, what kind of say it has, what it decided.
struct PolicyEvaluation {
  std::string policy;
  std::string type;
  PolicyRole role = PolicyRole::alarm;
  bool may_scale_in = true;
  // The datapoints decide() used (Decision::datapoints), else the first requested metric's
  // periods as decide() saw them (for the decision log).
  std::vector<PeriodValue> values;
  Decision decision;  // the raw result
};

enum class CombineRule {
  no_policies,     // nothing to combine: no change
  scheduled,       // step 1: a scheduled action, as is
  largest,         // step 2: the largest capacity of the policies that triggered
  none_triggered,  // step 3: no change
};

// New limits a scheduled action sets, with the cause its activity records.
struct LimitChange {
  int min = 0;
  int max = 0;
  std::string cause;
};

struct CombinedDecision {
  CombineRule rule = CombineRule::no_policies;
  std::optional<int> desired;       // the capacity asked for; nullopt: no change
  std::vector<LimitChange> limits;  // scheduled actions' new limits, in policy order
  std::string winner;               // the policy whose result was taken; empty: none
  // Rule largest or none_triggered: the policies that triggered (in policy order), the tracking
  // policies whose scale-in was held back, and the tracking policies that may scale in but did
  // not ask for less (what held them back).
  std::vector<std::string> triggered;
  std::vector<std::string> held;
  std::vector<std::string> not_agreeing;
  // kClampOtherPolicies when a held-back scale-in would otherwise have been the result (it asked
  // for more capacity than the winner, or nothing else triggered).
  std::vector<std::string> clamped_by;
  // "<winner>: <its reason>", or every policy's "<name>: <reason>" when none won; with several
  // policies, also which rule applied. With one policy, exactly that policy's words.
  std::string reason;
};

// `group` gives the current desired capacity and limits (nothing else is read).
CombinedDecision combine_decisions(const GroupState& group,
                                   const std::vector<PolicyEvaluation>& evaluations);

}  // namespace flotilla
