#include "balancer/routing.h"

#include <algorithm>
#include <set>

#include "core/ascii.h"
#include "core/config.h"
#include "core/errors.h"

namespace flotilla {
namespace {

bool starts_with_icase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && ascii_iequals(s.substr(0, prefix.size()), prefix);
}

constexpr int kMinPriority = 1;
constexpr int kMaxPriority = 50000;
constexpr std::size_t kMaxValueSize = 128;
constexpr std::size_t kMaxMethodSize = 40;
constexpr std::uint32_t kMaxWeight = 999;
constexpr std::size_t kMaxForwardGroups = 5;
constexpr std::size_t kMaxFixedBody = 1024;
constexpr std::string_view kContentTypes[] = {"text/plain", "text/css", "text/html",
                                              "application/javascript", "application/json"};

std::string_view key_of(ConditionField field) {
  switch (field) {
    case ConditionField::kPathPattern:
      return "path_pattern";
    case ConditionField::kHostHeader:
      return "host_header";
    case ConditionField::kHttpHeader:
      return "http_header";
    case ConditionField::kHttpRequestMethod:
      return "http_request_method";
  }
  return "path_pattern";
}

bool valid_method(std::string_view m) {
  if (m.empty() || m.size() > kMaxMethodSize) return false;
  return std::all_of(m.begin(), m.end(),
                     [](char c) { return (c >= 'A' && c <= 'Z') || c == '-' || c == '_'; });
}

bool valid_host_pattern(std::string_view h) {
  return std::all_of(h.begin(), h.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '*' || c == '?';
  });
}

// Visible ASCII only: a pattern is compared with bytes of a request line or field.
bool valid_pattern(std::string_view p) {
  return std::all_of(p.begin(), p.end(), [](char c) { return c > ' ' && c < 0x7f; });
}

bool valid_field_name(std::string_view name) {
  constexpr std::string_view kTokenPunctuation = "!#$%&'*+-.^_`|~";
  return !name.empty() && std::all_of(name.begin(), name.end(), [&](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           kTokenPunctuation.find(c) != std::string_view::npos;
  });
}

void validate_action(const RuleAction& action, std::span<const std::string> known_groups,
                     const std::string& file, const std::string& pointer) {
  if (action.type == RuleAction::Type::kFixedResponse) {
    const auto& fixed = action.fixed_response;
    const std::string at = pointer + "/fixed_response";
    const int klass = fixed.status / 100;
    if (fixed.status < 200 || fixed.status > 599 || klass == 3) {
      throw UserError(
          file, at + "/status",
          "a status code 200-299, 400-499 or 500-599, got " + std::to_string(fixed.status));
    }
    if (std::find(std::begin(kContentTypes), std::end(kContentTypes), fixed.content_type) ==
        std::end(kContentTypes)) {
      throw UserError(file, at + "/content_type",
                      "one of text/plain, text/css, text/html, application/javascript, "
                      "application/json, got \"" +
                          fixed.content_type + "\"");
    }
    if (fixed.body.size() > kMaxFixedBody) {
      throw UserError(file, at + "/body",
                      "a body of at most 1024 bytes, got " + std::to_string(fixed.body.size()));
    }
    return;
  }
  const std::string at = pointer + "/forward";
  if (action.forward.empty() || action.forward.size() > kMaxForwardGroups) {
    throw UserError(file, at, "1 to 5 target groups");
  }
  std::uint64_t total = 0;
  std::set<std::string_view> seen;
  for (std::size_t i = 0; i < action.forward.size(); ++i) {
    const auto& group = action.forward[i];
    const std::string item = action.forward.size() == 1 ? at : at + "/" + std::to_string(i);
    if (std::find(known_groups.begin(), known_groups.end(), group.name) == known_groups.end()) {
      std::string known;
      for (const auto& name : known_groups) known += (known.empty() ? "" : ", ") + name;
      throw UserError(file, action.forward.size() == 1 ? item : item + "/target_group",
                      "a known target group (" + known + "), got \"" + group.name + "\"");
    }
    if (!seen.insert(group.name).second) {
      throw UserError(file, item + "/target_group",
                      "each target group once, got \"" + group.name + "\" twice");
    }
    if (group.weight > kMaxWeight) {
      throw UserError(file, item + "/weight",
                      "a weight 0-999, got " + std::to_string(group.weight));
    }
    total += group.weight;
  }
  if (total == 0) throw UserError(file, at, "at least one target group with a weight above 0");
}

// ---- parsing ----

std::vector<std::string> strings(const ConfigNode& node) {
  std::vector<std::string> out;
  for (const auto& item : node.items()) out.push_back(item.as_string());
  if (out.empty()) node.fail("a non-empty array of strings");
  return out;
}

