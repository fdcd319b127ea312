#pragma once
// MetricSource: something the collector reads every period (a worker's /metrics over HTTP, the
// balancer's counters). The collector stamps every sample with the time of the tick that asked.
//
// Contract:
// - collect() starts one reading and calls `done` at most once with the samples read, either
//   inline or later. A source that cannot be read (worker gone, HTTP error, timeout) calls `done`
//   with no samples rather than never; the collector does not ask a source again while an answer
//   is outstanding.
// - `done` may be called after the source was removed from the collector or the collector was
//   destroyed; the collector guards against both.
//
// Threading: collect() is called on the control-plane thread and `done` must be called on it.
#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "core/time.h"
#include "metrics/metric_histogram.h"
#include "metrics/metric_id.h"

namespace flotilla {

// One value, or a distribution of values (e.g. one period's response times) stored as one
// datapoint; an empty distribution stores nothing.
struct Sample {
  Sample() = default;
  Sample(MetricId metric, double v) : id(std::move(metric)), value(v) {}
  Sample(MetricId metric, MetricHistogram values)
      : id(std::move(metric)),
        histogram(std::make_shared<const MetricHistogram>(std::move(values))) {}

  MetricId id;
  double value = 0;
  std::shared_ptr<const MetricHistogram> histogram;  // null for a single value
};

class MetricSource {
 public:
  using Done = std::function<void(std::vector<Sample>)>;

  virtual ~MetricSource() = default;
  virtual void collect(Time now, Done done) = 0;
};

}  // namespace flotilla
