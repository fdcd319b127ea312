#include "metrics/statistic.h"

#include <cctype>
#include <charconv>

#include "core/format.h"

namespace flotilla {

std::string to_string(Statistic s) {
  switch (s.kind) {
    case Statistic::Kind::average:
      return "Average";
    case Statistic::Kind::sum:
      return "Sum";
    case Statistic::Kind::minimum:
      return "Minimum";
    case Statistic::Kind::maximum:
      return "Maximum";
    case Statistic::Kind::sample_count:
      return "SampleCount";
    case Statistic::Kind::percentile:
      return "p" + format_number(s.percentile, 2);
  }
  return "unknown";
}

std::optional<Statistic> parse_statistic(std::string_view text) {
  for (Statistic s : {Statistic::average, Statistic::sum, Statistic::minimum, Statistic::maximum,
                      Statistic::sample_count}) {
    if (to_string(s) == text) return s;
  }
  if (text.size() < 2 || text[0] != 'p') return std::nullopt;
  const std::string_view number = text.substr(1);
  // Digits, then optionally a point and one or two digits: no sign, exponent or spaces.
  const std::size_t point = number.find('.');
  const std::string_view whole = number.substr(0, point);
  const std::string_view decimals =
      point == std::string_view::npos ? std::string_view{} : number.substr(point + 1);
  auto all_digits = [](std::string_view d) {
    for (char c : d)
      if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    return true;
  };
  if (whole.empty() || whole.size() > 3 || !all_digits(whole)) return std::nullopt;
  if (point != std::string_view::npos &&
      (decimals.empty() || decimals.size() > 2 || !all_digits(decimals)))
    return std::nullopt;
  double p = 0;
  const auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), p);
  if (ec != std::errc() || end != number.data() + number.size() || p > 100) return std::nullopt;
  return Statistic::percentile_of(p);
}

}  // namespace flotilla
