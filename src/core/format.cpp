#include "core/format.h"

#include <cmath>
#include <cstdio>
#include <vector>

namespace flotilla {

std::string format_number(double v, int decimals) {
  if (!std::isfinite(v)) return "";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  std::string s = buf;
  if (s.find('.') != std::string::npos) {
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
  }
  if (s == "-0") s = "0";
  return s;
}

std::string escape_markup(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        if (static_cast<unsigned char>(c) >= 0x20 || c == '\t' || c == '\n' || c == '\r') out += c;
    }
  }
  return out;
}

std::string fill_template(
    std::string_view page,
    std::initializer_list<std::pair<std::string_view, std::string_view>> values) {
  std::vector<std::string> markers;
  markers.reserve(values.size());
  for (const auto& [name, text] : values) markers.push_back("{{" + std::string(name) + "}}");
  std::string out;
  while (!page.empty()) {
    std::size_t first = std::string_view::npos;
    std::size_t which = 0;
    for (std::size_t i = 0; i < markers.size(); ++i) {
      const std::size_t at = page.find(markers[i]);
      if (at < first) first = at, which = i;
    }
    if (first == std::string_view::npos) {
      out += page;
      break;
    }
    out += page.substr(0, first);
    out += std::data(values)[which].second;
    page.remove_prefix(first + markers[which].size());
  }
  return out;
}

}  // namespace flotilla
