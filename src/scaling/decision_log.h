#pragma once
// The decision log: the scaling loop's records as report.json's `decisions` and as short
// readable lines for `flotilla run`. Only records that changed desired capacity or that a policy
// wanted to change (DecisionRecord::logged) are kept. Times are seconds since `origin`.
//
// A record's JSON:
//   { "t": 31.0, "period_end": 30.0, "group_cpu": 80, "desired_before": 2, "requested": 4,
//     "desired_after": 4, "min_after": null, "max_after": null, "clamped_by": [],
//     "reason": "cpu-target: ...",
//     "policies": [ { "policy": "cpu-target", "type": "target_tracking",
//                     "metric": "AWS/EC2 CPUUtilization{AutoScalingGroupName=g} Average",
//                     "datapoints": [ {"t": 20.0, "value": 72.5}, {"t": 30.0, "value": null} ],
//                     "rule": "3 of 3 periods > 50", "raw": 4, "desired": 4,
//                     "clamped_by": [], "reason": "..." } ] }
#include <deque>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "scaling/scaling_loop.h"

namespace flotilla {

nlohmann::json decision_record_json(const DecisionRecord& record, Time origin);
// Every logged record, oldest first.
nlohmann::json decisions_json(const std::deque<DecisionRecord>& records, Time origin);
// "31.0s cpu-target [3 of 3 periods > 50] 72.5, 80, 81 -> raw 8, desired 2 -> 5 (clamped by max)"
std::string format_decision_line(const DecisionRecord& record, Time origin);
// The same line with `time` written first in place of the seconds since an origin (a recorded
// metric's own timestamp, for `flotilla policy replay`).
std::string format_decision_line(const DecisionRecord& record, std::string_view time);

}  // namespace flotilla
