#include <doctest/doctest.h>

#include <deque>
#include <string>

#include "scaling/decision_log.h"

using namespace flotilla;

namespace {

DecisionRecord record(int before, std::optional<int> combined, int after) {
  DecisionRecord r;
  r.t = std::chrono::seconds(131);
  r.period_end = std::chrono::seconds(130);
  r.group_cpu = 80;
  r.desired_before = before;
  r.combined = combined;
  r.desired_after = after;
  PolicyEvaluation p;
  p.policy = "cpu";
  p.type = "target_tracking";
  p.values = {{std::chrono::seconds(120), 75.0}, {std::chrono::seconds(130), std::nullopt}};
  p.decision.rule = "3 of 3 periods > 50";
  p.decision.metric = "AWS/EC2 CPUUtilization{AutoScalingGroupName=g} Average";
  p.decision.unclamped = 8;
  p.decision.desired = combined;
  p.decision.reason = "why";
  r.policies = {p};
  r.reason = "cpu: why";
  return r;
}

}  // namespace

TEST_CASE("Decision log: which records are logged") {
  struct Row {
    const char* name;
    DecisionRecord r;
    bool logged;
  };
  DecisionRecord quiet = record(2, std::nullopt, 2);
  quiet.policies[0].decision.unclamped = 2;  // asked for what it has
  DecisionRecord held = record(2, std::nullopt, 2);
  held.policies[0].decision.unclamped = 2;
  held.policies[0].decision.clamped_by = {"cooldown"};
  const Row rows[] = {
      {"changed", record(2, 5, 5), true},
      {"wanted more than it got", record(5, std::nullopt, 5), true},
      {"nothing wanted", quiet, false},
      {"held back", held, true},
  };
  for (const Row& r : rows) {
    CAPTURE(std::string(r.name));
    CHECK(r.r.logged() == r.logged);
  }
}

TEST_CASE("Decision log: JSON and the readable line") {
  DecisionRecord r = record(2, 8, 5);
  r.clamped_by = {"max"};
  const auto j = decision_record_json(r, std::chrono::seconds(100));
  CHECK(j["t"] == 31.0);
  CHECK(j["period_end"] == 30.0);
  CHECK(j["requested"] == 8);
  CHECK(j["desired_after"] == 5);
  CHECK(j["clamped_by"] == nlohmann::json::array({"max"}));
  const auto& p = j["policies"][0];
  CHECK(p["rule"] == "3 of 3 periods > 50");
  CHECK(p["raw"] == 8);
  CHECK(p["datapoints"][0] == nlohmann::json({{"t", 20.0}, {"value", 75.0}}));
  CHECK(p["datapoints"][1]["value"].is_null());
  CHECK(format_decision_line(r, std::chrono::seconds(100)) ==
        "31.0s  cpu [3 of 3 periods > 50] 75, - -> raw 8: desired 2 -> 5 (clamped by max)");
  std::deque<DecisionRecord> records = {record(2, std::nullopt, 2), r};
  records[0].policies[0].decision.unclamped = 2;
  CHECK(decisions_json(records, Time::zero()).size() == 1);
}
