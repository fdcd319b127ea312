#include "scaling/combine.h"

#include <doctest/doctest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "policy_test_support.h"
#include "scaling/hpa.h"
#include "scaling/scheduled.h"
#include "scaling/step_scaling.h"
#include "scaling/target_tracking.h"

using namespace flotilla;
using flotilla::testing::make_group;

namespace {

constexpr PolicyRole kTracking = PolicyRole::tracking;
constexpr PolicyRole kAlarm = PolicyRole::alarm;
constexpr PolicyRole kScheduled = PolicyRole::scheduled;
constexpr auto kNone = std::nullopt;

// One policy's evaluation as a table cell. A scheduled one with something to do overrides, as
// decide_scheduled's decisions do.
struct P {
  const char* name;
  PolicyRole role;
  std::optional<int> desired;
  bool may_scale_in = true;
  std::optional<int> min = std::nullopt;
  std::optional<int> max = std::nullopt;
};

PolicyEvaluation evaluation(const P& p) {
  PolicyEvaluation ev;
  ev.policy = p.name;
  ev.type = p.role == kTracking ? "target_tracking"
            : p.role == kAlarm  ? "step_scaling"
                                : "scheduled";
  ev.role = p.role;
  ev.may_scale_in = p.may_scale_in;
  Decision& d = ev.decision;
  d.desired = p.desired;
  d.unclamped = p.desired;
  d.min = p.min;
  d.max = p.max;
  d.overrides = p.role == kScheduled && (p.desired || p.min || p.max);
  d.reason = p.desired ? "wants " + std::to_string(*p.desired) : "no opinion";
  return ev;
}

using Names = std::vector<std::string>;

// New limits expected from a scheduled action, and the policy that set them.
struct LimitRow {
  int min;
  int max;
  const char* by;
};

}  // namespace

