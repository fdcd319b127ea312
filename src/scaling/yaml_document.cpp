#include "scaling/yaml_document.h"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <regex>

#include "core/errors.h"

namespace flotilla {

namespace {

// A plain (unquoted) scalar's value under YAML 1.2's core schema.
nlohmann::json plain_scalar(const std::string& s) {
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  static const std::regex kInt("[-+]?[0-9]+");
  static const std::regex kFloat("[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?");
  if (std::regex_match(s, kInt)) {
    long long v = 0;
    const char* begin = s.data() + (s[0] == '+' ? 1 : 0);
    auto [ptr, ec] = std::from_chars(begin, s.data() + s.size(), v);
    if (ec == std::errc() && ptr == s.data() + s.size()) return v;
  }
  if (std::regex_match(s, kFloat)) {
    double v = 0;
    const char* begin = s.data() + (s[0] == '+' ? 1 : 0);
    auto [ptr, ec] = std::from_chars(begin, s.data() + s.size(), v);
    // Beyond a double ("1e999") it stays a string, which the field's reader then refuses.
    if (ec == std::errc() && ptr == s.data() + s.size()) return v;
  }
  return s;
}

nlohmann::json scalar(const YAML::Node& node) {
  // A quoted scalar's tag is "!": it is a string whatever it looks like.
  if (node.Tag() == "!") return node.Scalar();
  return plain_scalar(node.Scalar());
}

void emit(YAML::Emitter& out, const nlohmann::ordered_json& value) {
  switch (value.type()) {
    case nlohmann::ordered_json::value_t::object:
      out << YAML::BeginMap;
      for (const auto& [key, item] : value.items()) {
        out << YAML::Key << key << YAML::Value;
        emit(out, item);
      }
      out << YAML::EndMap;
      return;
    case nlohmann::ordered_json::value_t::array:
      out << YAML::BeginSeq;
      for (const auto& item : value) emit(out, item);
      out << YAML::EndSeq;
      return;
    case nlohmann::ordered_json::value_t::string: {
      const std::string& s = value.get_ref<const std::string&>();
      // A string that would read back as a number, a boolean or null is quoted.
      if (plain_scalar(s).is_string()) {
        out << s;
      } else {
        out << YAML::DoubleQuoted << s;
      }
      return;
    }
    case nlohmann::ordered_json::value_t::boolean:
      out << (value.get<bool>() ? "true" : "false");
      return;
    case nlohmann::ordered_json::value_t::null:
    case nlohmann::ordered_json::value_t::discarded:
      out << YAML::Null;
      return;
    default:
      // Numbers as JSON writes them: the shortest text that reads back as the same value.
      out << value.dump();
      return;
  }
}

// Deeper than any manifest, and where an alias that contains itself (&a [*a]) would recurse
// forever.
constexpr int kMaxDepth = 64;

nlohmann::json convert(const YAML::Node& node, const std::string& file, int depth) {
  if (depth > kMaxDepth)
    throw UserError(file, "",
                    "YAML nested at most " + std::to_string(kMaxDepth) +
                        " deep (an alias may not contain itself)");
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
    case YAML::NodeType::Scalar:
      return scalar(node);
    case YAML::NodeType::Sequence: {
      auto out = nlohmann::json::array();
      for (const auto& item : node) out.push_back(convert(item, file, depth + 1));
      return out;
    }
    case YAML::NodeType::Map: {
      auto out = nlohmann::json::object();
      for (const auto& kv : node)
        out[kv.first.as<std::string>()] = convert(kv.second, file, depth + 1);
      return out;
    }
  }
  return nullptr;
}

}  // namespace

std::string to_yaml_text(const nlohmann::ordered_json& doc) {
  YAML::Emitter out;
  out.SetIndent(2);
  emit(out, doc);
  return std::string(out.c_str()) + "\n";
}

nlohmann::json parse_yaml_document(const std::string& text, const std::string& file) {
  try {
    return convert(YAML::Load(text), file, 0);
  } catch (const YAML::Exception& e) {
    throw UserError(file, "",
                    "JSON or YAML (line " + std::to_string(e.mark.line + 1) + ", column " +
                        std::to_string(e.mark.column + 1) + ": " + e.msg + ")");
  }
}

}  // namespace flotilla
