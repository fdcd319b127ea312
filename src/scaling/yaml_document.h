#pragma once
// YAML documents (Kubernetes manifests) as JSON values and back, so that one ConfigNode reader
// serves both. Plain scalars become numbers, booleans or null where YAML 1.2's core schema says
// so ("50", "true", "~"); quoted scalars stay strings. yaml-cpp stays inside the .cpp.
#include <nlohmann/json.hpp>
#include <string>

namespace flotilla {

// The first document of `text`. A syntax error is a UserError naming `file`, line and column.
nlohmann::json parse_yaml_document(const std::string& text, const std::string& file);

// `doc` as a block-style YAML document, maps in their order, that parse_yaml_document reads back
// as the same value (strings that would read as another type are quoted). Ends in a newline.
std::string to_yaml_text(const nlohmann::ordered_json& doc);

}  // namespace flotilla
