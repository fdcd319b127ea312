#include "balancer/route_table.h"

#include <algorithm>

namespace flotilla::proxy {

namespace {

CompiledAction compile(const RuleAction& action, const std::vector<std::string>& group_names) {
  CompiledAction out;
  if (action.type == RuleAction::Type::kFixedResponse) {
    const auto& f = action.fixed_response;
    out.fixed = make_response(f.status, reason_phrase(f.status), f.content_type, f.body);
    return out;
  }
  out.forward = action.forward;
  for (const auto& g : action.forward) {
    out.group_indices.push_back(static_cast<std::size_t>(
        std::find(group_names.begin(), group_names.end(), g.name) - group_names.begin()));
  }
  return out;
}

}  // namespace

RouteTable::RouteTable(RoutingConfig routing, const std::vector<std::string>& group_names) {
  validate_routing(routing, group_names, "balancer routing");
  sort_by_priority(routing);
  uses_headers = flotilla::uses_headers(routing);
  for (const auto& rule : routing.rules) actions.push_back(compile(rule.action, group_names));
  default_action = compile(routing.default_action, group_names);
  rules = std::move(routing.rules);
}

const CompiledAction& RouteTable::route_by_rules(const HeaderInfo& request, const char* message,
                                                 std::vector<HeaderLine>& header_lines) const {
  std::string_view authority = request.host;
  RequestView view;
  view.method = request.method_name;
  view.path = target_path(request.target, authority);
  view.host = host_without_port(authority);
  if (uses_headers) {
    header_lines.clear();
    for (const auto& field : request.fields) {
      header_lines.push_back(
          {std::string_view(message + field.begin, field.name_size), field_value(field, message)});
    }
    view.headers = header_lines;
  }
  const auto rule = matching_rule(rules, view);
  return rule ? actions[*rule] : default_action;
}

}  // namespace flotilla::proxy
