#include "fleet/provider.h"

#include <cstdio>

#include "core/random.h"

namespace flotilla {

WorkerId format_worker_id(std::string_view prefix, std::uint64_t sequence) {
  char digits[32];
  std::snprintf(digits, sizeof digits, "%017llx", static_cast<unsigned long long>(sequence));
  return std::string(prefix) + digits;
}

std::uint64_t worker_seed(std::uint64_t run_seed, std::uint64_t sequence) {
  return mix64(run_seed ^ mix64(sequence));
}

}  // namespace flotilla
