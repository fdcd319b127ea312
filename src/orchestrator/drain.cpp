#include "orchestrator/drain.h"

namespace flotilla {

DrainResult drain_data_plane(Environment& env, Duration timeout) {
  DataPlane& plane = env.data_plane();
  const int signals_before = env.signals_received();
  plane.stop_accepting();
  const bool drained = env.run_until_signal(
      [&plane] { return plane.stats().active_connections == 0; }, timeout, signals_before + 1);
  DrainResult result;
  if (!drained) {
    result.outcome = env.signals_received() > signals_before ? DrainOutcome::kInterrupted
                                                             : DrainOutcome::kTimedOut;
    result.open_connections = plane.stats().active_connections;
  }
  plane.stop();
  return result;
}

}  // namespace flotilla
