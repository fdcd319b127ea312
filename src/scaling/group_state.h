#pragma once
// GroupState: what a scaling policy may know about the Auto Scaling group, as a value (a copy
// taken by Group::state()), so that policies stay pure functions of their inputs.
#include <optional>
#include <string>
#include <vector>

#include "core/time.h"
#include "fleet/provider.h"
#include "fleet/worker_state.h"

namespace flotilla {

struct WorkerInfo {
  WorkerId id;
  LifecycleState state = LifecycleState::pending;
  Time launched_at{};
  std::optional<Time> in_service_since;  // set when it became in_service
  std::optional<Endpoint> endpoint;      // once the worker announced its port
  bool protected_from_scale_in = false;  // Group::set_protected
  // In service, reported unhealthy, waiting for the group's replacement budget (Group).
  bool unhealthy = false;
  std::string zone;  // "" when the group has no zones
};

struct GroupState {
  std::string name;
  int min = 0;
  int max = 0;
  int desired = 0;
  int pending = 0;
  int in_service = 0;
  int draining = 0;
  int terminating = 0;
  // Every worker the group still tracks (terminated ones are forgotten), in launch order.
  std::vector<WorkerInfo> workers;
  // When desired capacity last changed (group creation counts), for cooldowns.
  std::optional<Time> last_desired_change;

  // In-service workers whose warm-up is over at `now`: in service since at most now - warmup.
  int in_service_warmed(Time now, Duration warmup) const {
    int n = 0;
    for (const auto& w : workers) {
      if (w.state == LifecycleState::in_service && w.in_service_since &&
          *w.in_service_since + warmup <= now)
        ++n;
    }
    return n;
  }
};

}  // namespace flotilla
