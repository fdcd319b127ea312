#pragma once
// MetricsSnapshot: the recent per-period values of the metrics a policy asked for (see
// ScalingPolicy::metrics()), gathered by the scaling loop from the MetricStore.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/time.h"
#include "fleet/provider.h"
#include "metrics/alarm.h"
#include "metrics/metric_id.h"
#include "metrics/metric_store.h"

namespace flotilla {

// AWS's predefined metrics for target tracking on an Auto Scaling group.
// The group's average CPUUtilization (workers in warm-up excluded).
inline constexpr const char* kAsgAverageCpuUtilization = "ASGAverageCPUUtilization";
// AWS/ApplicationELB RequestCountPerTarget of the group's target group, Sum. The loop reports it
// per 60 s of time (Sum x 60 s / period), so an AWS TargetValue means what it means on AWS
// whatever the scenario's metrics period.
inline constexpr const char* kAlbRequestCountPerTarget = "ALBRequestCountPerTarget";

enum class MetricKind {
  group_cpu,                 // kAsgAverageCpuUtilization
  request_count_per_target,  // kAlbRequestCountPerTarget
  // Any series: `id` with `statistic`. A dimension AutoScalingGroupName or TargetGroup is
  // replaced by the running group's (target group's) name: there is one of each, and an AWS file
  // names its own.
  custom,
  // One value per worker the group tracks, for the latest period: `id` gives namespace and name,
  // the loop adds InstanceId=<worker> (the HPA's per-pod metrics).
  per_worker,
};

// What a policy needs gathered for it.
struct MetricRequest {
  std::string metric;  // the key the policy finds the series by (MetricsSnapshot::find)
  int periods = 1;     // how many recent periods decide() looks at
  Duration warmup{};   // group_cpu: workers in service for less than this are left out
  MetricKind kind = MetricKind::group_cpu;
  MetricId id;  // custom, per_worker
  Statistic statistic = Statistic::average;
};

struct PeriodValue {
  Time end{};                   // the period is (end - period, end]
  std::optional<double> value;  // nullopt: no data for that period
};

struct WorkerValue {
  WorkerId id;
  std::optional<double> value;  // nullopt: the worker published nothing in the period
};

struct MetricSeries {
  std::string metric;  // the requested name
  MetricId id;         // the series it was read from
  Statistic statistic = Statistic::average;
  Duration period{};
  std::vector<PeriodValue> periods;  // oldest first, the last one ends at the evaluation time
  std::vector<WorkerValue> workers;  // per_worker: in the group's launch order
};

// An alarm's state as a step or simple scaling policy sees it (the loop evaluates the alarm).
struct AlarmSnapshot {
  std::string name;
  AlarmState state = AlarmState::insufficient_data;
  double threshold = 0;
  ComparisonOperator comparison = ComparisonOperator::greater_than_threshold;
  std::string metric;  // what the datapoints are, for the decision log
  // The evaluation range, oldest first; the newest present value is what the steps compare
  // against the threshold.
  std::vector<PeriodValue> datapoints;
  std::string reason;  // the alarm's own, CloudWatch-like
};

struct MetricsSnapshot {
  std::vector<MetricSeries> series;
  std::vector<AlarmSnapshot> alarms;

  const MetricSeries* find(std::string_view metric) const {
    for (const auto& s : series)
      if (s.metric == metric) return &s;
    return nullptr;
  }
  const AlarmSnapshot* find_alarm(std::string_view name) const {
    for (const auto& a : alarms)
      if (a.name == name) return &a;
    return nullptr;
  }
};

}  // namespace flotilla
