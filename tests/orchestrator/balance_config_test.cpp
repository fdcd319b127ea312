// `flotilla balance` settings: the file format, its errors, and flags over the file.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/errors.h"
#include "orchestrator/balance_config.h"
#include "support/files.h"

using namespace flotilla;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

const fs::path kSource = FLOTILLA_SOURCE_DIR;

BalanceConfig parse_balance(const std::string& text) {
  return parse_balance_config(nlohmann::json::parse(text), "lb.json");
}

// The pointer of the UserError that parsing `text` throws ("" when it does not throw).
std::string error_pointer(const std::string& text, std::string* message = nullptr) {
  try {
    parse_balance(text);
  } catch (const UserError& e) {
    if (message) *message = e.what();
    return e.pointer();
  }
  return "";
}

constexpr const char* kMinimal =
    R"({"target_groups": [{"name": "web", "targets": ["127.0.0.1:8081"]}]})";

}  // namespace

TEST_CASE("parse_host_port: addresses the balancer can bind or connect to") {
  struct Row {
    const char* text;
    bool allow_zero;
    std::optional<Endpoint> expected;
  };
  const Row rows[] = {
      {"127.0.0.1:8080", false, Endpoint{"127.0.0.1", 8080}},
      {"localhost:80", false, Endpoint{"127.0.0.1", 80}},
      {"[::1]:8080", false, Endpoint{"::1", 8080}},
      {"0.0.0.0:65535", false, Endpoint{"0.0.0.0", 65535}},
      {"127.0.0.1:0", true, Endpoint{"127.0.0.1", 0}},
      {"127.0.0.1:0", false, std::nullopt},
      {"127.0.0.1:65536", false, std::nullopt},
      {"127.0.0.1:", false, std::nullopt},
      {"127.0.0.1:80x", false, std::nullopt},
      {"127.0.0.1:-1", false, std::nullopt},
      {"127.0.0.1", false, std::nullopt},
      {"::1:8080", false, std::nullopt},  // IPv6 needs brackets
      {"[::1]8080", false, std::nullopt},
      {"example.com:80", false, std::nullopt},  // names are not resolved
      {"", false, std::nullopt},
  };
  for (const auto& row : rows) {
    CAPTURE(row.text);
    CHECK(parse_host_port(row.text, row.allow_zero) == row.expected);
  }
}

TEST_CASE("balance config: a full file maps onto the balancer and its target group") {
  auto c = parse_balance(R"({
    "listen": "127.0.0.1:0", "threads": 2, "algorithm": "least_outstanding_requests",
    "timeouts": {"connect": "250ms", "response": "5s", "client_idle": "20s",
                 "http_request": "3s"},
    "limits": {"max_header_bytes": 8192, "max_body_bytes": 1048576},
    "retries": {"max": 3, "budget_percent": 25, "budget_min_concurrency": 5},
    "target_groups": [{"name": "web", "algorithm": "weighted_round_robin",
      "targets": [{"address": "127.0.0.1:8081", "weight": 2}, "127.0.0.1:8082"],
      "health_check": {"path": "/ping", "interval": "2s", "timeout": "1s",
                       "healthy_threshold": 3, "unhealthy_threshold": 4},
      "deregistration_delay": "10s", "fail_open": false,
      "outlier_detection": {"consecutive_5xx": 3}}],
    "default_action": {"forward": "web"}})");
  CHECK(c.balancer.host == "127.0.0.1");
  CHECK(c.balancer.port == 0);
  CHECK(c.balancer.threads == 2);
  CHECK(c.balancer.algorithm == "least_outstanding_requests");
  CHECK(c.balancer.connect_timeout == 250ms);
  CHECK(c.balancer.response_timeout == 5s);
  CHECK(c.balancer.client_idle_timeout == 20s);
  CHECK(c.balancer.request_header_timeout == 3s);
  CHECK(c.balancer.max_header_bytes == 8192);
  CHECK(c.balancer.max_body_bytes == 1048576);
  CHECK(c.balancer.max_retries == 3);
  CHECK(c.balancer.retry_budget_percent == 25);
  CHECK(c.balancer.retry_budget_min_concurrency == 5);
  REQUIRE(c.target_groups.size() == 1);
  auto& g = c.target_groups[0];
  CHECK(&c.flag_group() == &g);
  CHECK(g.name == "web");
  CHECK(g.targets == std::vector<StaticTarget>{{{"127.0.0.1", 8081}, 2}, {{"127.0.0.1", 8082}, 1}});
  CHECK(g.config.health_check.path == "/ping");
  CHECK(g.config.health_check.interval == 2s);
  CHECK(g.config.health_check.timeout == 1s);
  CHECK(g.config.health_check.healthy_threshold == 3);
  CHECK(g.config.health_check.unhealthy_threshold == 4);
  CHECK(g.config.deregistration_delay == 10s);
  CHECK(g.config.fail_open == false);
  CHECK(g.config.outlier_detection.consecutive_5xx == 3);
  REQUIRE(c.routing.default_action.forward.size() == 1);
  CHECK(c.routing.default_action.forward[0].name == "web");

  // What the balancer gets: the group with its own algorithm, and the routing.
  const auto b = c.balancer_config();
  REQUIRE(b.target_groups.size() == 1);
  CHECK(b.target_groups[0].name == "web");
  CHECK(b.target_groups[0].algorithm == "weighted_round_robin");
  CHECK(b.routing == c.routing);
}

