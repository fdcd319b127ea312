// report.json `alarms`: every alarm a policy names, its description and its state changes.
#include <doctest/doctest.h>

#include "scenario/report.h"

using namespace flotilla;

TEST_CASE("to_json: alarms with their transitions, an empty array when there are none") {
  RunRecord r;
  CHECK(to_json(r)["alarms"] == nlohmann::json::array());
  r.alarms.push_back({"cpu-high",
                      "CPUUtilization Average > 50 for 3 of 3 periods of 2s",
                      {{-1.5, "INSUFFICIENT_DATA", "OK", "Threshold Crossed: 3 out of 3 ..."},
                       {24, "OK", "ALARM", "Threshold Crossed: 3 out of the last 3 ..."}}});
  r.alarms.push_back({"cpu-low", "CPUUtilization Average < 20 for 3 of 3 periods of 2s", {}});
  CHECK(to_json(r)["alarms"] == nlohmann::json::parse(R"([
    {"name": "cpu-high", "description": "CPUUtilization Average > 50 for 3 of 3 periods of 2s",
     "transitions": [
       {"t": -1.5, "from": "INSUFFICIENT_DATA", "to": "OK",
        "reason": "Threshold Crossed: 3 out of 3 ..."},
       {"t": 24, "from": "OK", "to": "ALARM", "reason": "Threshold Crossed: 3 out of the last 3 ..."}]},
    {"name": "cpu-low", "description": "CPUUtilization Average < 20 for 3 of 3 periods of 2s",
     "transitions": []}])"));
}
