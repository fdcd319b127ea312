#pragma once
// Reading the user's JSON files with errors that name the file, the field (JSON pointer) and what
// was expected. A ConfigNode is a view: the json document it points into must outlive it.
//
//   auto doc = load_json_file(path);              // UserError if missing or malformed
//   ConfigNode root(doc, path);
//   root.only_keys({"name", "duration", ...});    // unknown fields are mistakes, not silence
//   auto d = root.at("duration").as_duration();   // "/duration: expected a duration like ..."
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/time.h"

namespace flotilla {

// Parses a JSON file; a missing file or a syntax error is a UserError naming line and column.
nlohmann::json load_json_file(const std::string& path);

class ConfigNode {
 public:
  ConfigNode(const nlohmann::json& value, std::string file, std::string pointer = "");

  const nlohmann::json& json() const { return *value_; }
  const std::string& file() const { return file_; }
  const std::string& pointer() const { return pointer_; }

  // Object access. at() requires the member; get() returns nullopt when absent (or null).
  bool has(std::string_view key) const;
  ConfigNode at(std::string_view key) const;
  std::optional<ConfigNode> get(std::string_view key) const;
  // Every member must be one of `allowed`; the error lists them and, when the unknown field
  // looks like a misspelling of one (closest_field), says "did you mean" it.
  void only_keys(std::initializer_list<std::string_view> allowed) const;
  void only_keys(std::span<const std::string_view> allowed) const;
  // only_keys for the top level of a file users edit (scenario, worker profile, native policy,
  // balancer file): kSchemaKey is allowed too, as a string, and means nothing to the parser.
  void only_file_keys(std::initializer_list<std::string_view> allowed) const;

  // Array access.
  std::vector<ConfigNode> items() const;

  bool is_object() const { return value_->is_object(); }
  bool is_array() const { return value_->is_array(); }
  bool is_string() const { return value_->is_string(); }
  bool is_number() const { return value_->is_number(); }

  std::string as_string() const;
  std::string as_nonempty_string() const;
  double as_number(double min = -std::numeric_limits<double>::infinity(),
                   double max = std::numeric_limits<double>::infinity()) const;
  std::int64_t as_int(std::int64_t min = std::numeric_limits<std::int64_t>::min(),
                      std::int64_t max = std::numeric_limits<std::int64_t>::max()) const;
  bool as_bool() const;
  // "500ms", "20s", "2m" or a bare number of seconds; must lie in [min, max].
  Duration as_duration(Duration min = Duration::zero(),
                       Duration max = std::chrono::hours(24 * 365)) const;
  std::string as_enum(std::initializer_list<std::string_view> choices) const;
  // A path written in the file, resolved relative to the file's folder or one of its ancestors
  // (so "fleet/standard.json" in scenarios/x.json finds the repository's fleet/), then to the
  // working directory, then to the installed data folder (core/data_files.h). Must exist.
  std::string as_path() const;

  // Throws UserError(file, pointer, expected + ", got <value>").
  [[noreturn]] void fail(const std::string& expected) const;
  // A node for a member that may not exist, for errors about missing fields.
  ConfigNode child_pointer_only(std::string_view key) const;

 private:
  ConfigNode(const nlohmann::json* value, std::string file, std::string pointer);

  const nlohmann::json* value_;
  std::string file_;
  std::string pointer_;
};

// The member an editor reads a file's JSON Schema from (schema/*.schema.json). AWS JSON and
// HPA manifests do not take it: they stay files that AWS and Kubernetes take as they are.
inline constexpr std::string_view kSchemaKey = "$schema";

// The field of `known` that `unknown` most likely misspells, or nullopt when none is close: one
// that differs only in case, '_' and '-', else the one at the smallest Damerau-Levenshtein
// distance (optimal string alignment, over the names lowercased without '_' and '-'), if that
// distance is at most 2 and shorter than the unknown name (so "x" suggests nothing). Ties go to
// the smaller distance between the names as written, then to the earlier in `known`.
std::optional<std::string_view> closest_field(std::string_view unknown,
                                              std::span<const std::string_view> known);
// "; did you mean \"desired\"?" for closest_field's answer, "" when it has none.
std::string did_you_mean(std::string_view unknown, std::span<const std::string_view> known);

// Escapes a key for use in a JSON pointer ("~" -> "~0", "/" -> "~1").
std::string json_pointer_escape(std::string_view key);
// Resolves `relative` against `base_file`'s folder and its ancestors, then the working directory,
// then installed_data_dir() (core/data_files.h). Returns the first existing path, or nullopt.
std::optional<std::string> resolve_relative_path(const std::string& base_file,
                                                 const std::string& relative);

}  // namespace flotilla
