#pragma once
// YAML documents (Kubernetes manifests) as JSON values, so that one ConfigNode reader serves
// both. Plain scalars become numbers, booleans or null where YAML 1.2's core schema says so
// ("50", "true", "~"); quoted scalars stay strings. yaml-cpp stays inside the .cpp.
#include <nlohmann/json.hpp>
#include <string>

namespace flotilla {

// The first document of `text`. A syntax error is a UserError naming `file`, line and column.
nlohmann::json parse_yaml_document(const std::string& text, const std::string& file);

}  // namespace flotilla
