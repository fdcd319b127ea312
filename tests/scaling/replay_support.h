#pragma once
// A recorded load replayed in virtual time through the real scaling loop and policy files, over
// a group of fake workers (golden_test.cpp, and tests that combine several policy files).
#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/virtual_scheduler.h"
#include "fake_provider.h"
#include "scaling/policy_file.h"
#include "scaling/scaling_loop.h"

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

// Workers pass their health check 1 s after launch and exit 500 ms after a stop; the loop
// evaluates every 2 s period 100 ms after it ends; durations in AWS files scale to that period.
class Replay {
 public:
  static constexpr Duration kPeriod = std::chrono::seconds(2);
  static constexpr Duration kBoot = std::chrono::seconds(1);

  Replay(const std::vector<std::string>& policy_files, Series series,
         GroupConfig group_config = replay_group_config())
      : series_(std::move(series)),
        provider_(sched_, std::chrono::milliseconds(500)),
        group_(sched_, provider_, std::move(group_config)),
        health_(sched_, std::chrono::milliseconds(250), [this] { pass_health_checks(); }),
        feed_(sched_, kPeriod, [this] { feed(); }),
        loop_(sched_, store_, group_, loop_config()) {
    PolicyLoadOptions options;
    options.time_scale = default_time_scale(kPeriod);
    for (const auto& file : policy_files) loop_.add_policy(load_policy_file(file, options));
  }

  // Runs the whole series.
  void run() {
    group_.start();
    health_.start(Time::zero());
    feed_.start(kPeriod);
    loop_.set_origin(Time::zero());
    loop_.start(kPeriod + loop_.config().evaluation_delay);
    sched_.run_until(kPeriod * static_cast<Duration::rep>(series_.cpu_demand.size()) +
                     std::chrono::milliseconds(500));
  }

  const ScalingLoop& loop() const { return loop_; }
  const Group& group() const { return group_; }

 private:
  static ScalingLoopConfig loop_config() {
    ScalingLoopConfig lc;
    lc.period = kPeriod;
    lc.evaluation_delay = std::chrono::milliseconds(100);
    return lc;
  }

  void pass_health_checks() {
    const GroupState s = group_.state();
    for (const auto& w : s.workers)
      if (w.state == LifecycleState::pending && w.launched_at + kBoot <= sched_.now())
        group_.mark_healthy(w.id);
  }

  void feed() {
    if (k_ >= series_.cpu_demand.size()) return;
    const Time t = sched_.now();
    const GroupState s = group_.state();
    const int n = std::max(s.in_service, 1);
    for (const auto& w : s.workers) {
      const double cpu = w.state == LifecycleState::in_service
                             ? std::min(100.0, series_.cpu_demand[k_] / n)
                             : 5.0;  // booting
      store_.put(instance_metric(kMetricCpuUtilization, w.id), t, cpu);
    }
    store_.put(target_group_metric(kMetricRequestCountPerTarget, "golden"), t,
               series_.requests[k_] / n);
    store_.put(target_group_metric(kMetricRequestCount, "golden"), t, series_.requests[k_]);
    ++k_;
  }

  Series series_;
  std::size_t k_ = 0;
  VirtualScheduler sched_;
  MetricStore store_;
  FakeProvider provider_;
  Group group_;
  PeriodicTask health_;
  PeriodicTask feed_;
  ScalingLoop loop_;
};

}  // namespace flotilla::testing
