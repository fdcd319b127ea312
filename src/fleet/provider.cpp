#include "fleet/provider.h"

#include <cstdio>

namespace flotilla {

WorkerId format_worker_id(std::string_view prefix, std::uint64_t sequence) {
  char digits[32];
  std::snprintf(digits, sizeof digits, "%017llx", static_cast<unsigned long long>(sequence));
  return std::string(prefix) + digits;
}

}  // namespace flotilla
