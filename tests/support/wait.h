#pragma once
// Test support: wait for a condition with a deadline (never a bare sleep to synchronise).
#include <chrono>
#include <functional>
#include <thread>

namespace flotilla::test {

// Under ASan or TSan (make sanitize, make tsan) everything runs several times slower, so a test's
// own deadlines, which only bound how long it waits for what must happen, stretch by this factor.
// Bounds that are the behaviour under test (a timeout must fire within N) do not use it.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr int kDeadlineScale = 4;
#else
inline constexpr int kDeadlineScale = 1;
#endif

// Checks `condition` every `every` (a couple of milliseconds unless told) until it holds (true)
// or `limit` passes (false, after one last check). A costly check (another process over HTTP, a
// browser's DOM) asks less often.
inline bool wait_until(const std::function<bool()>& condition,
                       std::chrono::nanoseconds limit = std::chrono::seconds(10),
                       std::chrono::nanoseconds every = std::chrono::milliseconds(2)) {
  const auto deadline = std::chrono::steady_clock::now() + limit * kDeadlineScale;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(every);
  }
  return condition();
}

}  // namespace flotilla::test
