#include "scenario/csv_text.h"

#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/errors.h"

namespace flotilla::csv {

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(" \t\r");
  return s.substr(first, last - first + 1);
}

std::string quoted(std::string_view s) {
  std::string out(s.substr(0, 57));
  if (s.size() > 57) out += "...";
  return "\"" + out + "\"";
}

std::optional<double> parse_number(std::string_view text) {
  double v = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (ec != std::errc() || ptr != end || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::vector<std::string_view> split_fields(std::string_view line) {
  std::vector<std::string_view> fields;
  while (true) {
    const auto comma = line.find(',');
    fields.push_back(trim(line.substr(0, comma)));
    if (comma == std::string_view::npos) return fields;
    line.remove_prefix(comma + 1);
  }
}

std::size_t for_each_line(std::string_view text,
                          const std::function<void(std::size_t, std::string_view)>& on_line) {
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
  std::size_t line = 0;
  while (!text.empty()) {
    ++line;
    const auto newline = text.find('\n');
    const std::string_view content = trim(text.substr(0, newline));
    text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
    if (!content.empty()) on_line(line, content);
  }
  return line;
}

void LineError::fail(const std::string& expected) const {
  throw UserError(file_, "line " + std::to_string(line_), expected);
}

}  // namespace flotilla::csv