RuleCondition header_condition(const ConfigNode& node) {
  node.only_keys({"name", "values"});
  RuleCondition c;
  c.field = ConditionField::kHttpHeader;
  c.header_name = node.at("name").as_nonempty_string();
  c.values = strings(node.at("values"));
  return c;
}

RuleAction parse_action(const ConfigNode& node) {
  node.only_keys({"forward", "fixed_response"});
  RuleAction action;
  const auto forward = node.get("forward");
  const auto fixed = node.get("fixed_response");
  if (forward.has_value() == fixed.has_value()) {
    node.fail("an object with either \"forward\" or \"fixed_response\"");
  }
  if (fixed) {
    fixed->only_keys({"status", "content_type", "body"});
    action.type = RuleAction::Type::kFixedResponse;
    action.fixed_response.status = static_cast<int>(fixed->at("status").as_int(0, 999));
    if (const auto type = fixed->get("content_type")) {
      action.fixed_response.content_type = type->as_string();
    }
    if (const auto body = fixed->get("body")) action.fixed_response.body = body->as_string();
    return action;
  }
  action.forward.clear();
  if (forward->is_string()) {
    action.forward.push_back({forward->as_nonempty_string(), 1});
    return action;
  }
  if (!forward->is_array()) forward->fail("a target group name or an array of weighted groups");
  for (const auto& item : forward->items()) {
    item.only_keys({"target_group", "weight"});
    WeightedTargetGroup group;
    group.name = item.at("target_group").as_nonempty_string();
    if (const auto weight = item.get("weight")) {
      group.weight = static_cast<std::uint32_t>(weight->as_int(0, kMaxWeight));
    }
    action.forward.push_back(std::move(group));
  }
  return action;
}

}  // namespace

bool wildcard_match(std::string_view pattern, std::string_view text, bool case_insensitive) {
  // Greedy with one backtrack point (the last '*'): linear for patterns without '*', at worst
  // pattern size times text size, and no allocation.
  std::size_t p = 0;
  std::size_t t = 0;
  std::size_t star = std::string_view::npos;
  std::size_t star_text = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] != '*' &&
        (pattern[p] == '?' || pattern[p] == text[t] ||
         (case_insensitive && ascii_lower(pattern[p]) == ascii_lower(text[t])))) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      star_text = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++star_text;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

std::string_view target_path(std::string_view target, std::string_view& authority) {
  if (starts_with_icase(target, "http://") || starts_with_icase(target, "https://")) {
    target.remove_prefix(target.find("//") + 2);
    const auto slash = target.find_first_of("/?#");
    authority = target.substr(0, slash);
    if (slash == std::string_view::npos || target[slash] != '/') return "/";
    target.remove_prefix(slash);
  }
  return target.substr(0, target.find_first_of("?#"));
}

std::string_view host_without_port(std::string_view host) {
  if (!host.empty() && host.front() == '[') {
    const auto close = host.find(']');
    return close == std::string_view::npos ? host : host.substr(0, close + 1);
  }
  return host.substr(0, host.rfind(':'));
}

bool condition_matches(const RuleCondition& condition, const RequestView& request) {
  const auto any_value = [&](std::string_view text, bool case_insensitive) {
    for (const auto& value : condition.values) {
      if (wildcard_match(value, text, case_insensitive)) return true;
    }
    return false;
  };
  switch (condition.field) {
    case ConditionField::kPathPattern:
      return any_value(request.path, false);
    case ConditionField::kHostHeader:
      return any_value(request.host, true);
    case ConditionField::kHttpRequestMethod:
      return std::find(condition.values.begin(), condition.values.end(), request.method) !=
             condition.values.end();
    case ConditionField::kHttpHeader:
      for (const auto& line : request.headers) {
        if (ascii_iequals(line.name, condition.header_name) && any_value(line.value, true))
          return true;
      }
      return false;
  }
  return false;
}

bool rule_matches(const RoutingRule& rule, const RequestView& request) {
  for (const auto& condition : rule.conditions) {
    if (!condition_matches(condition, request)) return false;
  }
  return true;
}

std::optional<std::size_t> matching_rule(std::span<const RoutingRule> rules,
                                         const RequestView& request) {
  for (std::size_t i = 0; i < rules.size(); ++i) {
    if (rule_matches(rules[i], request)) return i;
  }
  return std::nullopt;
}

bool uses_headers(const RoutingConfig& config) {
  for (const auto& rule : config.rules) {
    for (const auto& condition : rule.conditions) {
      if (condition.field == ConditionField::kHttpHeader) return true;
    }
  }
  return false;
}

void sort_by_priority(RoutingConfig& config) {
  std::stable_sort(
      config.rules.begin(), config.rules.end(),
      [](const RoutingRule& a, const RoutingRule& b) { return a.priority < b.priority; });
}

