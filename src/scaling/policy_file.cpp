#include "scaling/policy_file.h"

#include <map>

#include "scaling/target_tracking.h"

namespace flotilla {

namespace {

// Built-in types are listed here rather than self-registered from their own files: a static
// library drops object files nobody references, and their registrations with them.
std::map<std::string, PolicyFactory>& registry() {
  static std::map<std::string, PolicyFactory> types = {
      {kTargetTrackingType, &parse_target_tracking},
  };
  return types;
}

}  // namespace

void register_policy_type(const std::string& type, PolicyFactory factory) {
  registry()[type] = std::move(factory);
}

std::vector<std::string> policy_types() {
  std::vector<std::string> out;
  for (const auto& [name, factory] : registry()) out.push_back(name);
  return out;
}

std::unique_ptr<ScalingPolicy> parse_policy(const ConfigNode& node) {
  if (!node.is_object()) node.fail("a policy object");
  const ConfigNode type = node.at("type");
  const std::string name = type.as_string();
  auto it = registry().find(name);
  if (it == registry().end()) {
    std::string list;
    for (const auto& t : policy_types()) list += (list.empty() ? "" : ", ") + t;
    type.fail("a policy type (one of: " + list + ")");
  }
  return it->second(node);
}

std::unique_ptr<ScalingPolicy> load_policy_file(const std::string& path) {
  const nlohmann::json doc = load_json_file(path);
  return parse_policy(ConfigNode(doc, path));
}

}  // namespace flotilla
