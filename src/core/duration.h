#pragma once
// Durations as files and flags spell them: "250us", "500ms", "20s", "2m", "1h", "1.5s" (and
// "ns", which format_duration writes for what is finer than a microsecond); a bare number means
// seconds (as in k6 and AWS's seconds fields). Read to the nearest nanosecond.
#include <optional>
#include <string>
#include <string_view>

#include "core/time.h"

namespace flotilla {

std::optional<Duration> parse_duration(std::string_view text);
// A command-line flag's duration: UserError naming `flag` unless `text` is one of at least
// `min` (default: more than 0).
Duration parse_duration_flag(std::string_view text, const std::string& flag,
                             std::optional<Duration> min = std::nullopt);
// Shortest exact spelling: "90s", "1m30s" is written "90s"; "1.5ms" stays "1500us".
std::string format_duration(Duration d);

}  // namespace flotilla
