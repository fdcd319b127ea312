#include "balancer/routing.h"

#include <doctest/doctest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/errors.h"

using namespace flotilla;

namespace {

RuleCondition path(std::vector<std::string> values) {
  return {ConditionField::kPathPattern, "", std::move(values)};
}
RuleCondition host(std::vector<std::string> values) {
  return {ConditionField::kHostHeader, "", std::move(values)};
}
RuleCondition header(std::string name, std::vector<std::string> values) {
  return {ConditionField::kHttpHeader, std::move(name), std::move(values)};
}
RuleCondition method(std::vector<std::string> values) {
  return {ConditionField::kHttpRequestMethod, "", std::move(values)};
}
RuleAction forward_to(std::string group) {
  RuleAction a;
  a.forward = {{std::move(group), 1}};
  return a;
}

const std::vector<std::string> kRoutedGroups = {"default", "api", "static", "blue", "green"};

}  // namespace

TEST_CASE("wildcard_match: ALB's * and ?") {
  struct Row {
    std::string_view pattern;
    std::string_view text;
    bool case_insensitive;
    bool match;
  };
  const std::vector<Row> rows = {
      {"/api", "/api", false, true},
      {"/api", "/api/", false, false},
      {"/api/*", "/api/", false, true},
      {"/api/*", "/api/v1/users", false, true},
      {"/api/*", "/apix", false, false},
      {"*", "", false, true},
      {"*", "anything", false, true},
      {"", "", false, true},
      {"", "x", false, false},
      {"?", "", false, false},
      {"?", "a", false, true},
      {"/img/*.png", "/img/a/b.png", false, true},
      {"/img/*.png", "/img/a.png.gif", false, false},
      {"/a*b*c", "/aXbYbZc", false, true},
      {"/a*b*c", "/aXbYbZ", false, false},
      {"/v?/x", "/v1/x", false, true},
      {"/v?/x", "/v12/x", false, false},
      {"**", "abc", false, true},
      {"*a", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", false, false},
      {"/API/*", "/api/x", false, false},  // paths are case-sensitive
      {"/API/*", "/api/x", true, true},
      {"*.Example.COM", "www.example.com", true, true},
      {"*.example.com", "example.com", true, false},
  };
  for (const auto& row : rows) {
    CAPTURE(row.pattern);
    CAPTURE(row.text);
    CHECK(wildcard_match(row.pattern, row.text, row.case_insensitive) == row.match);
  }
}

TEST_CASE("target_path and host_without_port") {
  struct Row {
    std::string_view target;
    std::string_view path;
    std::string_view authority;  // after the call; "H" if unchanged
  };
  const std::vector<Row> rows = {
      {"/", "/", "H"},
      {"/a/b?x=1", "/a/b", "H"},
      {"/a#frag", "/a", "H"},
      {"*", "*", "H"},
      {"http://example.com/a?q", "/a", "example.com"},
      {"HTTP://example.com:81", "/", "example.com:81"},
      {"https://e.com?q", "/", "e.com"},
  };
  for (const auto& row : rows) {
    CAPTURE(row.target);
    std::string_view authority = "H";
    CHECK(target_path(row.target, authority) == row.path);
    CHECK(authority == row.authority);
  }
  CHECK(host_without_port("example.com:8080") == "example.com");
  CHECK(host_without_port("example.com") == "example.com");
  CHECK(host_without_port("[::1]:80") == "[::1]");
  CHECK(host_without_port("[::1]") == "[::1]");
  CHECK(host_without_port("") == "");
}

TEST_CASE("conditions: one value of several matches (OR), header names any case") {
  const std::vector<HeaderLine> headers = {
      {"Accept", "*/*"}, {"x-canary", "On"}, {"X-Team", "blue"}, {"X-Team", "red"}};
  const RequestView request{"GET", "/api/users", "www.example.com", headers};
  struct Row {
    const char* name;
    RuleCondition condition;
    bool match;
  };
  const std::vector<Row> rows = {
      {"path, one of two", path({"/static/*", "/api/*"}), true},
      {"path, none", path({"/static/*", "/v2/*"}), false},
      {"path is case-sensitive", path({"/API/*"}), false},
      {"host, wildcard, case-insensitive", host({"*.EXAMPLE.com"}), true},
      {"host, other", host({"api.example.com"}), false},
      {"header, name any case, value any case", header("X-Canary", {"on"}), true},
      {"header, value wildcard", header("x-canary", {"o?"}), true},
      {"header, second field of that name", header("x-team", {"red"}), true},
      {"header, absent", header("X-Missing", {"*"}), false},
      {"header, wrong value", header("X-Canary", {"off"}), false},
      {"method, one of two", method({"POST", "GET"}), true},
      {"method is case-sensitive", method({"get"}), false},
      {"method has no wildcards", method({"G*"}), false},
  };
  for (const auto& row : rows) {
    CAPTURE(std::string(row.name));
    CHECK(condition_matches(row.condition, request) == row.match);
  }
}

TEST_CASE("rules: all conditions must hold (AND), lowest priority wins, default otherwise") {
  RoutingConfig config;
  config.rules.push_back({30, {path({"/*"})}, forward_to("static")});
  config.rules.push_back({10, {path({"/api/*"}), method({"POST"})}, forward_to("api")});
  config.rules.push_back({20, {host({"api.*"})}, forward_to("blue")});
  sort_by_priority(config);
  REQUIRE(config.rules[0].priority == 10);

  struct Row {
    const char* name;
    RequestView request;
    std::optional<int> priority;  // of the rule that matches
  };
  const std::vector<Row> rows = {
      {"POST /api: both conditions of 10", {"POST", "/api/x", "www.e.com", {}}, 10},
      {"GET /api: 10 needs POST; 30 matches any path", {"GET", "/api/x", "www.e.com", {}}, 30},
      {"host api.*: 20 before 30", {"GET", "/x", "api.e.com", {}}, 20},
      {"empty path: nothing matches", {"GET", "", "www.e.com", {}}, std::nullopt},
  };
  for (const auto& row : rows) {
    CAPTURE(std::string(row.name));
    const auto index = matching_rule(config.rules, row.request);
    REQUIRE(index.has_value() == row.priority.has_value());
    if (index) CHECK(config.rules[*index].priority == *row.priority);
  }
  CHECK_FALSE(uses_headers(config));
  config.rules[0].conditions.push_back(header("X-A", {"1"}));
  CHECK(uses_headers(config));
  CHECK(referenced_groups(config) == std::vector<std::string>{"api", "blue", "default", "static"});
}

TEST_CASE("choose_weighted: in proportion to the weights, never a weight of 0") {
  const std::vector<WeightedTargetGroup> groups = {{"a", 3}, {"zero", 0}, {"b", 1}};
  struct Row {
    std::uint64_t random;
    std::size_t chosen;
  };
  // total 4: 0,1,2 -> a; 3 -> b
  const std::vector<Row> rows = {{0, 0}, {1, 0}, {2, 0}, {3, 2}, {4, 0}, {7, 2}, {~0ULL, 2}};
  for (const auto& row : rows) {
    CAPTURE(row.random);
    CHECK(choose_weighted(groups, row.random) == row.chosen);
  }
  std::map<std::size_t, int> counts;
  for (std::uint64_t r = 0; r < 4000; ++r) ++counts[choose_weighted(groups, r * 2654435761ULL)];
  CHECK(counts[1] == 0);
  CHECK(counts[0] == 3000);
  CHECK(counts[2] == 1000);
}

TEST_CASE("parse_routing reads rules, weighted forwards, fixed responses, sorted by priority") {
  const auto doc = nlohmann::json::parse(R"({
    "rules": [
      { "priority": 20,
        "conditions": { "path_pattern": ["/static/*"], "http_request_method": ["GET", "HEAD"] },
        "action": { "forward": "static" } },
      { "priority": 5,
        "conditions": { "host_header": ["canary.*"],
                        "http_header": { "name": "X-Canary", "values": ["on"] } },
        "action": { "forward": [ { "target_group": "blue", "weight": 90 },
                                 { "target_group": "green", "weight": 10 } ] } },
      { "priority": 7,
        "conditions": { "path_pattern": ["/health"] },
        "action": { "fixed_response": { "status": 200, "content_type": "application/json",
                                         "body": "{\"ok\":true}" } } }
    ],
    "default_action": { "fixed_response": { "status": 404 } }
  })");
  const RoutingConfig config = parse_routing(ConfigNode(doc, "lb.json", "/routing"), kRoutedGroups);
  REQUIRE(config.rules.size() == 3);
  CHECK(config.rules[0].priority == 5);
  CHECK(config.rules[0].conditions ==
        std::vector<RuleCondition>{host({"canary.*"}), header("X-Canary", {"on"})});
  CHECK(config.rules[0].action.forward ==
        std::vector<WeightedTargetGroup>{{"blue", 90}, {"green", 10}});
  CHECK(config.rules[1].priority == 7);
  CHECK(config.rules[1].action.type == RuleAction::Type::kFixedResponse);
  CHECK(config.rules[1].action.fixed_response ==
        FixedResponse{200, "application/json", "{\"ok\":true}"});
  CHECK(config.rules[2].conditions ==
        std::vector<RuleCondition>{path({"/static/*"}), method({"GET", "HEAD"})});
  CHECK(config.rules[2].action == forward_to("static"));
  CHECK(config.default_action.type == RuleAction::Type::kFixedResponse);
  CHECK(config.default_action.fixed_response == FixedResponse{404, "text/plain", ""});

  const auto empty = nlohmann::json::parse("{}");
  CHECK(parse_routing(ConfigNode(empty, "lb.json"), kRoutedGroups) == RoutingConfig{});
}