TEST_CASE(
    "balance config: rules and several groups; a group without algorithm takes the listener's") {
  auto c = parse_balance(R"({"algorithm": "least_outstanding_requests",
    "target_groups": [{"name": "web", "targets": ["127.0.0.1:8081"]},
                      {"name": "api", "targets": ["127.0.0.1:8082"]}],
    "rules": [{"priority": 5, "conditions": {"path_pattern": ["/api/*"]},
               "action": {"forward": "api"}}],
    "default_action": {"forward": "web"}})");
  REQUIRE(c.routing.rules.size() == 1);
  CHECK(c.routing.rules[0].action.forward[0].name == "api");
  CHECK(c.flag_group().name == "web");
  const auto b = c.balancer_config();
  REQUIRE(b.target_groups.size() == 2);
  CHECK(b.target_groups[1].algorithm == "least_outstanding_requests");
}

TEST_CASE("balance config: defaults for what the file leaves out") {
  const auto c = parse_balance(kMinimal);
  CHECK(c.balancer.threads == BalancerConfig{}.threads);
  CHECK(c.balancer.algorithm == "round_robin");
  // One group: the default action forwards to it without saying so.
  REQUIRE(c.routing.default_action.forward.size() == 1);
  CHECK(c.routing.default_action.forward[0].name == "web");
  // Any HTTP server: ALB's default health check path.
  CHECK(c.target_groups[0].config.health_check.path == "/");
}

TEST_CASE("balance config: mistakes name the field as a JSON pointer") {
  struct Row {
    const char* name;
    std::string text;
    std::string pointer;
  };
  const auto group = [](const std::string& body) {
    return R"({"target_groups": [{"name": "web", "targets": ["127.0.0.1:8081"])" + body + "}]}";
  };
  const Row rows[] = {
      {"unknown top-level field", R"({"lisen": "127.0.0.1:80", "target_groups": []})", "/lisen"},
      {"no target groups", R"({"listen": "127.0.0.1:80"})", "/target_groups"},
      {"empty target groups", R"({"target_groups": []})", "/target_groups"},
      {"bad listen", R"({"listen": "nowhere", "target_groups": []})", "/listen"},
      {"threads 0", R"({"threads": 0, "target_groups": []})", "/threads"},
      {"unknown algorithm", R"({"algorithm": "random", "target_groups": []})", "/algorithm"},
      {"bad timeout", R"({"timeouts": {"connect": "soon"}, "target_groups": []})",
       "/timeouts/connect"},
      {"unknown timeout", R"({"timeouts": {"read": "1s"}, "target_groups": []})", "/timeouts/read"},
      {"negative retries", R"({"retries": {"max": -1}, "target_groups": []})", "/retries/max"},
      {"budget over 100%", R"({"retries": {"budget_percent": 101}, "target_groups": []})",
       "/retries/budget_percent"},
      {"header limit too small", R"({"limits": {"max_header_bytes": 10}, "target_groups": []})",
       "/limits/max_header_bytes"},
      {"unknown limit", R"({"limits": {"max_uri": 10}, "target_groups": []})", "/limits/max_uri"},
      {"unknown group algorithm", group(R"(, "algorithm": "random")"),
       "/target_groups/0/algorithm"},
      {"group without name", R"({"target_groups": [{"targets": []}]})", "/target_groups/0/name"},
      {"unknown group field", group(R"(, "stickiness": true)"), "/target_groups/0/stickiness"},
      {"bad target address",
       R"({"target_groups": [{"name": "web", "targets": ["127.0.0.1:1", "127.0.0.1:x"]}]})",
       "/target_groups/0/targets/1"},
      {"bad target object address",
       R"({"target_groups": [{"name": "web", "targets": [{"address": "127.0.0.1:0"}]}]})",
       "/target_groups/0/targets/0/address"},
      {"weight out of range",
       R"({"target_groups": [{"name": "web", "targets": [{"address": "127.0.0.1:1", "weight": 1000}]}]})",
       "/target_groups/0/targets/0/weight"},
      {"target twice",
       R"({"target_groups": [{"name": "web", "targets": ["127.0.0.1:1", "127.0.0.1:1"]}]})",
       "/target_groups/0/targets/1"},
      {"health check path without /", group(R"(, "health_check": {"path": "health"})"),
       "/target_groups/0/health_check/path"},
      {"health check timeout not below interval",
       group(R"(, "health_check": {"interval": "1s", "timeout": "1s"})"),
       "/target_groups/0/health_check/timeout"},
      {"threshold 11", group(R"(, "health_check": {"healthy_threshold": 11})"),
       "/target_groups/0/health_check/healthy_threshold"},
      {"default action to an unknown group",
       R"({"target_groups": [{"name": "web"}], "default_action": {"forward": "api"}})",
       "/default_action/forward"},
      {"default action of unknown type",
       R"({"target_groups": [{"name": "web"}], "default_action": {"redirect": "web"}})",
       "/default_action/redirect"},
      {"two groups, no default action", R"({"target_groups": [{"name": "a"}, {"name": "b"}]})",
       "/default_action"},
      {"rule without priority",
       R"({"target_groups": [{"name": "web"}], "rules": [{"conditions": {}, "action": {"forward": "web"}}]})",
       "/rules/0/priority"},
      {"duplicate group names", R"({"target_groups": [{"name": "a"}, {"name": "a"}]})",
       "/target_groups/1/name"},
  };
  for (const auto& row : rows) {
    CAPTURE(std::string(row.name));
    std::string message;
    CHECK(error_pointer(row.text, &message) == row.pointer);
    CHECK(message.find("lb.json") != std::string::npos);
    CHECK(message.find("expected") != std::string::npos);
  }
}