TEST_CASE("combine_decisions: AWS's rule for several policies, one row per edge case") {
  // The group: desired 4 within [1, 8].
  struct Row {
    const char* name;
    std::vector<P> policies;
    CombineRule rule;
    std::optional<int> want;
    const char* winner;
    bool held_back;      // kClampOtherPolicies
    const char* reason;  // a part of the combined reason
    Names held = {};
    std::vector<LimitRow> limits = {};
  };
  const Row rows[] = {
      {"no policies: no change",
       {},
       CombineRule::no_policies,
       kNone,
       "",
       false,
       "no scaling policies"},
      {"one policy: its own words",
       {{"a", kTracking, 6}},
       CombineRule::largest,
       6,
       "a",
       false,
       "a: wants 6"},
      {"one tracking policy scales in alone (it agrees with itself)",
       {{"a", kTracking, 2}},
       CombineRule::largest,
       2,
       "a",
       false,
       "a: wants 2"},
      {"one policy without an opinion: no change",
       {{"a", kTracking, kNone}},
       CombineRule::none_triggered,
       kNone,
       "",
       false,
       "a: no opinion"},
      {"several without an opinion: no change, and the rule says so",
       {{"a", kTracking, kNone}, {"b", kAlarm, kNone}},
       CombineRule::none_triggered,
       kNone,
       "",
       false,
       "no policy triggered; a: no opinion; b: no opinion"},
      {"out beats in",
       {{"a", kTracking, 2}, {"b", kTracking, 6}},
       CombineRule::largest,
       6,
       "b",
       false,
       "b: wants 6; the only policy that triggered",
       {"a"}},
      {"two out: the largest wins",
       {{"a", kAlarm, 5}, {"b", kTracking, 7}},
       CombineRule::largest,
       7,
       "b",
       false,
       "b: wants 7; the largest capacity of the policies that triggered (a 5, b 7)"},
      {"two tracking in: the largest (the smaller removal) wins",
       {{"a", kTracking, 2}, {"b", kTracking, 3}},
       CombineRule::largest,
       3,
       "b",
       false,
       "(a 2, b 3)"},
      {"in across types: the largest wins, here the tracking one",
       {{"a", kAlarm, 2}, {"b", kTracking, 3}},
       CombineRule::largest,
       3,
       "b",
       false,
       "b: wants 3"},
      {"in across types: the largest wins, here the step one",
       {{"a", kAlarm, 3}, {"b", kTracking, 2}},
       CombineRule::largest,
       3,
       "a",
       false,
       "a: wants 3"},
      {"equal capacities: the earlier policy",
       {{"a", kAlarm, 6}, {"b", kTracking, 6}},
       CombineRule::largest,
       6,
       "a",
       false,
       "a: wants 6"},
      {"tracking in, another tracking without an opinion: held back",
       {{"a", kTracking, 2}, {"b", kTracking, kNone}},
       CombineRule::none_triggered,
       kNone,
       "",
       true,
       "tracking scale-in (a 2) needs every tracking policy that may scale in to agree, and b "
       "did not; a: wants 2; b: no opinion",
       {"a"}},
      {"tracking in, the other tracking policy has no data: held back (missing data is no "
       "opinion)",
       {{"a", kTracking, 3}, {"b", kTracking, kNone}, {"c", kTracking, 2}},
       CombineRule::none_triggered,
       kNone,
       "",
       true,
       "tracking scale-in (a 3, c 2)",
       {"a", "c"}},
      {"tracking asking for the current capacity does not agree to scale in",
       {{"a", kTracking, 4}, {"b", kTracking, 2}},
       CombineRule::none_triggered,
       kNone,
       "",
       true,
       "and a did not",
       {"b"}},
      {"a step policy asking for the current capacity did not trigger and blocks nothing",
       {{"a", kAlarm, 4}, {"b", kTracking, 2}},
       CombineRule::largest,
       2,
       "b",
       false,
       "b: wants 2; the only policy that triggered"},
      {"an idle tracking policy does not block a step scale-in (the old rule did)",
       {{"a", kAlarm, 3}, {"b", kTracking, kNone}},
       CombineRule::largest,
       3,
       "a",
       false,
       "a: wants 3; the only policy that triggered"},
      {"a step policy whose alarm has no data blocks nothing",
       {{"a", kAlarm, kNone}, {"b", kTracking, 2}},
       CombineRule::largest,
       2,
       "b",
       false,
       "b: wants 2"},
      {"disable_scale_in: no say in another tracking policy's scale-in",
       {{"a", kTracking, 2}, {"b", kTracking, kNone, false}},
       CombineRule::largest,
       2,
       "a",
       false,
       "a: wants 2"},
      {"HPA with scale-down Disabled: no say either",
       {{"hpa", kTracking, kNone, false}, {"b", kTracking, 3}},
       CombineRule::largest,
       3,
       "b",
       false,
       "b: wants 3"},
      {"disable_scale_in tracking and a step scale-in: the step goes through",
       {{"cpu", kTracking, kNone, false}, {"low", kAlarm, 3}},
       CombineRule::largest,
       3,
       "low",
       false,
       "low: wants 3"},
      {"a tracking scale-in without a say still needs the others' agreement",
       {{"hpa", kTracking, 3, false}, {"b", kTracking, kNone}},
       CombineRule::none_triggered,
       kNone,
       "",
       true,
       "and b did not",
       {"hpa"}},
      {"held tracking scale-in above the step's: the step wins, and the hold is reported",
       {{"a", kTracking, 3}, {"b", kTracking, kNone}, {"c", kAlarm, 2}},
       CombineRule::largest,
       2,
       "c",
       true,
       "c: wants 2; the only policy that triggered; tracking scale-in (a 3) needs every "
       "tracking policy that may scale in to agree, and b did not",
       {"a"}},
      {"held tracking scale-in below the step's: it would have lost anyway, not reported",
       {{"a", kTracking, 2}, {"b", kTracking, kNone}, {"c", kAlarm, 3}},
       CombineRule::largest,
       3,
       "c",
       false,
       "c: wants 3; the only policy that triggered",
       {"a"}},
      {"step out while tracking policies agree to scale in: out wins",
       {{"a", kTracking, 2}, {"b", kTracking, 3}, {"c", kAlarm, 5}},
       CombineRule::largest,
       5,
       "c",
       false,
       "(a 2, b 3, c 5)"},
      {"scheduled desired overrides a larger scale-out",
       {{"a", kTracking, 8}, {"s", kScheduled, 2}},
       CombineRule::scheduled,
       2,
       "s",
       false,
       "s: wants 2; a scheduled action applies as is, the others act next time"},
      {"scheduled limits without desired: no change of desired, the others wait",
       {{"a", kTracking, 8}, {"s", kScheduled, kNone, true, kNone, 3}},
       CombineRule::scheduled,
       kNone,
       "s",
       false,
       "s: no opinion",
       {},
       {{1, 3, "s"}}},
      {"one scheduled action alone: its own words",
       {{"s", kScheduled, 6, true, 5, kNone}},
       CombineRule::scheduled,
       6,
       "s",
       false,
       "s: wants 6",
       {},
       {{5, 8, "s"}}},
      {"two scheduled actions: limits in order (max follows a larger min), the last desired",
       {{"s", kScheduled, 3, true, kNone, 3}, {"t", kScheduled, 5, true, 5, kNone}},
       CombineRule::scheduled,
       5,
       "t",
       false,
       "t: wants 5",
       {},
       {{1, 3, "s"}, {5, 5, "t"}}},
      {"a scheduled policy with nothing due blocks nothing",
       {{"s", kScheduled, kNone}, {"a", kTracking, 2}},
       CombineRule::largest,
       2,
       "a",
       false,
       "a: wants 2"},
  };
  const GroupState group = make_group(4, 1, 8, 4);
  for (const Row& r : rows) {
    const std::string row = r.name;
    CAPTURE(row);
    std::vector<PolicyEvaluation> evs;
    for (const P& p : r.policies) evs.push_back(evaluation(p));
    const CombinedDecision c = combine_decisions(group, evs);
    CAPTURE(c.reason);
    CHECK(c.rule == r.rule);
    CHECK(c.desired == r.want);
    CHECK(c.winner == r.winner);
    CHECK(c.clamped_by == (r.held_back ? Names{kClampOtherPolicies} : Names{}));
    CHECK(c.reason.find(r.reason) != std::string::npos);
    CHECK(c.held == r.held);
    REQUIRE(c.limits.size() == r.limits.size());
    for (std::size_t i = 0; i < c.limits.size(); ++i) {
      CHECK(c.limits[i].min == r.limits[i].min);
      CHECK(c.limits[i].max == r.limits[i].max);
      CHECK(c.limits[i].cause.find(std::string(r.limits[i].by) + ": ") == 0);
    }
  }
}