TEST_CASE("parse_routing errors name the field") {
  struct Row {
    const char* name;
    std::string json;
    std::string pointer;
  };
  const auto rule = [](const std::string& conditions, const std::string& action, int priority = 1) {
    return R"({"rules": [ {"priority": 1, "conditions": {"path_pattern": ["/"]},
                           "action": {"forward": "api"}},
                          {"priority": )" +
           std::to_string(priority) + R"(, "conditions": )" + conditions + R"(, "action": )" +
           action + "} ]}";
  };
  const std::string ok_conditions = R"({"path_pattern": ["/a"]})";
  const std::string ok_action = R"({"forward": "api"})";
  const std::vector<Row> rows = {
      {"duplicate priority", rule(ok_conditions, ok_action, 1), "/r/rules/1/priority"},
      {"priority out of range", rule(ok_conditions, ok_action, 50001), "/r/rules/1/priority"},
      {"no conditions", rule("{}", ok_action, 2), "/r/rules/1/conditions"},
      {"unknown condition", rule(R"({"query_string": ["a"]})", ok_action, 2),
       "/r/rules/1/conditions/query_string"},
      {"empty path list", rule(R"({"path_pattern": []})", ok_action, 2),
       "/r/rules/1/conditions/path_pattern"},
      {"empty path value", rule(R"({"path_pattern": ["/a", ""]})", ok_action, 2),
       "/r/rules/1/conditions/path_pattern/1"},
      {"path with a space", rule(R"({"path_pattern": ["/a b"]})", ok_action, 2),
       "/r/rules/1/conditions/path_pattern/0"},
      {"lower-case method", rule(R"({"http_request_method": ["get"]})", ok_action, 2),
       "/r/rules/1/conditions/http_request_method/0"},
      {"bad host pattern", rule(R"({"host_header": ["a_b.com"]})", ok_action, 2),
       "/r/rules/1/conditions/host_header/0"},
      {"bad header name",
       rule(R"({"http_header": [{"name": "X A", "values": ["1"]}]})", ok_action, 2),
       "/r/rules/1/conditions/http_header/0/name"},
      {"unknown group", rule(ok_conditions, R"({"forward": "nope"})", 2),
       "/r/rules/1/action/forward"},
      {"unknown weighted group",
       rule(ok_conditions, R"({"forward": [{"target_group": "api"}, {"target_group": "x"}]})", 2),
       "/r/rules/1/action/forward/1/target_group"},
      {"weights all 0",
       rule(ok_conditions, R"({"forward": [{"target_group": "api", "weight": 0}]})", 2),
       "/r/rules/1/action/forward"},
      {"weight too large",
       rule(ok_conditions, R"({"forward": [{"target_group": "api", "weight": 1000}]})", 2),
       "/r/rules/1/action/forward/0/weight"},
      {"group twice",
       rule(ok_conditions, R"({"forward": [{"target_group": "api"}, {"target_group": "api"}]})", 2),
       "/r/rules/1/action/forward/1/target_group"},
      {"both actions",
       rule(ok_conditions, R"({"forward": "api", "fixed_response": {"status": 200}})", 2),
       "/r/rules/1/action"},
      {"3xx fixed response", rule(ok_conditions, R"({"fixed_response": {"status": 301}})", 2),
       "/r/rules/1/action/fixed_response/status"},
      {"bad content type",
       rule(ok_conditions, R"({"fixed_response": {"status": 200, "content_type": "image/png"}})",
            2),
       "/r/rules/1/action/fixed_response/content_type"},
      {"body too long",
       rule(ok_conditions,
            R"({"fixed_response": {"status": 200, "body": ")" + std::string(1025, 'x') + R"("}})",
            2),
       "/r/rules/1/action/fixed_response/body"},
      {"bad default action", R"({"default_action": {"forward": "nope"}})",
       "/r/default_action/forward"},
  };
  for (const auto& row : rows) {
    CAPTURE(std::string(row.name));
    const auto doc = nlohmann::json::parse(row.json);
    try {
      parse_routing(ConfigNode(doc, "lb.json", "/r"), kRoutedGroups);
      FAIL("expected UserError");
    } catch (const UserError& e) {
      CAPTURE(std::string(e.what()));
      CHECK(e.file() == "lb.json");
      CHECK(e.pointer() == row.pointer);
    }
  }
}
