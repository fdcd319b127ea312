#pragma once
// Reading a target group's settings from a JSON file (ConfigNode), with errors that name the
// file and the field. Field names follow ALB's (snake_case) where ALB has the setting, Envoy's
// for outlier detection:
//
//   { "health_check": { "path": "/health", "interval": "1s", "timeout": "500ms",
//                       "healthy_threshold": 2, "unhealthy_threshold": 2, "matcher": "200-299" },
//     "deregistration_delay": "5s", "slow_start": "30s", "fail_open": true,
//     "outlier_detection": { "consecutive_5xx": 5, "interval": "10s",
//                            "base_ejection_time": "30s", "max_ejection_time": "300s",
//                            "max_ejection_percent": 10, "always_eject_one_host": true } }
//
// Durations are "500ms", "30s", "5m" or a number of seconds. Every field is optional; a missing
// one keeps the default passed in. "matcher" is also accepted as ALB's object form
// {"http_code": "200-299"}.
#include <initializer_list>
#include <string_view>

#include "balancer/target_group.h"
#include "core/config.h"

namespace flotilla {

// The fields of health_check above. `node` must be an object with no other field.
HealthCheckConfig parse_health_check(const ConfigNode& node, HealthCheckConfig defaults = {});

// The fields of outlier_detection above. `node` must be an object with no other field.
OutlierDetectionConfig parse_outlier_detection(const ConfigNode& node,
                                               OutlierDetectionConfig defaults = {});

// The target group fields above, read from `node` (an object). `caller_fields` are the other
// fields the caller reads from the same object (e.g. "name", "targets"); any field in neither
// list is an error that lists both.
TargetGroupConfig parse_target_group_config(const ConfigNode& node,
                                            std::initializer_list<std::string_view> caller_fields,
                                            TargetGroupConfig defaults = {});

}  // namespace flotilla
