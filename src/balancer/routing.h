#pragma once
// Content-based routing (AWS: an Application Load Balancer listener's rules). Rules are tried in
// ascending priority; the first whose conditions all hold decides the action, else the default
// action does. Several values in one condition are alternatives (OR); several conditions in one
// rule must all hold (AND).
//
// Conditions, as an ALB evaluates them:
// - path_pattern: the request path without the query, case-sensitive, as received (no
//   percent-decoding, no dot-segment removal);
// - host_header: the Host value without its port, case-insensitive;
// - http_header: a named field (name case-insensitive) with a value matching one pattern
//   (case-insensitive); any of several fields of that name may match;
// - http_request_method: exact and case-sensitive, no wildcards.
// Patterns use the ALB wildcards: '*' matches any run of characters (also none), '?' exactly
// one.
//
// Actions: forward to one target group, or to several with weights (a weighted random choice
// per request), or a fixed response (status, content type, body) from the balancer itself.
//
// Everything here is a pure function: no sockets, no clock. The balancer evaluates it on its IO
// threads, so matching allocates nothing.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "balancer/data_plane.h"  // kDefaultTargetGroup

namespace flotilla {

class ConfigNode;

enum class ConditionField { kPathPattern, kHostHeader, kHttpHeader, kHttpRequestMethod };

struct RuleCondition {
  ConditionField field = ConditionField::kPathPattern;
  std::string header_name;          // kHttpHeader only
  std::vector<std::string> values;  // alternatives; at least one
  bool operator==(const RuleCondition&) const = default;
};

struct WeightedTargetGroup {
  std::string name;
  std::uint32_t weight = 1;  // 0..999; 0 = gets no requests
  bool operator==(const WeightedTargetGroup&) const = default;
};

struct FixedResponse {
  int status = 200;  // 2XX, 4XX or 5XX
  std::string content_type = "text/plain";
  std::string body;  // at most 1024 bytes
  bool operator==(const FixedResponse&) const = default;
};

struct RuleAction {
  enum class Type { kForward, kFixedResponse };
  Type type = Type::kForward;
  std::vector<WeightedTargetGroup> forward = {{std::string(kDefaultTargetGroup), 1}};
  FixedResponse fixed_response;  // kFixedResponse only
  bool operator==(const RuleAction&) const = default;
};

struct RoutingRule {
  int priority = 1;  // 1..50000, unique; lower is tried first
  std::vector<RuleCondition> conditions;
  RuleAction action;
  bool operator==(const RoutingRule&) const = default;
};

struct RoutingConfig {
  std::vector<RoutingRule> rules;  // any order; see sort_by_priority()
  RuleAction default_action;       // forward to "default"
  bool operator==(const RoutingConfig&) const = default;
};

// What routing sees of a request. Views into the request's bytes.
struct HeaderLine {
  std::string_view name;
  std::string_view value;
};
struct RequestView {
  std::string_view method;
  std::string_view path;  // without the query
  std::string_view host;  // without the port
  std::span<const HeaderLine> headers;
};

// '*' and '?' wildcards over the whole text.
bool wildcard_match(std::string_view pattern, std::string_view text, bool case_insensitive);

// The path of a request-target (query and fragment cut off). An absolute-form target
// ("http://host:80/p?q") gives its path ("/p", or "/" when empty) and sets `authority`
// ("host:80"), which then takes the place of the Host field (RFC 9112 section 3.2.2).
std::string_view target_path(std::string_view target, std::string_view& authority);
// "example.com:8080" -> "example.com"; "[::1]:80" -> "[::1]".
std::string_view host_without_port(std::string_view host);

bool condition_matches(const RuleCondition& condition, const RequestView& request);
bool rule_matches(const RoutingRule& rule, const RequestView& request);
// The index of the first rule (in vector order) that matches, or nullopt for the default action.
std::optional<std::size_t> matching_rule(std::span<const RoutingRule> rules,
                                         const RequestView& request);
// True if some rule has an http_header condition (only then does a caller need header lines).
bool uses_headers(const RoutingConfig& config);

// Sorts the rules by ascending priority (what matching_rule() expects).
void sort_by_priority(RoutingConfig& config);

// The index of the group a weighted forward chooses for `random` (uniform over 64 bits).
// Precondition: some weight > 0.
std::size_t choose_weighted(std::span<const WeightedTargetGroup> groups, std::uint64_t random);

// Every target group an action or the default action forwards to (deduplicated, sorted).
std::vector<std::string> referenced_groups(const RoutingConfig& config);

// ALB's limits and shapes: priorities 1..50000 and unique, at least one condition per rule and
// one value per condition, values at most 128 characters, methods of A-Z, '-' and '_', host
// patterns of letters, digits, '-', '.', '*', '?', forward to 1..5 distinct known groups with
// weights 0..999 and at least one > 0, fixed responses with a 2XX/4XX/5XX status, one of ALB's
// content types and a body of at most 1024 bytes. `known_groups`: the names a forward may use.
// Throws UserError(file, pointer, expected) with pointers below `base_pointer` in the layout
// parse_routing() reads ("/rules/2/conditions/path_pattern/0").
void validate_routing(const RoutingConfig& config, std::span<const std::string> known_groups,
                      const std::string& file, const std::string& base_pointer = "");

// Reads a routing object (validated, rules sorted by priority):
//   { "rules": [ { "priority": 10,
//                  "conditions": { "path_pattern": ["/api/*"], "host_header": ["*.example.com"],
//                                  "http_header": [ { "name": "X-Canary", "values": ["on"] } ],
//                                  "http_request_method": ["GET", "HEAD"] },
//                  "action": { "forward": "api" } } ],
//     "default_action": { "forward": "default" } }
// An action is { "forward": "group" }, { "forward": [ { "target_group": "blue", "weight": 90 },
// ... ] } or { "fixed_response": { "status": 404, "content_type": "text/plain", "body": "" } }.
// "rules" and "default_action" are optional (no rules; forward to "default"); "http_header" may
// also be a single object.
RoutingConfig parse_routing(const ConfigNode& node, std::span<const std::string> known_groups);

}  // namespace flotilla
