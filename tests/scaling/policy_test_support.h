#pragma once
// Helpers for the policy tables: groups and snapshots as values.
#include <optional>
#include <string>
#include <vector>

#include "scaling/group_state.h"
#include "scaling/metrics_snapshot.h"

namespace flotilla::testing {

inline constexpr Time kNow = std::chrono::seconds(1000);

// `warm` workers in service since 0, `warming` in service for 1 s, `pending` pending.
inline GroupState make_group(int desired, int min, int max, int warm, int warming = 0,
                             int pending = 0) {
  GroupState g;
  g.name = "g";
  g.min = min;
  g.max = max;
  g.desired = desired;
  int n = 0;
  auto add = [&](LifecycleState s, std::optional<Time> since) {
    WorkerInfo w;
    w.id = "i-" + std::to_string(++n);
    w.state = s;
    w.in_service_since = since;
    g.workers.push_back(w);
  };
  for (int i = 0; i < warm; ++i) add(LifecycleState::in_service, Time::zero());
  for (int i = 0; i < warming; ++i) add(LifecycleState::in_service, kNow - std::chrono::seconds(1));
  for (int i = 0; i < pending; ++i) add(LifecycleState::pending, std::nullopt);
  g.in_service = warm + warming;
  g.pending = pending;
  return g;
}

// Periods of `period` ending at kNow, oldest first.
inline std::vector<PeriodValue> periods(const std::vector<std::optional<double>>& values,
                                        Duration period = std::chrono::seconds(10)) {
  std::vector<PeriodValue> out;
  for (std::size_t i = 0; i < values.size(); ++i) {
    const auto back = static_cast<Duration::rep>(values.size() - 1 - i);
    out.push_back({kNow - back * period, values[i]});
  }
  return out;
}

}  // namespace flotilla::testing
