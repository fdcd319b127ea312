#pragma once
// BalancerMetricsSource: one target group's counters in the balancer as AWS/ApplicationELB
// metrics, every collection interval, so AWS alarms and policies on them run unchanged:
//
//   RequestCount, HTTPCode_Target_{2,3,4,5}XX_Count, HTTPCode_ELB_5XX_Count (the group's 502,
//   503 and 504), HTTPCode_ELB_{502,503,504}_Count, TargetConnectionErrorCount
//       the counter's increase since the previous interval (Sum over a period adds them up);
//   RequestCountPerTarget   RequestCount / HealthyHostCount (AWS's definition); no datapoint
//                           while no target is healthy;
//   TargetResponseTime      a distribution (seconds) of the interval's responses, from the
//                           group's response-time histogram: Average, pNN, SampleCount work;
//                           no datapoint when there were no responses (as on AWS);
//   HealthyHostCount, UnHealthyHostCount   from the `hosts` callback (target health lives in the
//                           orchestrator's target group).
// Per target, under Flotilla/Target{InstanceId=<target>} (not an AWS namespace): RequestCount,
// HTTPCode_Target_5XX_Count, TargetConnectionErrorCount (increases) and TargetResponseTime (the
// interval's mean, seconds; none without responses).
//
// Dimensions: {TargetGroup=<target_group>}; with a load_balancer name, also
// {LoadBalancer=<lb>, TargetGroup=<tg>} and {LoadBalancer=<lb>} as AWS publishes them, plus the
// balancer-wide ActiveConnectionCount, NewConnectionCount, HTTPCode_ELB_4XX_Count and
// HTTPCode_ELB_5XX_Count under {LoadBalancer=<lb>} alone.
//
// Where Flotilla differs on purpose: an ALB reports its counts only when nonzero; Flotilla
// publishes zeros, so that an idle balancer reads as 0 requests (scale-in works) rather than as
// missing data. Counts are measured from the source's construction on; a counter that went down
// (a restarted balancer) counts from zero.
//
// Threading: control plane; collect() answers inline. The callbacks are called on that thread
// (DataPlane::stats() is a control-thread call).
#include <functional>
#include <string>
#include <vector>

#include "balancer/data_plane.h"
#include "metrics/metric_source.h"

namespace flotilla {

struct HostCounts {
  int healthy = 0;
  int unhealthy = 0;
};

struct BalancerMetricsConfig {
  std::string target_group;   // the TargetGroup dimension's value; must not be empty
  std::string load_balancer;  // optional LoadBalancer dimension value
  // The balancer's group (BalancerStats::groups key) measured; when the stats have no such
  // group, the balancer's totals are.
  std::string balancer_group = "default";
};

inline constexpr const char* kNamespaceFlotillaTarget = "Flotilla/Target";

// A counter's increase between two readings: after - before, or `after` alone when it went down
// (a restarted balancer counts from zero).
inline std::uint64_t counter_increase(std::uint64_t before, std::uint64_t after) {
  return after >= before ? after - before : after;
}

// The interval's response times, in seconds: the values in `after` that are not in `before`
// (cumulative snapshots of one histogram), each at its bucket's midpoint. If a bucket went down
// (the counter was reset), `after` on its own.
MetricHistogram latency_increase_seconds(const LatencyHistogram& before,
                                         const LatencyHistogram& after);

// The samples for one interval, from two snapshots of the same balancer's counters.
std::vector<Sample> balancer_samples(const BalancerMetricsConfig& config,
                                     const BalancerStats& before, const BalancerStats& after,
                                     HostCounts hosts);

class BalancerMetricsSource final : public MetricSource {
 public:
  using StatsFn = std::function<BalancerStats()>;
  using HostsFn = std::function<HostCounts()>;

  // Reads `stats` once now as the baseline.
  BalancerMetricsSource(BalancerMetricsConfig config, StatsFn stats, HostsFn hosts);
  void collect(Time now, Done done) override;

 private:
  BalancerMetricsConfig config_;
  StatsFn stats_;
  HostsFn hosts_;
  BalancerStats previous_;
};

}  // namespace flotilla
