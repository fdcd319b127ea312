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
inline constexpr const char* kNamespaceApplicationElb = "AWS/ApplicationELB";
inline constexpr const char* kDimensionTargetGroup = "TargetGroup";
inline constexpr const char* kDimensionLoadBalancer = "LoadBalancer";
inline constexpr const char* kMetricRequestCount = "RequestCount";
inline constexpr const char* kMetricRequestCountPerTarget = "RequestCountPerTarget";
inline constexpr const char* kMetricTargetResponseTime = "TargetResponseTime";
inline constexpr const char* kMetricHealthyHostCount = "HealthyHostCount";
inline constexpr const char* kMetricUnHealthyHostCount = "UnHealthyHostCount";
inline constexpr const char* kMetricTarget2xxCount = "HTTPCode_Target_2XX_Count";
inline constexpr const char* kMetricTarget3xxCount = "HTTPCode_Target_3XX_Count";
inline constexpr const char* kMetricTarget4xxCount = "HTTPCode_Target_4XX_Count";
inline constexpr const char* kMetricTarget5xxCount = "HTTPCode_Target_5XX_Count";
inline constexpr const char* kMetricElb4xxCount = "HTTPCode_ELB_4XX_Count";
inline constexpr const char* kMetricElb5xxCount = "HTTPCode_ELB_5XX_Count";

// AWS/EC2 <name>{InstanceId=<instance_id>}: what a worker's MetricSource publishes.
MetricId instance_metric(std::string name, std::string instance_id);
// <ns> <name>{AutoScalingGroupName=<group>}.
MetricId group_metric(std::string ns, std::string name, std::string group);
// AWS/ApplicationELB <name>{TargetGroup=<target_group>}.
MetricId target_group_metric(std::string name, std::string target_group);

struct MetricIdHash {
  std::size_t operator()(const MetricId& id) const noexcept;
};

}  // namespace flotilla

template <>
struct std::hash<flotilla::MetricId> : flotilla::MetricIdHash {};