TEST_CASE("combine_decisions: one policy's result keeps exactly its own words") {
  // The decision log and the golden files of single policies read the same as before.
  const GroupState group = make_group(4, 1, 8, 4);
  for (const P& p : {P{"a", kTracking, 6}, P{"a", kAlarm, kNone}, P{"a", kScheduled, 2}}) {
    const CombinedDecision c = combine_decisions(group, {evaluation(p)});
    CHECK(c.reason == "a: " + evaluation(p).decision.reason);
  }
}

TEST_CASE("combine_decisions: the policies that triggered and the ones that did not agree") {
  const GroupState group = make_group(4, 1, 8, 4);
  std::vector<PolicyEvaluation> evs;
  for (const P& p : {P{"a", kTracking, 3}, P{"b", kTracking, kNone}, P{"c", kAlarm, 2},
                     P{"d", kTracking, 6, false}, P{"e", kTracking, kNone, false}})
    evs.push_back(evaluation(p));
  const CombinedDecision c = combine_decisions(group, evs);
  CHECK(c.triggered == Names{"c", "d"});
  CHECK(c.not_agreeing == Names{"b"});  // d asks for more but may not scale in: no say
  CHECK(c.held == Names{"a"});
  CHECK(c.winner == "d");
  CHECK(c.desired == 6);
}

TEST_CASE("every policy type states its say: role and may_scale_in") {
  TargetTrackingConfig out_only;
  out_only.disable_scale_in = true;
  HpaConfig hpa_no_down;
  hpa_no_down.scale_down.select = HpaSelect::disabled;
  HpaConfig hpa_no_up;  // only scale-up Disabled: it may still scale in
  hpa_no_up.scale_up.select = HpaSelect::disabled;
  struct Row {
    const char* name;
    std::unique_ptr<ScalingPolicy> policy;
    PolicyRole role;
    bool may_scale_in;
  };
  Row rows[] = {
      {"target tracking", std::make_unique<TargetTrackingPolicy>(TargetTrackingConfig{}), kTracking,
       true},
      {"target tracking with disable_scale_in", std::make_unique<TargetTrackingPolicy>(out_only),
       kTracking, false},
      {"HPA", std::make_unique<HpaPolicy>(HpaConfig{}), kTracking, true},
      {"HPA with scale-down Disabled", std::make_unique<HpaPolicy>(hpa_no_down), kTracking, false},
      {"HPA with scale-up Disabled", std::make_unique<HpaPolicy>(hpa_no_up), kTracking, true},
      {"step scaling", std::make_unique<StepScalingPolicy>(StepScalingConfig{}, AlarmConfig{}),
       kAlarm, true},
      {"simple scaling",
       std::make_unique<SimpleScalingPolicy>(SimpleScalingConfig{}, AlarmConfig{}), kAlarm, true},
      {"scheduled", std::make_unique<ScheduledPolicy>(ScheduledConfig{}), kScheduled, true},
  };
  for (const Row& r : rows) {
    const std::string row = r.name;
    CAPTURE(row);
    CHECK(r.policy->role() == r.role);
    CHECK(r.policy->may_scale_in() == r.may_scale_in);
  }
}
