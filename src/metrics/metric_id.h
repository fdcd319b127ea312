#pragma once
// A CloudWatch metric's identity: namespace, name and dimensions ("AWS/EC2", "CPUUtilization",
// {InstanceId=i-0000000000000001}). Two ids name the same series when all three are equal;
// CloudWatch ignores the order of dimensions, so ids are compared in canonical form (dimensions
// sorted by name, then value): build them with make_metric_id() or call canonicalize().
#include <compare>
#include <cstddef>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace flotilla {

struct MetricId {
  std::string ns;
  std::string name;
  std::vector<std::pair<std::string, std::string>> dimensions;

  auto operator<=>(const MetricId&) const = default;
  bool operator==(const MetricId&) const = default;

  // Sorts the dimensions; idempotent.
  void canonicalize();
  bool canonical() const;
  // "AWS/EC2 CPUUtilization{InstanceId=i-0000000000000001}"
  std::string to_string() const;
};

MetricId make_metric_id(std::string ns, std::string name,
                        std::vector<std::pair<std::string, std::string>> dimensions = {});

// Namespaces, names and dimensions that AWS uses and Flotilla keeps.
inline constexpr const char* kNamespaceEc2 = "AWS/EC2";
inline constexpr const char* kNamespaceAutoScaling = "AWS/AutoScaling";
inline constexpr const char* kMetricCpuUtilization = "CPUUtilization";
inline constexpr const char* kDimensionInstanceId = "InstanceId";
inline constexpr const char* kDimensionAutoScalingGroupName = "AutoScalingGroupName";

// AWS/EC2 <name>{InstanceId=<instance_id>}: what a worker's MetricSource publishes.
MetricId instance_metric(std::string name, std::string instance_id);
// <ns> <name>{AutoScalingGroupName=<group>}.
MetricId group_metric(std::string ns, std::string name, std::string group);

struct MetricIdHash {
  std::size_t operator()(const MetricId& id) const noexcept;
};

}  // namespace flotilla

template <>
struct std::hash<flotilla::MetricId> : flotilla::MetricIdHash {};
