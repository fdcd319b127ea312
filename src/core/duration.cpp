#include "core/duration.h"

#include <charconv>
#include <cmath>

#include "core/errors.h"

namespace flotilla {

std::optional<Duration> parse_duration(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  if (text.empty()) return std::nullopt;
  std::size_t unit_at = 0;
  while (unit_at < text.size() &&
         ((text[unit_at] >= '0' && text[unit_at] <= '9') || text[unit_at] == '.'))
    ++unit_at;
  if (unit_at == 0) return std::nullopt;
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + unit_at, value);
  if (ec != std::errc() || end != text.data() + unit_at || !std::isfinite(value))
    return std::nullopt;
  const std::string_view unit = text.substr(unit_at);
  double seconds_per_unit = 0;
  if (unit.empty() || unit == "s")
    seconds_per_unit = 1;
  else if (unit == "ms")
    seconds_per_unit = 1e-3;
  else if (unit == "us")
    seconds_per_unit = 1e-6;
  else if (unit == "ns")
    seconds_per_unit = 1e-9;
  else if (unit == "m")
    seconds_per_unit = 60;
  else if (unit == "h")
    seconds_per_unit = 3600;
  else
    return std::nullopt;
  const double seconds = value * seconds_per_unit;
  if (seconds > 1e9) return std::nullopt;
  // A whole number of units, exactly: a double holds integers only to 2^53 nanoseconds (about
  // 104 days), and at most 1e9 s is 1e18 ns, inside an int64.
  if (text.substr(0, unit_at).find('.') == std::string_view::npos) {
    std::int64_t count = 0;
    const auto [count_end, count_ec] = std::from_chars(text.data(), text.data() + unit_at, count);
    if (count_ec == std::errc() && count_end == text.data() + unit_at)
      return Duration(count * std::llround(seconds_per_unit * 1e9));
  }
  // To the nearest nanosecond: truncating read "900000001ns" back as 900000000 ns (0.9 s in
  // binary is a hair below).
  return Duration(std::llround(seconds * 1e9));
}

std::string format_duration(Duration d) {
  const auto ns = d.count();
  if (ns % 1'000'000'000 == 0) return std::to_string(ns / 1'000'000'000) + "s";
  if (ns % 1'000'000 == 0) return std::to_string(ns / 1'000'000) + "ms";
  if (ns % 1'000 == 0) return std::to_string(ns / 1'000) + "us";
  return std::to_string(ns) + "ns";
}

Duration parse_duration_flag(std::string_view text, const std::string& flag,
                             std::optional<Duration> min) {
  const auto d = parse_duration(text);
  const bool ok = d && (min ? *d >= *min : *d > Duration::zero());
  if (!ok)
    throw UserError(flag + ": expected a duration" + (min ? "" : " > 0") +
                    " such as 10s or 500ms, got \"" + std::string(text) + "\"");
  return *d;
}

}  // namespace flotilla
