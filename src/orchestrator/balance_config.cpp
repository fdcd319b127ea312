#include "orchestrator/balance_config.h"

#include <boost/asio/ip/address.hpp>
#include <charconv>
#include <nlohmann/json.hpp>
#include <set>

#include "balancer/picker.h"
#include "balancer/target_group_config.h"
#include "core/config.h"
#include "core/duration.h"
#include "core/errors.h"
#include "core/format.h"

namespace flotilla {
namespace {

constexpr int kMaxBalancerThreads = 64;
constexpr int kMaxRetries = 10;
constexpr std::uint32_t kMaxWeight = 999;  // ALB's maximum target-group weight
// The balancer's client buffer holds a header of at most 32 KiB plus what follows it.
constexpr std::int64_t kMaxHeaderBytes = 16 * 1024;
constexpr std::int64_t kMaxBodyBytes = std::int64_t{1} << 40;

// A literal address the balancer can connect to or bind; "localhost" means IPv4 loopback.
std::optional<std::string> usable_host(std::string_view host) {
  if (host == "localhost") return std::string("127.0.0.1");
  boost::system::error_code ec;
  const auto address = boost::asio::ip::make_address(std::string(host), ec);
  if (ec) return std::nullopt;
  return address.to_string();
}

std::string algorithm_choices() { return join(picker_names()); }

std::string parse_algorithm(const ConfigNode& node) {
  const auto name = node.as_nonempty_string();
  const auto names = picker_names();
  if (std::find(names.begin(), names.end(), name) == names.end())
    node.fail("one of " + algorithm_choices());
  return name;
}

Endpoint parse_address(const ConfigNode& node, bool allow_port_zero) {
  const auto endpoint = parse_host_port(node.as_string(), allow_port_zero);
  if (!endpoint)
    node.fail(std::string("an address HOST:PORT such as \"127.0.0.1:8081\"") +
              (allow_port_zero ? " (port 0: the OS picks)" : ""));
  return *endpoint;
}

StaticTargetGroup parse_target_group(const ConfigNode& node) {
  StaticTargetGroup g;
  g.config = parse_target_group_config(node, {"name", "algorithm", "targets"},
                                       default_static_group_config());
  g.name = node.at("name").as_nonempty_string();
  if (auto n = node.get("algorithm")) g.algorithm = parse_algorithm(*n);
  if (auto list = node.get("targets")) {
    std::set<std::string> seen;
    for (const auto& item : list->items()) {
      StaticTarget t;
      if (item.is_string()) {
        t.endpoint = parse_address(item, false);
      } else {
        item.only_keys({"address", "weight"});
        t.endpoint = parse_address(item.at("address"), false);
        if (auto w = item.get("weight"))
          t.weight = static_cast<std::uint32_t>(w->as_int(0, kMaxWeight));
      }
      if (!seen.insert(t.endpoint.to_string()).second)
        item.fail("each target once; " + t.endpoint.to_string() + " is listed twice");
      g.targets.push_back(t);
    }
  }
  return g;
}

// HAProxy: timeout connect, timeout server, timeout http-keep-alive, timeout http-request.
void parse_timeouts(const ConfigNode& node, BalancerConfig& b) {
  node.only_keys({"connect", "response", "client_idle", "http_request"});
  if (auto n = node.get("connect")) b.connect_timeout = n->as_duration(1ms, 300s);
  if (auto n = node.get("response")) b.response_timeout = n->as_duration(1ms, 3600s);
  if (auto n = node.get("client_idle")) b.client_idle_timeout = n->as_duration(1ms, 3600s);
  if (auto n = node.get("http_request")) b.request_header_timeout = n->as_duration(1ms, 3600s);
}

// HAProxy: tune.bufsize-like header limit (431 above it), ALB has no body limit (0).
void parse_limits(const ConfigNode& node, BalancerConfig& b) {
  node.only_keys({"max_header_bytes", "max_body_bytes"});
  if (auto n = node.get("max_header_bytes"))
    b.max_header_bytes = static_cast<std::uint32_t>(n->as_int(1024, kMaxHeaderBytes));
  if (auto n = node.get("max_body_bytes"))
    b.max_body_bytes = static_cast<std::uint64_t>(n->as_int(0, kMaxBodyBytes));
}

// HAProxy: retries (always redispatched to another target); Envoy: retry_budget.
void parse_retries(const ConfigNode& node, BalancerConfig& b) {
  node.only_keys({"max", "budget_percent", "budget_min_concurrency"});
  if (auto n = node.get("max")) b.max_retries = static_cast<int>(n->as_int(0, kMaxRetries));
  if (auto n = node.get("budget_percent")) b.retry_budget_percent = n->as_number(0, 100);
  if (auto n = node.get("budget_min_concurrency"))
    b.retry_budget_min_concurrency = static_cast<int>(n->as_int(0, 10000));
}

}  // namespace

TargetGroupConfig default_static_group_config() {
  TargetGroupConfig c;
  c.health_check.path = "/";
  return c;
}

StaticTargetGroup& BalanceConfig::flag_group() {
  if (routing.default_action.type == RuleAction::Type::kForward) {
    for (const auto& forward : routing.default_action.forward)
      for (auto& g : target_groups)
        if (g.name == forward.name) return g;
  }
  return target_groups.front();
}

BalancerConfig BalanceConfig::balancer_config() const {
  BalancerConfig b = balancer;
  b.target_groups.clear();
  for (const auto& g : target_groups)
    b.target_groups.push_back({g.name, g.algorithm.empty() ? balancer.algorithm : g.algorithm});
  b.routing = routing;
  return b;
}

std::optional<Endpoint> parse_host_port(std::string_view text, bool allow_port_zero) {
  std::string_view host;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return std::nullopt;
    host = text.substr(1, close - 1);
    port_text = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return std::nullopt;  // IPv6 needs brackets
  }
  unsigned port = 0;
  const auto [end, ec] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() ||
      port > 65535 || (port == 0 && !allow_port_zero))
    return std::nullopt;
  const auto address = usable_host(host);
  if (!address) return std::nullopt;
  return Endpoint{*address, static_cast<std::uint16_t>(port)};
}

