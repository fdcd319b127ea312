#pragma once
// ScalingLoop: every metrics period, gather -> decide -> act -> record.
//
// Gather: the group's average CPUUtilization for the period that just ended, from the per-worker
//   series AWS/EC2 CPUUtilization{InstanceId=<worker>} (the Average of each in-service worker's
//   datapoints in the period, then the mean over workers), leaving out workers still in warm-up.
//   It is published as AWS/EC2 CPUUtilization{AutoScalingGroupName=<group>} at the period's end,
//   and each policy's snapshot holds the last N periods of that series, so history is what was
//   measured then. The group has one warm-up: the longest any policy asks for (like AWS's
//   DefaultInstanceWarmup).
// Decide: every policy's decide(). Combine (AWS's rule for several policies): scale out if any
//   policy says out, to the largest; scale in only if every policy says in, to the largest of them.
// Act: group.set_desired(combined, "<policy>: <reason>").
// Record: a DecisionRecord per tick; AWS/AutoScaling GroupDesiredCapacity,
//   GroupInServiceInstances, GroupPendingInstances, GroupTerminatingInstances (draining and
//   terminating), GroupTotalInstances, GroupMinSize, GroupMaxSize{AutoScalingGroupName} are
//   published at the tick time, after acting.
//
// Timing: a tick at time T evaluates the period ending at T - evaluation_delay. The delay lets
// asynchronous samples stamped at that period's end (Collector) arrive first; with sources that
// answer inline, 0 works when the collector ticks on the same grid and was started first.
//
// Threading: control plane only. The store and the group must outlive the loop.
#include <cstddef>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/scheduler.h"
#include "metrics/metric_store.h"
#include "scaling/group.h"
#include "scaling/scaling_policy.h"

namespace flotilla {

struct ScalingLoopConfig {
  Duration period = std::chrono::seconds(60);
  Duration evaluation_delay = Duration::zero();
  std::size_t max_records = 100000;  // oldest records are dropped beyond this
};

struct PolicyEvaluation {
  std::string policy;
  std::vector<PeriodValue> values;  // the first requested metric's periods, as decide() saw them
  Decision decision;                // the raw result
};

struct DecisionRecord {
  Time t{};                         // tick time
  Time period_end{};                // evaluation time: t - evaluation_delay
  std::optional<double> group_cpu;  // the value gathered for the period just ended
  int desired_before = 0;
  std::vector<PolicyEvaluation> policies;
  std::optional<int> combined;  // what the combination asked for; nullopt: no change
  int desired_after = 0;        // after the group clamped it
  std::string reason;
};

class ScalingLoop {
 public:
  ScalingLoop(Scheduler& scheduler, MetricStore& store, Group& group, ScalingLoopConfig config);
  ~ScalingLoop();
  ScalingLoop(const ScalingLoop&) = delete;
  ScalingLoop& operator=(const ScalingLoop&) = delete;

  void add_policy(std::unique_ptr<ScalingPolicy> policy);
  const std::vector<std::unique_ptr<ScalingPolicy>>& policies() const { return policies_; }

  // Ticks at first, first + period, ...; start() begins at now + period + evaluation_delay.
  void start(Time first);
  void start();
  void stop();
  // One round now, outside the periodic schedule.
  void tick();

  const std::deque<DecisionRecord>& records() const { return records_; }
  // The group's warm-up: the longest any policy asks for.
  Duration warmup() const;
  const ScalingLoopConfig& config() const { return config_; }
  // AWS/EC2 CPUUtilization{AutoScalingGroupName=<group>}.
  MetricId group_cpu_metric() const;

 private:
  // One round for the tick due at `now` (the grid time, which a late live timer may have passed).
  void tick_at(Time now);
  std::optional<double> gather_group_cpu(const GroupState& state, Time end);
  MetricsSnapshot snapshot_for(const ScalingPolicy& policy, Time end) const;
  void publish_group_metrics(Time t);

  Scheduler& scheduler_;
  MetricStore& store_;
  Group& group_;
  ScalingLoopConfig config_;
  std::vector<std::unique_ptr<ScalingPolicy>> policies_;
  std::deque<DecisionRecord> records_;
  PeriodicTask task_;
};

}  // namespace flotilla
