#pragma once
// Kubernetes HorizontalPodAutoscaler (autoscaling/v2) semantics, as the controller computes them
// (pkg/controller/podautoscaler: replica_calculator.go and horizontal.go), with workers as pods.
//
// Per metric, a proposal:
// - Per-worker metrics (Resource cpu averageUtilization -> AWS/EC2 CPUUtilization{InstanceId};
//   Pods averageValue -> Flotilla/Worker <name>{InstanceId}, e.g. in_flight, queued): the usage
//   ratio r = mean over ready workers with a value / target. Within tolerance (|1 - r| <= 0.1):
//   current replicas. Otherwise, with no unready and no missing workers, ceil(r x ready). With
//   some: missing workers count as using the target on a scale-down and 0 on a scale-up; unready
//   workers (pending; for cpu also those in service for less than one period, whose sample
//   predates readiness) count as 0 on a scale-up and are left out otherwise; r is recomputed, and
//   if it is within tolerance or changes direction, current replicas, else ceil(r' x counted).
// - Object (a series of the target group, AWS/ApplicationELB <name>{TargetGroup}, e.g.
//   RequestCount) and External (any series: "namespace", "name", "dimensions", "statistic"):
//   target Value: r = value / target, ceil(r x ready) outside tolerance; target AverageValue:
//   ceil(value / averageValue) outside tolerance of value / (averageValue x current).
// Several metrics: the largest proposal; metrics without data are skipped, and when some are
// missing a scale-down is not proposed (the controller's rule); none: no change.
//
// Then (horizontal.go): current replicas outside [min_replicas, max_replicas] go to the limit;
// otherwise the proposal is stabilized (scale up to the lowest recommendation within the scale-up
// window, down to the highest within the scale-down window; defaults 0 s and 300 s), then rate
// limited by the direction's policies: Pods n or Percent p per periodSeconds, counting the
// changes made within each policy's period; selectPolicy Max takes the policy allowing the
// largest change, Min the smallest, Disabled forbids that direction. Finally the limits.
//
// "current replicas" is the group's desired capacity (the scale subresource's replicas). The
// group's own min/max still clamp after the HPA's. Where Flotilla differs on purpose: a worker is
// Ready when it is in service (its health check passed); cpu-initialization-period and
// initial-readiness-delay are replaced by the one-period rule above; scale events are the
// group's observed changes of desired capacity, dated at the evaluation that caused them.
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/config.h"
#include "scaling/scaling_policy.h"

namespace flotilla {

struct PolicyLoadOptions;

inline constexpr const char* kHpaType = "hpa";

enum class HpaMetricType { resource_cpu, pods, object, external };
enum class HpaTargetType { utilization, average_value, value };

struct HpaMetric {
  HpaMetricType type = HpaMetricType::resource_cpu;
  HpaTargetType target_type = HpaTargetType::utilization;
  double target = 80;
  // pods: the name under Flotilla/Worker; object: the name under AWS/ApplicationELB;
  // external: namespace, name, dimensions, statistic.
  std::string ns;
  std::string name;
  std::vector<std::pair<std::string, std::string>> dimensions;
  Statistic statistic = Statistic::average;
};

struct HpaRatePolicy {
  enum class Type { pods, percent } type = Type::percent;
  int value = 100;
  Duration period = std::chrono::seconds(15);
};

enum class HpaSelect { max, min, disabled };
// Kubernetes' selectPolicy: "Max", "Min", "Disabled".
std::string to_string(HpaSelect s);

struct HpaRules {
  Duration stabilization_window{};
  HpaSelect select = HpaSelect::max;
  std::vector<HpaRatePolicy> policies;
};

// Kubernetes' defaults: up: no window, max(+100% , +4 pods) per 15 s; down: 300 s window, -100%
// per 15 s. Durations multiplied by `time_scale`.
HpaRules default_hpa_scale_up(double time_scale = 1);
HpaRules default_hpa_scale_down(double time_scale = 1);

// Kubernetes' own limits on behavior (stabilizationWindowSeconds, a policy's periodSeconds) and
// its default tolerance (the controller's flag), which the importer and the export share.
inline constexpr int kHpaMaxStabilizationSeconds = 3600;
inline constexpr int kHpaMaxPeriodSeconds = 1800;
inline constexpr double kHpaDefaultTolerance = 0.1;

struct HpaConfig {
  std::string name = "hpa";
  std::optional<int> min_replicas;  // nullopt: the group's
  std::optional<int> max_replicas;  // nullopt: the group's
  double tolerance = kHpaDefaultTolerance;
  std::vector<HpaMetric> metrics;
  HpaRules scale_up = default_hpa_scale_up();
  HpaRules scale_down = default_hpa_scale_down();
};

// The controller's memory.
struct HpaHistory {
  std::deque<std::pair<Time, int>> recommendations;  // (time, proposal)
  std::deque<std::pair<Time, int>> scale_events;     // (time, change of replicas)
  std::optional<int> last_desired;                   // group.desired at the previous evaluation
  Time last_evaluation{};
};

// One metric's proposal (replica_calculator.go).
struct HpaProposal {
  std::optional<int> replicas;  // nullopt: no data
  std::string reason;
  std::vector<PeriodValue> datapoints;
};
HpaProposal hpa_proposal(const HpaConfig& config, const HpaMetric& metric,
                         const MetricsSnapshot& metrics, const GroupState& group, Time now);

// The full evaluation; updates `history`.
Decision hpa_decide(const HpaConfig& config, const MetricsSnapshot& metrics,
                    const GroupState& group, Time now, HpaHistory& history);

// The snapshot key of metric i.
std::string hpa_metric_key(const HpaConfig& config, std::size_t i);

class HpaPolicy final : public ScalingPolicy {
 public:
  explicit HpaPolicy(HpaConfig config);
  const std::string& name() const override { return config_.name; }
  const std::string& type() const override;
  std::vector<MetricRequest> metrics() const override;
  PolicyRole role() const override { return PolicyRole::tracking; }
  bool may_scale_in() const override { return config_.scale_down.select != HpaSelect::disabled; }
  Decision decide(const MetricsSnapshot& metrics, const GroupState& group, Time now) override;
  const HpaConfig& config() const { return config_; }

 private:
  HpaConfig config_;
  HpaHistory history_;
};

// Native JSON:
//   { "type": "hpa", "name": "web", "min_replicas": 1, "max_replicas": 10, "tolerance": 0.1,
//     "metrics": [ {"type": "Resource", "name": "cpu", "average_utilization": 60},
//                  {"type": "Pods", "name": "in_flight", "average_value": 4},
//                  {"type": "Object", "name": "RequestCount", "value": 600},
//                  {"type": "External", "namespace": "AWS/ApplicationELB", "name":
//                   "RequestCount", "dimensions": {"TargetGroup": "web"}, "statistic": "Sum",
//                   "average_value": 100} ],
//     "scale_up": {"stabilization_window": "0s", "select_policy": "Max",
//                  "policies": [{"type": "Percent", "value": 100, "period": "15s"}]},
//     "scale_down": {...} }
// Omitted scale_up/scale_down take Kubernetes' defaults (unscaled).
std::unique_ptr<ScalingPolicy> parse_hpa(const ConfigNode& node, const PolicyLoadOptions& options);
// A HorizontalPodAutoscaler manifest (apiVersion autoscaling/v2) to the native JSON;
// stabilizationWindowSeconds and periodSeconds (and the defaults) scale by the time scale.
// Quantities ("500m", "2k") are converted to numbers.
nlohmann::json import_hpa_manifest(const ConfigNode& node, const PolicyLoadOptions& options);

}  // namespace flotilla
