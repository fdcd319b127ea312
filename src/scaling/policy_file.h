#pragma once
// Policy files (policies/*.json) and the registry of policy types. A file's "type" picks the
// factory registered under that name; the factory parses the rest and rejects unknown fields.
// Built in: "target_tracking" (target_tracking.h).
//
// Errors in a file are UserError naming the file and the field as a JSON pointer.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "scaling/scaling_policy.h"

namespace flotilla {

using PolicyFactory = std::function<std::unique_ptr<ScalingPolicy>(const ConfigNode&)>;

// Adds (or replaces) a policy type. Call at startup, before policies are parsed.
void register_policy_type(const std::string& type, PolicyFactory factory);
// Registered type names, sorted.
std::vector<std::string> policy_types();

std::unique_ptr<ScalingPolicy> parse_policy(const ConfigNode& node);
std::unique_ptr<ScalingPolicy> load_policy_file(const std::string& path);

}  // namespace flotilla
