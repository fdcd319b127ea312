#pragma once
// Test support: wait for a condition with a deadline (never a bare sleep to synchronise).
#include <chrono>
#include <functional>
#include <thread>

namespace flotilla::test {

// Checks `condition` every couple of milliseconds until it holds (true) or `limit` passes
// (false, after one last check).
inline bool wait_until(const std::function<bool()>& condition,
                       std::chrono::nanoseconds limit = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return condition();
}

}  // namespace flotilla::test
