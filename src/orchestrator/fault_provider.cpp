#include "orchestrator/fault_provider.h"

#include <signal.h>

namespace flotilla {

FaultProvider::FaultProvider(Scheduler& scheduler, Provider& inner)
    : scheduler_(scheduler), inner_(inner) {}

void FaultProvider::fail_zone_until(const std::string& zone, Time until) {
  Time& t = zone_until_[zone];
  t = std::max(t, until);
}

bool FaultProvider::failing(const std::string& zone) const {
  const Time now = scheduler_.now();
  if (now < all_until_) return true;
  auto it = zone_until_.find(zone);
  return it != zone_until_.end() && now < it->second;
}

WorkerId FaultProvider::launch(const LaunchSpec& spec) {
  const bool doomed = failing(spec.zone);
  const WorkerId id = inner_.launch(spec);
  // Killed in the next turn, never from inside launch(): the worker has started, and dies
  // before it can become healthy.
  if (doomed)
    scheduler_.schedule_after(Duration::zero(), [this, alive = alive_, id] {
      if (*alive) inner_.signal(id, SIGKILL);
    });
  return id;
}

}  // namespace flotilla
