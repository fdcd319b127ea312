#pragma once
// Helpers shared by the policies' decide functions (internal to src/scaling).
#include <algorithm>
#include <cmath>
#include <string>

#include "core/format.h"
#include "scaling/scaling_policy.h"

namespace flotilla {

// Clamps `want` into [group.min, group.max], recording kClampMin or kClampMax in `d` when it
// had to.
inline int clamp_to_limits(int want, const GroupState& group, Decision& d) {
  if (want > group.max) {
    d.clamped_by.push_back(kClampMax);
    return group.max;
  }
  if (want < group.min) {
    d.clamped_by.push_back(kClampMin);
    return group.min;
  }
  return want;
}

// " (clamped to max 5)" or "" when `want` lies within the limits.
inline std::string clamp_note(int want, const GroupState& group) {
  if (want > group.max) return ", clamped to max " + std::to_string(group.max);
  if (want < group.min) return ", clamped to min " + std::to_string(group.min);
  return "";
}

// "desired 2 -> 4".
inline std::string desired_arrow(int from, int to) {
  return "desired " + std::to_string(from) + " -> " + std::to_string(to);
}

// ceil(x), tolerant of floating-point noise just above a whole number.
inline int ceil_int(double x) { return static_cast<int>(std::ceil(x - 1e-9)); }

// Workers that count toward desired capacity (pending or in service) and are not past warm-up
// at `now`: pending ones, and in-service ones in service for less than `warmup`.
inline int warming_workers(const GroupState& group, Time now, Duration warmup) {
  int n = 0;
  for (const auto& w : group.workers) {
    if (w.state == LifecycleState::pending) ++n;
    if (w.state == LifecycleState::in_service &&
        (!w.in_service_since || *w.in_service_since + warmup > now))
      ++n;
  }
  return n;
}

}  // namespace flotilla
