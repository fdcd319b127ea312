#pragma once
// ScalingLoop: every metrics period, gather -> decide -> act -> record.
//
// Gather, for the period that just ended:
// - the group's average CPUUtilization, from the per-worker series AWS/EC2
//   CPUUtilization{InstanceId=<worker>} (the Average of each in-service worker's datapoints in
//   the period, then the mean over workers), leaving out workers still in warm-up. It is
//   published as AWS/EC2 CPUUtilization{AutoScalingGroupName=<group>} at the period's end, and
//   each policy's snapshot holds the last N periods of that series, so history is what was
//   measured then. The group has one warm-up: the longest any policy asks for (like AWS's
//   DefaultInstanceWarmup).
// - ALBRequestCountPerTarget: AWS/ApplicationELB RequestCountPerTarget{TargetGroup=<target
//   group>} Sum over each period, times 60 s / period (requests per target per minute).
// - custom metrics: the requested statistic of the series, per period.
// - per-worker metrics: each tracked worker's value for the latest period.
// - alarms: every alarm a policy names is evaluated (metrics/alarm.h) for the period ending at
//   the evaluation time, then handed to the policies as an AlarmSnapshot. An alarm on AWS/EC2
//   CPUUtilization{AutoScalingGroupName} reads the group average gathered above.
// Dimensions AutoScalingGroupName and TargetGroup (custom metrics, alarms) are replaced by the
// running group's and target group's names: an AWS file names its own.
// Decide: every policy's decide(). Combine: combine_decisions() (scaling/combine.h, AWS's rule
//   for several policies: scheduled actions as they are, else the largest capacity of the
//   policies that triggered, a tracking policy's scale-in only with every tracking policy's
//   agreement).
// Act: group.set_limits for each scheduled action's limits, then group.set_desired(combined,
//   the combined reason: "<policy>: <reason>", and with several policies the rule that applied).
// Record: a DecisionRecord per tick; AWS/AutoScaling GroupDesiredCapacity,
//   GroupInServiceInstances, GroupPendingInstances, GroupTerminatingInstances (draining and
//   terminating), GroupTotalInstances, GroupMinSize, GroupMaxSize{AutoScalingGroupName} are
//   published at the tick time, after acting.
//
// Timing: a tick at time T evaluates the period ending at T - evaluation_delay. The delay lets
// asynchronous samples stamped at that period's end (Collector) arrive first; with sources that
// answer inline, 0 works when the collector ticks on the same grid and was started first.
//
// Retention: the decision log holds at most max_records; prune_before() also bounds it and the
// alarms' histories by age (serve calls it; run and compare keep everything).
//
// Threading: control plane only. The store and the group must outlive the loop.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/retained_log.h"
#include "core/scheduler.h"
#include "metrics/alarm.h"
#include "metrics/metric_store.h"
#include "scaling/combine.h"
#include "scaling/group.h"
#include "scaling/scaling_policy.h"

namespace flotilla {

struct ScalingLoopConfig {
  Duration period = std::chrono::seconds(60);
  Duration evaluation_delay = Duration::zero();
  std::size_t max_records = 100000;  // oldest records are dropped beyond this
  // The TargetGroup dimension of the balancer's metrics (ALBRequestCountPerTarget, and custom
  // metrics with a TargetGroup dimension). Empty: the group's name.
  std::string target_group;
};

struct DecisionRecord {
  Time t{};                         // tick time
  Time period_end{};                // evaluation time: t - evaluation_delay
  std::optional<double> group_cpu;  // the value gathered for the period just ended
  int desired_before = 0;
  std::vector<PolicyEvaluation> policies;
  std::optional<int> combined;  // what the combination asked for; nullopt: no change
  int desired_after = 0;        // after the group clamped it
  std::string reason;           // CombinedDecision::reason
  // What held the combined result back or cut it: kClampOtherPolicies (a tracking policy's
  // scale-in that another tracking policy did not agree to, CombinedDecision::clamped_by),
  // kClampMin / kClampMax (the group clamped it).
  std::vector<std::string> clamped_by;
  // New limits a scheduled action set this tick.
  std::optional<int> min_after;
  std::optional<int> max_after;

  // The decision log keeps a record when desired capacity changed, or a policy wanted it to and
  // was held back (ScalingPolicy's Decision::wanted_change).
  bool logged() const;
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
  // Scenario time 0 for every policy (ScalingPolicy::set_origin), e.g. when traffic starts.
  void set_origin(Time origin);

  // Drops the decision records of ticks before `cutoff` but the newest, and each alarm's
  // transitions before it but its newest (Alarm::prune_before).
  void prune_before(Time cutoff);

  // Oldest first.
  const std::deque<DecisionRecord>& records() const { return records_.entries(); }
  // Records ever made, dropped ones included (resume_index(), core/retained_log.h).
  std::uint64_t records_recorded() const { return records_.recorded(); }
  // The group's warm-up: the longest any policy asks for.
  Duration warmup() const;
  const ScalingLoopConfig& config() const { return config_; }
  // AWS/EC2 CPUUtilization{AutoScalingGroupName=<group>}.
  MetricId group_cpu_metric() const;
  // An AWS file names its own group and target group: a dimension AutoScalingGroupName or
  // TargetGroup is replaced by the running one's name. What the loop reads for `id`.
  MetricId localize(const MetricId& id) const;
  // The alarms the policies named, by name (their state and history).
  const std::map<std::string, std::unique_ptr<Alarm>>& alarms() const { return alarms_; }

 private:
  // One round for the tick due at `now` (the grid time, which a late live timer may have passed).
  void tick_at(Time now);
  std::optional<double> gather_group_cpu(const GroupState& state, Time end);
  MetricsSnapshot snapshot_for(const ScalingPolicy& policy, const GroupState& state,
                               Time end) const;
  MetricSeries gather(const MetricRequest& request, const GroupState& state, Time end) const;
  void publish_group_metrics(Time t);
  const std::string& target_group() const;


  Scheduler& scheduler_;
  MetricStore& store_;
  Group& group_;
  ScalingLoopConfig config_;
  std::vector<std::unique_ptr<ScalingPolicy>> policies_;
  std::map<std::string, std::unique_ptr<Alarm>> alarms_;
  RetainedLog<DecisionRecord> records_;
  PeriodicTask task_;
};

}  // namespace flotilla
