#pragma once
// Durations as files and flags spell them: "250us", "500ms", "20s", "2m", "1h", "1.5s";
// a bare number means seconds (as in k6 and AWS's seconds fields).
#include <optional>
#include <string>
#include <string_view>

#include "core/time.h"

namespace flotilla {

std::optional<Duration> parse_duration(std::string_view text);
// Shortest exact spelling: "90s", "1m30s" is written "90s"; "1.5ms" stays "1500us".
std::string format_duration(Duration d);

}  // namespace flotilla
