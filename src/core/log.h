#pragma once
// Logging: spdlog to stderr. Levels: "trace", "debug", "info", "warn", "error", "off".
#include <string_view>

namespace flotilla {

void init_logging(std::string_view level);

}  // namespace flotilla