BalanceConfig parse_balance_config(const nlohmann::json& doc, const std::string& file) {
  const ConfigNode root(doc, file);
  root.only_file_keys({"listen", "threads", "algorithm", "timeouts", "limits", "retries",
                  "target_groups", "rules", "default_action"});
  BalanceConfig c;
  if (auto n = root.get("listen")) {
    const auto listen = parse_address(*n, true);
    c.balancer.host = listen.host;
    c.balancer.port = listen.port;
  }
  if (auto n = root.get("threads"))
    c.balancer.threads = static_cast<int>(n->as_int(1, kMaxBalancerThreads));
  if (auto n = root.get("algorithm")) c.balancer.algorithm = parse_algorithm(*n);
  if (auto n = root.get("timeouts")) parse_timeouts(*n, c.balancer);
  if (auto n = root.get("limits")) parse_limits(*n, c.balancer);
  if (auto n = root.get("retries")) parse_retries(*n, c.balancer);

  const auto groups = root.at("target_groups");
  std::vector<std::string> names;
  for (const auto& item : groups.items()) {
    auto g = parse_target_group(item);
    if (std::find(names.begin(), names.end(), g.name) != names.end())
      item.at("name").fail("a name no other target group has");
    names.push_back(g.name);
    c.target_groups.push_back(std::move(g));
  }
  if (c.target_groups.empty()) groups.fail("at least one target group");

  // parse_routing reads an object of rules and default_action; the same pointers as the root.
  nlohmann::json routing = nlohmann::json::object();
  for (const char* key : {"rules", "default_action"})
    if (doc.contains(key)) routing[key] = doc[key];
  // With a single group, forwarding to it needs no words; with several, say which one.
  if (!routing.contains("default_action")) {
    if (c.target_groups.size() > 1)
      root.child_pointer_only("default_action")
          .fail("a default action, e.g. {\"forward\": \"" + names.front() + "\"}, with " +
                std::to_string(names.size()) + " target groups");
    routing["default_action"] = {{"forward", c.target_groups.front().name}};
  }
  c.routing = parse_routing(ConfigNode(routing, file), names);
  return c;
}

