#pragma once
// `flotilla balance` settings: the balancer alone in front of static targets, from a JSON file
// and/or flags. The file reads like an ALB listener with its rules and target groups (HAProxy
// users: a frontend with its backends); see README "Balancer".
//
//   { "listen": "127.0.0.1:8080", "threads": 1, "algorithm": "round_robin",
//     "timeouts": {...}, "limits": {...}, "retries": {...},
//     "target_groups": [ { "name": "web", "targets": [ { "address": "127.0.0.1:8081" } ],
//                          "health_check": { "path": "/" } } ],
//     "rules": [...], "default_action": { "forward": "web" } }
//
// A target group's attributes are read by parse_target_group_config (balancer/
// target_group_config.h), rules and actions by parse_routing (balancer/routing.h).
// Unknown fields and bad values are UserErrors naming the file and the JSON pointer.
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "balancer/balancer.h"
#include "balancer/routing.h"
#include "balancer/target_group.h"
#include "core/endpoint.h"
#include "scenario/scenario.h"

namespace flotilla {

struct StaticTarget {
  Endpoint endpoint;
  std::uint32_t weight = 1;  // 0..999 (ALB's range); 0: registered and checked, gets no requests
  bool operator==(const StaticTarget&) const = default;
};

struct StaticTargetGroup {
  std::string name;
  std::string algorithm;  // empty: the listener's
  std::vector<StaticTarget> targets;
  TargetGroupConfig config;
};

struct BalanceConfig {
  // Listen address, threads, algorithm, timeouts, limits, retries; its groups and routing are
  // filled from target_groups and routing by balancer_config().
  BalancerConfig balancer;
  std::vector<StaticTargetGroup> target_groups;
  RoutingConfig routing;
  // On SIGTERM or SIGINT, how long requests in flight may take to finish before the rest are
  // cut off (nginx's worker_shutdown_timeout, HAProxy's hard-stop-after).
  Duration drain_timeout = std::chrono::seconds(10);

  // The group that --target flags fill: the first one the default action forwards to, else the
  // first group.
  StaticTargetGroup& flag_group();
  // What the Balancer gets: `balancer` with a group per target group and the routing.
  BalancerConfig balancer_config() const;
};

// What the command line says; each set flag overrides the file.
struct BalanceFlags {
  std::optional<std::string> config_path;
  std::optional<std::string> listen;  // "HOST:PORT"
  std::vector<std::string> targets;   // "HOST:PORT"; replace the flag group's targets
  std::optional<std::string> algorithm;
  std::optional<int> threads;
  std::optional<std::string> health_check_path;
  std::optional<std::string> drain_timeout;  // a duration: "10s", "500ms"
};

// A target group of arbitrary HTTP servers: ALB's default health check path "/"; the rest as
// TargetGroupConfig's defaults.
TargetGroupConfig default_static_group_config();

// "127.0.0.1:8080", "localhost:80", "[::1]:8080" -> Endpoint; nullopt when malformed. Port 0
// (the OS picks) only with `allow_port_zero`, for listen addresses. Names other than localhost
// are not resolved.
std::optional<Endpoint> parse_host_port(std::string_view text, bool allow_port_zero);

// A scenario's balancer block (scenario.h BalancerSpec) with the balancer file's parsers: the
// listener's timeouts and retries into `listener`, the target group's fields into `group`;
// fields left out keep what the two hold. With the command provider the health check's path
// starts as "/" (an ALB's default), and the fleet's health_check comes last: what it gives wins
// over /balancer/health_check, field by field. UserError naming the scenario file and the
// pointer under /balancer or /fleet/health_check.
void scenario_balancer(const Scenario& scenario, BalancerConfig& listener,
                       TargetGroupConfig& group);

// Parses a config file (see above). UserError naming the file and the pointer.
BalanceConfig load_balance_config(const std::string& path);
BalanceConfig parse_balance_config(const nlohmann::json& doc, const std::string& file);

// The file (if any) with the flags applied on top. Checks the result: at least one target to
// forward to. UserError naming the flag otherwise.
BalanceConfig resolve_balance_config(const BalanceFlags& flags);

}  // namespace flotilla
