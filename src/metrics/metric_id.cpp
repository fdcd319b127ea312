#include "metrics/metric_id.h"

#include <algorithm>

namespace flotilla {

void MetricId::canonicalize() {
  if (!canonical()) std::sort(dimensions.begin(), dimensions.end());
}

bool MetricId::canonical() const { return std::is_sorted(dimensions.begin(), dimensions.end()); }

std::string MetricId::to_string() const {
  std::string out = ns + " " + name;
  if (dimensions.empty()) return out;
  out += "{";
  for (std::size_t i = 0; i < dimensions.size(); ++i) {
    if (i > 0) out += ",";
    out += dimensions[i].first + "=" + dimensions[i].second;
  }
  return out + "}";
}

MetricId make_metric_id(std::string ns, std::string name,
                        std::vector<std::pair<std::string, std::string>> dimensions) {
  MetricId id{std::move(ns), std::move(name), std::move(dimensions)};
  id.canonicalize();
  return id;
}

MetricId instance_metric(std::string name, std::string instance_id) {
  return make_metric_id(kNamespaceEc2, std::move(name),
                        {{kDimensionInstanceId, std::move(instance_id)}});
}

MetricId group_metric(std::string ns, std::string name, std::string group) {
  return make_metric_id(std::move(ns), std::move(name),
                        {{kDimensionAutoScalingGroupName, std::move(group)}});
}

MetricId target_group_metric(std::string name, std::string target_group) {
  return make_metric_id(kNamespaceApplicationElb, std::move(name),
                        {{kDimensionTargetGroup, std::move(target_group)}});
}

std::size_t MetricIdHash::operator()(const MetricId& id) const noexcept {
  const std::hash<std::string> h;
  std::size_t seed = h(id.ns);
  auto mix = [&seed](std::size_t v) {
    seed ^= v + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2);
  };
  mix(h(id.name));
  for (const auto& [k, v] : id.dimensions) {
    mix(h(k));
    mix(h(v));
  }
  return seed;
}

}  // namespace flotilla
