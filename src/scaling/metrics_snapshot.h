#pragma once
// MetricsSnapshot: the recent per-period values of the metrics a policy asked for (see
// ScalingPolicy::metrics()), gathered by the scaling loop from the MetricStore.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/time.h"
#include "metrics/metric_id.h"
#include "metrics/metric_store.h"

namespace flotilla {

// AWS's predefined metric for target tracking on an Auto Scaling group: the group's average
// CPUUtilization (workers in warm-up excluded).
inline constexpr const char* kAsgAverageCpuUtilization = "ASGAverageCPUUtilization";

// What a policy needs gathered for it.
struct MetricRequest {
  std::string metric;  // a predefined metric name, e.g. kAsgAverageCpuUtilization
  int periods = 1;     // how many recent periods decide() looks at
  Duration warmup{};   // workers in service for less than this are left out of the metric
};

struct PeriodValue {
  Time end{};                   // the period is (end - period, end]
  std::optional<double> value;  // nullopt: no data for that period
};

struct MetricSeries {
  std::string metric;  // the requested name
  MetricId id;         // the series it was read from
  Statistic statistic = Statistic::average;
  Duration period{};
  std::vector<PeriodValue> periods;  // oldest first, the last one ends at the evaluation time
};

struct MetricsSnapshot {
  std::vector<MetricSeries> series;

  const MetricSeries* find(std::string_view metric) const {
    for (const auto& s : series)
      if (s.metric == metric) return &s;
    return nullptr;
  }
};

}  // namespace flotilla
