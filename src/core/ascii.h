#pragma once
// ASCII helpers for HTTP text: case folding for tokens (header names, codings, hosts), which RFC
// 9110 makes case-insensitive in ASCII only, so no locale is consulted; and trimming of its
// optional whitespace (spaces and tabs) around a field value.
#include <cstddef>
#include <string_view>

namespace flotilla {

constexpr char ascii_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

constexpr bool ascii_iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

constexpr std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace flotilla
