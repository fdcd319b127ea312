#pragma once
// Time as the control plane sees it: a duration since the scheduler's epoch.
// The live scheduler's epoch is its construction; the virtual scheduler starts at 0.
#include <chrono>
#include <cstdint>

namespace flotilla {

using Duration = std::chrono::nanoseconds;
using Time = std::chrono::nanoseconds;  // since the scheduler's epoch

using namespace std::chrono_literals;

inline double to_seconds(Duration d) { return std::chrono::duration<double>(d).count(); }
inline double to_millis(Duration d) { return std::chrono::duration<double, std::milli>(d).count(); }
inline Duration from_seconds(double s) {
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(s));
}
inline Duration from_millis(double ms) {
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double, std::milli>(ms));
}

}  // namespace flotilla
