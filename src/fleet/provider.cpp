#include "fleet/provider.h"

#include <cstdio>

namespace flotilla {

WorkerId format_worker_id(std::string_view prefix, std::uint64_t sequence) {
  char digits[32];
  std::snprintf(digits, sizeof digits, "%017llx", static_cast<unsigned long long>(sequence));
  return std::string(prefix) + digits;
}

std::uint64_t worker_seed(std::uint64_t run_seed, std::uint64_t sequence) {
  const auto mix = [](std::uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
  };
  return mix(run_seed ^ mix(sequence));
}

}  // namespace flotilla
