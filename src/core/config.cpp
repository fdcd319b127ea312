#include "core/config.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <sstream>

#include "core/data_files.h"
#include "core/duration.h"
#include "core/errors.h"
#include "core/format.h"
#include "core/json_text.h"

namespace flotilla {

namespace fs = std::filesystem;

nlohmann::json load_json_file(const std::string& path) {
  const std::string text = read_text_file(path, "a JSON file");
  if (text.find_first_not_of(" \t\r\n") == std::string::npos)
    throw UserError(path, "", "JSON, got an empty file");
  return parse_json_text(text, path);
}

nlohmann::json parse_json_text(const std::string& text, const std::string& file) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    // e.byte is the 1-based offset of the offending character: line and column for a human.
    std::size_t line = 1, column = 1;
    for (std::size_t i = 0; i + 1 < e.byte && i < text.size(); ++i) {
      if (text[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    throw UserError(file, "",
                    "valid JSON (syntax error at line " + std::to_string(line) + ", column " +
                        std::to_string(column) + ")");
  }
}

std::string json_pointer_escape(std::string_view key) {
  std::string out;
  for (char c : key) {
    if (c == '~')
      out += "~0";
    else if (c == '/')
      out += "~1";
    else
      out += c;
  }
  return out;
}

namespace {

// The name as closest_field compares it: lowercase, without '_' and '-'.
std::string folded(std::string_view name) {
  std::string out;
  for (char c : name)
    if (c != '_' && c != '-') out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Optimal string alignment distance: insertions, deletions, substitutions and transpositions of
// adjacent characters, each 1, no substring edited twice.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  const std::size_t n = a.size(), m = b.size();
  std::vector<std::vector<std::size_t>> d(n + 1, std::vector<std::size_t>(m + 1));
  for (std::size_t i = 0; i <= n; ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= m; ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= n; ++i) {
    for (std::size_t j = 1; j <= m; ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[n][m];
}

}  // namespace

std::optional<std::string_view> closest_field(std::string_view unknown,
                                              std::span<const std::string_view> known) {
  constexpr std::size_t kMaxDistance = 2;
  const std::string given = folded(unknown);
  std::optional<std::string_view> best;
  std::pair<std::size_t, std::size_t> best_rank{};
  for (auto candidate : known) {
    if (candidate == unknown) continue;
    const std::size_t distance = edit_distance(given, folded(candidate));
    // A difference of case, '_' or '-' alone is distance 0 and always close.
    if (distance > 0 && (distance > kMaxDistance || distance >= given.size())) continue;
    const std::pair<std::size_t, std::size_t> rank{distance, edit_distance(unknown, candidate)};
    if (!best || rank < best_rank) {
      best = candidate;
      best_rank = rank;
    }
  }
  return best;
}

std::string did_you_mean(std::string_view unknown, std::span<const std::string_view> known) {
  const auto closest = closest_field(unknown, known);
  if (!closest) return "";
  return "; did you mean \"" + std::string(*closest) + "\"?";
}

std::optional<std::string> resolve_relative_path(const std::string& base_file,
                                                 const std::string& relative) {
  std::error_code ec;
  const fs::path rel(relative);
  if (rel.is_absolute()) {
    if (fs::exists(rel, ec)) return rel.string();
    return std::nullopt;
  }
  fs::path dir = fs::absolute(fs::path(base_file), ec).parent_path();
  while (!dir.empty()) {
    const fs::path candidate = dir / rel;
    if (fs::exists(candidate, ec)) return candidate.lexically_normal().string();
    if (dir == dir.root_path()) break;
    dir = dir.parent_path();
  }
  if (fs::exists(rel, ec)) return rel.string();
  if (const auto data = installed_data_dir()) {
    const fs::path candidate = fs::path(*data) / rel;
    if (fs::exists(candidate, ec)) return candidate.lexically_normal().string();
  }
  return std::nullopt;
}

ConfigNode::ConfigNode(const nlohmann::json& value, std::string file, std::string pointer)
    : ConfigNode(&value, std::move(file), std::move(pointer)) {}

ConfigNode::ConfigNode(const nlohmann::json* value, std::string file, std::string pointer)
    : value_(value), file_(std::move(file)), pointer_(std::move(pointer)) {}

void ConfigNode::fail(const std::string& expected) const {
  std::string got;
  if (value_ == nullptr) {
    got = "nothing (the field is missing)";
  } else {
    // A YAML document's strings may hold bytes that are not UTF-8; dump() would throw on them.
    got = value_->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    if (got.size() > 60) got = got.substr(0, 57) + "...";
  }
  throw UserError(file_, pointer_.empty() ? "/" : pointer_, expected + ", got " + got);
}

ConfigNode ConfigNode::child_pointer_only(std::string_view key) const {
  return ConfigNode(nullptr, file_, pointer_ + "/" + json_pointer_escape(key));
}

bool ConfigNode::has(std::string_view key) const {
  if (!value_->is_object()) return false;
  auto it = value_->find(key);
  return it != value_->end() && !it->is_null();
}

ConfigNode ConfigNode::at(std::string_view key) const {
  if (!value_->is_object()) fail("an object");
  auto it = value_->find(key);
  if (it == value_->end() || it->is_null()) child_pointer_only(key).fail("a value");
  return ConfigNode(&*it, file_, pointer_ + "/" + json_pointer_escape(key));
}

std::optional<ConfigNode> ConfigNode::get(std::string_view key) const {
  if (!value_->is_object()) fail("an object");
  auto it = value_->find(key);
  if (it == value_->end() || it->is_null()) return std::nullopt;
  return ConfigNode(&*it, file_, pointer_ + "/" + json_pointer_escape(key));
}

void ConfigNode::only_keys(std::initializer_list<std::string_view> allowed) const {
  only_keys(std::span<const std::string_view>(allowed.begin(), allowed.size()));
}

void ConfigNode::only_keys(std::span<const std::string_view> allowed) const {
  if (!value_->is_object()) fail("an object");
  for (auto it = value_->begin(); it != value_->end(); ++it) {
    if (std::find(allowed.begin(), allowed.end(), it.key()) != allowed.end()) continue;
    std::string list;
    for (auto k : allowed) list += (list.empty() ? "" : ", ") + std::string(k);
    throw UserError(file_, pointer_ + "/" + json_pointer_escape(it.key()),
                    "one of the known fields (" + list + "), got an unknown field" +
                        did_you_mean(it.key(), allowed));
  }
}

void ConfigNode::only_file_keys(std::initializer_list<std::string_view> allowed) const {
  std::vector<std::string_view> with_schema(allowed);
  with_schema.push_back(kSchemaKey);
  only_keys(with_schema);
  if (auto schema = get(kSchemaKey)) schema->as_string();
}

std::vector<ConfigNode> ConfigNode::items() const {
  if (!value_->is_array()) fail("an array");
  std::vector<ConfigNode> out;
  out.reserve(value_->size());
  for (std::size_t i = 0; i < value_->size(); ++i)
    out.push_back(ConfigNode(&(*value_)[i], file_, pointer_ + "/" + std::to_string(i)));
  return out;
}

std::string ConfigNode::as_string() const {
  if (!value_->is_string()) fail("a string");
  return value_->get<std::string>();
}

std::string ConfigNode::as_nonempty_string() const {
  std::string s = as_string();
  if (s.empty()) fail("a non-empty string");
  return s;
}

namespace {
std::string range_text(double min, double max) {
  std::ostringstream out;
  // Whole bounds as people write them (1048576, not 1.04858e+06).
  out << std::setprecision(15);
  if (std::isinf(min) && std::isinf(max)) return "";
  if (std::isinf(max))
    out << " >= " << min;
  else if (std::isinf(min))
    out << " <= " << max;
  else
    out << " between " << min << " and " << max;
  return out.str();
}
}  // namespace

double ConfigNode::as_number(double min, double max) const {
  if (!value_->is_number()) fail("a number" + range_text(min, max));
  const double v = value_->get<double>();
  if (!(v >= min && v <= max)) fail("a number" + range_text(min, max));
  return v;
}

std::int64_t ConfigNode::as_int(std::int64_t min, std::int64_t max) const {
  const auto text =
      range_text(min == std::numeric_limits<std::int64_t>::min() ? -INFINITY : double(min),
                 max == std::numeric_limits<std::int64_t>::max() ? INFINITY : double(max));
  if (!value_->is_number_integer()) fail("a whole number" + text);
  const auto v = value_->get<std::int64_t>();
  if (v < min || v > max) fail("a whole number" + text);
  return v;
}

bool ConfigNode::as_bool() const {
  if (!value_->is_boolean()) fail("true or false");
  return value_->get<bool>();
}

Duration ConfigNode::as_duration(Duration min, Duration max) const {
  const std::string expected =
      "a duration such as \"500ms\", \"20s\" or \"2m\" (a bare number is seconds) between " +
      format_duration(min) + " and " + format_duration(max);
  std::optional<Duration> d;
  if (value_->is_number()) {
    const double s = value_->get<double>();
    if (s >= 0 && s < 1e9) d = from_seconds(s);
  } else if (value_->is_string()) {
    d = parse_duration(value_->get<std::string>());
  }
  if (!d || *d < min || *d > max) fail(expected);
  return *d;
}

std::string ConfigNode::as_enum(std::initializer_list<std::string_view> choices) const {
  std::string list;
  for (auto c : choices) list += (list.empty() ? "\"" : ", \"") + std::string(c) + "\"";
  if (!value_->is_string()) fail("one of " + list);
  const auto v = value_->get<std::string>();
  for (auto c : choices)
    if (c == v) return v;
  fail("one of " + list);
}

std::string ConfigNode::as_path() const {
  const std::string rel = as_nonempty_string();
  auto resolved = resolve_relative_path(file_, rel);
  if (!resolved)
    fail("a path to an existing file (beside this file or above it, or in share/flotilla)");
  return *resolved;
}

}  // namespace flotilla
