#pragma once
// Internal to the balancer's .cpp files (it includes Beast, through proxy_http.h): the listener
// rules (routing.h) compiled for the IO threads, with group names resolved to indices and fixed
// responses rendered once. Immutable after construction and shared by every IO thread.
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "balancer/own_responses.h"
#include "balancer/proxy_http.h"
#include "balancer/routing.h"

namespace flotilla::proxy {

// A routing action with group names resolved to indices and fixed responses pre-rendered.
struct CompiledAction {
  std::vector<WeightedTargetGroup> forward;
  std::vector<std::size_t> group_indices;  // parallel to `forward`
  std::optional<CannedResponse> fixed;
};

struct RouteTable {
  // Validates `routing` against `group_names` (UserError, as validate_routing()) and compiles
  // it; group index = position in `group_names`.
  RouteTable(RoutingConfig routing, const std::vector<std::string>& group_names);

  // The action for a parsed request header; `message` is the request's first byte. Without
  // rules it is the default action at once. `header_lines`: scratch space, reused (filled only
  // when a rule has an http_header condition), so that routing allocates nothing once grown.
  const CompiledAction& route(const HeaderInfo& request, const char* message,
                              std::vector<HeaderLine>& header_lines) const {
    if (rules.empty()) return default_action;
    return route_by_rules(request, message, header_lines);
  }

  std::vector<RoutingRule> rules;       // by ascending priority
  std::vector<CompiledAction> actions;  // parallel to `rules`
  CompiledAction default_action;
  bool uses_headers = false;

 private:
  const CompiledAction& route_by_rules(const HeaderInfo& request, const char* message,
                                       std::vector<HeaderLine>& header_lines) const;
};

}  // namespace flotilla::proxy
