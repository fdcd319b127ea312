#pragma once
// A recorded load replayed in virtual time through the real scaling loop and policy files
// (orchestrator/policy_replay.h), with the golden series' load model: golden_test.cpp, and tests
// that combine several policy files.
#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "orchestrator/policy_replay.h"
#include "scaling/policy_file.h"

namespace flotilla::testing {

// Per period, the fleet's total CPU demand (in percent of one worker) and the requests the
// balancer received. A worker's CPUUtilization is its share of the demand (at most 100);
// RequestCountPerTarget is the requests over the in-service workers.
struct Series {
  std::vector<double> cpu_demand;
  std::vector<double> requests;
};

inline Series load_series(const nlohmann::json& j) {
  Series s;
  for (const auto& v : j.at("cpu_demand")) s.cpu_demand.push_back(v.get<double>());
  for (const auto& v : j.at("requests")) s.requests.push_back(v.get<double>());
  return s;
}

// The group "golden": min 1, max 10, desired 2.
inline GroupConfig replay_group_config() {
  GroupConfig gc;
  gc.name = "golden";
  gc.min = 1;
  gc.max = 10;
  gc.desired = 2;
  gc.health_check_grace = std::chrono::seconds(60);
  gc.drain_delay = std::chrono::seconds(1);
  return gc;
}

// The demand shared by the in-service workers; a booting worker reports 5%.
inline ReplayFeed demand_feed(Series series) {
  return [series = std::move(series)](const ReplayPeriod& p) {
    const int n = std::max(p.group.in_service, 1);
    const double demand = series.cpu_demand[p.index];
    for (const auto& w : p.group.workers) {
      const double cpu = w.state == LifecycleState::in_service ? std::min(100.0, demand / n) : 5.0;
      p.store.put(instance_metric(kMetricCpuUtilization, w.id), p.end, cpu);
    }
    const double requests = series.requests[p.index];
    p.store.put(target_group_metric(kMetricRequestCountPerTarget, p.group.name), p.end,
                requests / n);
    p.store.put(target_group_metric(kMetricRequestCount, p.group.name), p.end, requests);
  };
}

// Every 2 s period is evaluated 100 ms after it ends; workers are in service 1 s after launch and
// exit 500 ms after a stop; durations in AWS files scale to the 2 s period.
inline std::unique_ptr<PolicyReplay> make_replay(const std::vector<std::string>& policy_files,
                                                 Series series,
                                                 GroupConfig group_config = replay_group_config()) {
  ReplayTiming timing;
  timing.period = std::chrono::seconds(2);
  timing.evaluation_delay = std::chrono::milliseconds(100);
  timing.first_period_end = timing.period;
  timing.periods = series.cpu_demand.size();
  timing.boot = std::chrono::seconds(1);
  timing.exit_after_stop = std::chrono::milliseconds(500);
  auto replay = std::make_unique<PolicyReplay>(std::move(group_config), timing,
                                               demand_feed(std::move(series)));
  for (const auto& file : policy_files)
    replay->add_policy(load_policy_file(file, time_scaled(default_time_scale(timing.period))));
  return replay;
}

}  // namespace flotilla::testing
