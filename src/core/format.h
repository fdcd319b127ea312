#pragma once
// Numbers for people and reports: at most `decimals` decimals, trailing zeros dropped
// (3 -> "3", 0.25 -> "0.25", 78.2049 -> "78.2" with 2 decimals, 1e6 -> "1000000").
// Not finite -> "" (an empty CSV cell).
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace flotilla {

std::string format_number(double v, int decimals = 2);

// Text for XML or HTML, in an element or a quoted attribute: & < > " ' as entities; the control
// characters XML 1.0 cannot hold are left out.
std::string escape_markup(std::string_view text);

// `page` with each {{NAME}} of `values` ({NAME, text}) replaced by its text, in one pass: a
// text is not searched again, so it may hold "{{NAME}}" itself. Markers of names not given stay.
std::string fill_template(
    std::string_view page,
    std::initializer_list<std::pair<std::string_view, std::string_view>> values);

// The items, each anything a std::string can be appended from, with ", " between them:
// "a, b, c"; "" for none.
template <class Range>
std::string join(const Range& items) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}

}  // namespace flotilla