void scenario_balancer(const Scenario& scenario, BalancerConfig& listener,
                       TargetGroupConfig& group) {
  const ConfigNode block(scenario.balancer.settings, scenario.file, "/balancer");
  if (auto n = block.get("timeouts")) parse_timeouts(*n, listener);
  if (auto n = block.get("retries")) parse_retries(*n, listener);
  // A user's server answers what it serves, not flotilla-worker's /health: an ALB's default.
  if (scenario.fleet.provider == kProviderCommand)
    group.health_check.path = default_static_group_config().health_check.path;
  group = parse_target_group_config(block, {"timeouts", "retries"}, group);
  if (!scenario.fleet.health_check.is_null())
    group.health_check = parse_health_check(
        ConfigNode(scenario.fleet.health_check, scenario.file, "/fleet/health_check"),
        group.health_check);
}

BalanceConfig load_balance_config(const std::string& path) {
  const auto doc = load_json_file(path);
  return parse_balance_config(doc, path);
}

BalanceConfig resolve_balance_config(const BalanceFlags& flags) {
  BalanceConfig c;
  if (flags.config_path) {
    c = load_balance_config(*flags.config_path);
  } else {
    c.target_groups.push_back(
        {std::string(kDefaultTargetGroup), "", {}, default_static_group_config()});
  }
  if (flags.listen) {
    const auto listen = parse_host_port(*flags.listen, true);
    if (!listen)
      throw UserError(
          "--listen: expected HOST:PORT such as 127.0.0.1:8080 (port 0: the OS "
          "picks), got \"" +
          *flags.listen + "\"");
    c.balancer.host = listen->host;
    c.balancer.port = listen->port;
  }
  if (flags.threads) {
    if (*flags.threads < 1 || *flags.threads > kMaxBalancerThreads)
      throw UserError("--threads: expected a number from 1 to " + std::to_string(kMaxBalancerThreads) +
                      ", got " + std::to_string(*flags.threads));
    c.balancer.threads = *flags.threads;
  }
  if (flags.algorithm) {
    const auto names = picker_names();
    if (std::find(names.begin(), names.end(), *flags.algorithm) == names.end())
      throw UserError("--algorithm: expected one of " + algorithm_choices() + ", got \"" +
                      *flags.algorithm + "\"");
    c.balancer.algorithm = *flags.algorithm;
  }
  if (flags.drain_timeout) {
    c.drain_timeout =
        parse_duration_flag(*flags.drain_timeout, "--drain-timeout", Duration::zero());
  }
  auto& group = c.flag_group();
  if (flags.health_check_path) {
    if (flags.health_check_path->empty() || flags.health_check_path->front() != '/')
      throw UserError("--health-check-path: expected a path starting with \"/\", got \"" +
                      *flags.health_check_path + "\"");
    group.config.health_check.path = *flags.health_check_path;
  }
  if (!flags.targets.empty()) {
    group.targets.clear();
    for (const auto& text : flags.targets) {
      const auto endpoint = parse_host_port(text, false);
      if (!endpoint)
        throw UserError("--target: expected HOST:PORT such as 127.0.0.1:8081, got \"" + text +
                        "\"");
      group.targets.push_back({*endpoint, 1});
    }
  }
  const bool any_target = std::any_of(c.target_groups.begin(), c.target_groups.end(),
                                      [](const auto& g) { return !g.targets.empty(); });
  if (!any_target) {
    if (flags.config_path)
      throw UserError(*flags.config_path, "/target_groups",
                      "a target in some target group (or --target flags)");
    throw UserError("--target: expected at least one HOST:PORT to balance over");
  }
  return c;
}

}  // namespace flotilla
