#include "balancer/target_group_config.h"

#include <string>
#include <vector>

#include "core/duration.h"
#include "core/errors.h"

namespace flotilla {
namespace {

// Flotilla accepts a threshold of 1 (AWS: 2 to 10) so that tests and demos can react at once.
int parse_threshold(const ConfigNode& node) { return static_cast<int>(node.as_int(1, 10)); }

StatusMatcher parse_matcher(const ConfigNode& node) {
  const ConfigNode* text = &node;
  std::optional<ConfigNode> code;
  if (node.is_object()) {
    node.only_keys({"http_code"});
    code = node.at("http_code");
    text = &*code;
  }
  const std::string expected =
      "status codes from 200 to 499 like \"200\", \"200,202\" or \"200-299\"";
  if (!text->is_string()) text->fail(expected);
  const auto matcher = parse_status_matcher(text->as_string());
  if (!matcher) text->fail(expected);
  return *matcher;
}

constexpr std::string_view kGroupFields[] = {"health_check", "deregistration_delay", "slow_start",
                                             "fail_open", "outlier_detection"};

}  // namespace

HealthCheckConfig parse_health_check(const ConfigNode& node, HealthCheckConfig defaults) {
  node.only_keys(
      {"path", "interval", "timeout", "healthy_threshold", "unhealthy_threshold", "matcher"});
  HealthCheckConfig c = std::move(defaults);
  if (auto n = node.get("path")) {
    c.path = n->as_nonempty_string();
    if (c.path.front() != '/') n->fail("a path starting with \"/\"");
  }
  if (auto n = node.get("interval")) c.interval = n->as_duration(10ms, 300s);
  if (auto n = node.get("timeout")) c.timeout = n->as_duration(1ms, 120s);
  if (auto n = node.get("healthy_threshold")) c.healthy_threshold = parse_threshold(*n);
  if (auto n = node.get("unhealthy_threshold")) c.unhealthy_threshold = parse_threshold(*n);
  if (auto n = node.get("matcher")) c.matcher = parse_matcher(*n);
  // AWS refuses a timeout that is not shorter than the interval: checks would overlap.
  if (c.timeout >= c.interval) {
    const ConfigNode where =
        node.has("timeout") ? node.at("timeout") : node.child_pointer_only("timeout");
    where.fail("a timeout shorter than the interval (" + format_duration(c.interval) + ")");
  }
  return c;
}

OutlierDetectionConfig parse_outlier_detection(const ConfigNode& node,
                                               OutlierDetectionConfig defaults) {
  node.only_keys({"consecutive_5xx", "interval", "base_ejection_time", "max_ejection_time",
                  "max_ejection_percent", "always_eject_one_host"});
  OutlierDetectionConfig c = defaults;
  if (auto n = node.get("consecutive_5xx"))
    c.consecutive_5xx = static_cast<std::uint32_t>(n->as_int(0, 1000));
  if (auto n = node.get("interval")) c.interval = n->as_duration(1ms, 3600s);
  if (auto n = node.get("base_ejection_time")) c.base_ejection_time = n->as_duration(1ms, 3600s);
  if (auto n = node.get("max_ejection_time")) c.max_ejection_time = n->as_duration(1ms, 86400s);
  if (auto n = node.get("max_ejection_percent"))
    c.max_ejection_percent = static_cast<int>(n->as_int(0, 100));
  if (auto n = node.get("always_eject_one_host")) c.always_eject_one_host = n->as_bool();
  return c;
}

TargetGroupConfig parse_target_group_config(const ConfigNode& node,
                                            std::initializer_list<std::string_view> caller_fields,
                                            TargetGroupConfig defaults) {
  std::vector<std::string_view> known(caller_fields);
  known.insert(known.end(), std::begin(kGroupFields), std::end(kGroupFields));
  node.only_keys(known);
  TargetGroupConfig c = std::move(defaults);
  if (auto n = node.get("health_check")) c.health_check = parse_health_check(*n, c.health_check);
  if (auto n = node.get("deregistration_delay"))
    c.deregistration_delay = n->as_duration(Duration::zero(), 3600s);
  // AWS: 0 (off) or 30 s to 900 s. Shorter ramps are allowed for local runs.
  if (auto n = node.get("slow_start")) c.slow_start = n->as_duration(Duration::zero(), 900s);
  if (auto n = node.get("fail_open")) c.fail_open = n->as_bool();
  if (auto n = node.get("outlier_detection"))
    c.outlier_detection = parse_outlier_detection(*n, c.outlier_detection);
  return c;
}

}  // namespace flotilla