std::size_t choose_weighted(std::span<const WeightedTargetGroup> groups, std::uint64_t random) {
  std::uint64_t total = 0;
  for (const auto& g : groups) total += g.weight;
  if (total == 0) return 0;
  std::uint64_t point = random % total;
  for (std::size_t i = 0; i < groups.size(); ++i) {
    if (point < groups[i].weight) return i;
    point -= groups[i].weight;
  }
  return groups.size() - 1;
}

std::vector<std::string> referenced_groups(const RoutingConfig& config) {
  std::set<std::string> names;
  const auto add = [&](const RuleAction& action) {
    if (action.type != RuleAction::Type::kForward) return;
    for (const auto& g : action.forward) names.insert(g.name);
  };
  for (const auto& rule : config.rules) add(rule.action);
  add(config.default_action);
  return {names.begin(), names.end()};
}

void validate_routing(const RoutingConfig& config, std::span<const std::string> known_groups,
                      const std::string& file, const std::string& base_pointer) {
  std::set<int> priorities;
  for (std::size_t r = 0; r < config.rules.size(); ++r) {
    const auto& rule = config.rules[r];
    const std::string at = base_pointer + "/rules/" + std::to_string(r);
    if (rule.priority < kMinPriority || rule.priority > kMaxPriority) {
      throw UserError(file, at + "/priority",
                      "a priority 1-50000, got " + std::to_string(rule.priority));
    }
    if (!priorities.insert(rule.priority).second) {
      throw UserError(
          file, at + "/priority",
          "a priority no other rule has, got " + std::to_string(rule.priority) + " twice");
    }
    if (rule.conditions.empty()) {
      throw UserError(file, at + "/conditions", "at least one condition");
    }
    int header_index = 0;
    for (const auto& condition : rule.conditions) {
      std::string where = at + "/conditions/" + std::string(key_of(condition.field));
      if (condition.field == ConditionField::kHttpHeader) {
        where += "/" + std::to_string(header_index++);
        if (!valid_field_name(condition.header_name)) {
          throw UserError(file, where + "/name",
                          "a header field name, got \"" + condition.header_name + "\"");
        }
        where += "/values";
      }
      if (condition.values.empty()) throw UserError(file, where, "at least one value");
      for (std::size_t v = 0; v < condition.values.size(); ++v) {
        const std::string& value = condition.values[v];
        const std::string item = where + "/" + std::to_string(v);
        if (value.empty() || value.size() > kMaxValueSize) {
          throw UserError(file, item, "1 to 128 characters, got \"" + value + "\"");
        }
        bool ok = valid_pattern(value);
        std::string_view what = "visible ASCII characters";
        if (condition.field == ConditionField::kHttpRequestMethod) {
          ok = valid_method(value);
          what = "a method of A-Z, '-' and '_' (case-sensitive, no wildcards)";
        } else if (condition.field == ConditionField::kHostHeader) {
          ok = valid_host_pattern(value);
          what = "a host name pattern of letters, digits, '-', '.', '*' and '?'";
        }
        if (!ok) throw UserError(file, item, std::string(what) + ", got \"" + value + "\"");
      }
    }
    validate_action(rule.action, known_groups, file, at + "/action");
  }
  validate_action(config.default_action, known_groups, file, base_pointer + "/default_action");
}

RoutingConfig parse_routing(const ConfigNode& node, std::span<const std::string> known_groups) {
  node.only_keys({"rules", "default_action"});
  RoutingConfig config;
  if (const auto rules = node.get("rules")) {
    for (const auto& item : rules->items()) {
      item.only_keys({"priority", "conditions", "action"});
      RoutingRule rule;
      rule.priority = static_cast<int>(item.at("priority").as_int(kMinPriority, kMaxPriority));
      const ConfigNode conditions = item.at("conditions");
      conditions.only_keys({"path_pattern", "host_header", "http_header", "http_request_method"});
      if (const auto v = conditions.get("path_pattern")) {
        rule.conditions.push_back({ConditionField::kPathPattern, "", strings(*v)});
      }
      if (const auto v = conditions.get("host_header")) {
        rule.conditions.push_back({ConditionField::kHostHeader, "", strings(*v)});
      }
      if (const auto v = conditions.get("http_header")) {
        if (v->is_object()) {
          rule.conditions.push_back(header_condition(*v));
        } else {
          for (const auto& header : v->items()) rule.conditions.push_back(header_condition(header));
        }
      }
      if (const auto v = conditions.get("http_request_method")) {
        rule.conditions.push_back({ConditionField::kHttpRequestMethod, "", strings(*v)});
      }
      rule.action = parse_action(item.at("action"));
      config.rules.push_back(std::move(rule));
    }
  }
  if (const auto action = node.get("default_action")) {
    config.default_action = parse_action(*action);
  }
  validate_routing(config, known_groups, node.file(), node.pointer());
  sort_by_priority(config);
  return config;
}

}  // namespace flotilla
