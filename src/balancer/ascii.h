#pragma once
// ASCII case folding for HTTP tokens (header names, codings, hosts): RFC 9110 field names and
// tokens are case-insensitive in ASCII only, so no locale is consulted.
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

}  // namespace flotilla
