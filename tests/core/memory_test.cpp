#include "core/memory.h"

#include <doctest/doctest.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace flotilla {
namespace {

// RssAnon of this process, in KiB: the resident heap, stacks and anonymous mappings.
long resident_anon_kb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("RssAnon:", 0) == 0) return std::strtol(line.c_str() + 8, nullptr, 10);
  return -1;
}

// What a burst of connections leaves behind: 32 MiB of 16 KiB buffers (the balancer's buffer
// size) allocated and written on another thread, as the balancer's IO threads do, then freed but
// for every 8th, which keeps the free runs between them from being the top of the heap that the
// allocator gives back by itself.
TEST_CASE("release_free_memory gives a burst's freed buffers back to the system") {
  constexpr std::size_t kBuffer = 16 * 1024;
  constexpr std::size_t kBuffers = 2048;
  std::vector<void*> kept;
  long before_release = 0;
  std::thread burst([&] {
    std::vector<void*> buffers;
    for (std::size_t i = 0; i < kBuffers; ++i) {
      buffers.push_back(std::malloc(kBuffer));
      std::memset(buffers.back(), 1, kBuffer);
    }
    for (std::size_t i = 0; i < kBuffers; ++i) {
      if (i % 8 == 7)
        kept.push_back(buffers[i]);
      else
        std::free(buffers[i]);
    }
    before_release = resident_anon_kb();
  });
  burst.join();
  release_free_memory();
  const long after = resident_anon_kb();
  CAPTURE(before_release);
  CAPTURE(after);
  // 28 MiB were freed; at least half of it leaves the resident set.
  CHECK(before_release - after >= 14 * 1024);
  for (void* p : kept) std::free(p);
}

}  // namespace
}  // namespace flotilla