TEST_CASE("balance config: the shipped example bench/conf/flotilla-balance.json is valid") {
  const auto path = (kSource / "bench/conf/flotilla-balance.json").string();
  const auto c = load_balance_config(path);
  CHECK(c.target_groups.size() == 1);
  CHECK(c.target_groups[0].targets.size() == 4);
  CHECK(c.balancer.threads == 1);
}

TEST_CASE("balance flags: override the file, and without a file they are the whole config") {
  const auto dir = test::fresh_temp_dir("balance-config");
  const auto file = (dir / "lb.json").string();
  std::ofstream(file) << R"({"listen": "127.0.0.1:9000", "threads": 3,
    "target_groups": [{"name": "web", "targets": ["127.0.0.1:8081", "127.0.0.1:8082"],
                       "health_check": {"path": "/ping"}}]})";

  BalanceFlags flags;
  flags.config_path = file;
  auto c = resolve_balance_config(flags);
  CHECK(c.balancer.port == 9000);
  CHECK(c.balancer.threads == 3);
  CHECK(c.target_groups[0].targets.size() == 2);

  flags.listen = "127.0.0.1:0";
  flags.threads = 1;
  flags.algorithm = "least_outstanding_requests";
  flags.targets = {"127.0.0.1:7001"};
  flags.health_check_path = "/health";
  c = resolve_balance_config(flags);
  CHECK(c.balancer.port == 0);
  CHECK(c.balancer.threads == 1);
  CHECK(c.balancer.algorithm == "least_outstanding_requests");
  CHECK(c.target_groups[0].targets == std::vector<StaticTarget>{{{"127.0.0.1", 7001}, 1}});
  CHECK(c.target_groups[0].config.health_check.path == "/health");

  BalanceFlags only;
  only.targets = {"127.0.0.1:7001", "127.0.0.1:7002"};
  c = resolve_balance_config(only);
  CHECK(c.balancer.host == "127.0.0.1");
  CHECK(c.target_groups[0].targets.size() == 2);
  CHECK(c.target_groups[0].config.health_check.path == "/");
  fs::remove_all(dir);
}

TEST_CASE("balance flags: mistakes name the flag") {
  struct Row {
    const char* name;
    BalanceFlags flags;
    std::string says;
  };
  const auto with = [](auto change) {
    BalanceFlags f;
    f.targets = {"127.0.0.1:7001"};
    change(f);
    return f;
  };
  const Row rows[] = {
      {"no target", BalanceFlags{}, "--target"},
      {"bad target", with([](auto& f) { f.targets = {"seven"}; }), "--target"},
      {"bad listen", with([](auto& f) { f.listen = "127.0.0.1"; }), "--listen"},
      {"threads 0", with([](auto& f) { f.threads = 0; }), "--threads"},
      {"unknown algorithm", with([](auto& f) { f.algorithm = "fastest"; }), "--algorithm"},
      {"bad health check path", with([](auto& f) { f.health_check_path = "x"; }),
       "--health-check-path"},
      {"missing file", with([](auto& f) { f.config_path = "/nonexistent/lb.json"; }),
       "/nonexistent/lb.json"},
  };
  for (const auto& row : rows) {
    CAPTURE(std::string(row.name));
    std::string message;
    try {
      resolve_balance_config(row.flags);
    } catch (const UserError& e) {
      message = e.what();
    }
    CHECK(message.find(row.says) != std::string::npos);
  }
}
