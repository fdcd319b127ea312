#pragma once
// The graceful stop of a world's data plane, as `flotilla balance` (and serve) end on SIGTERM:
// stop accepting (data_plane.h stop_accepting()), let what is in flight finish, then stop().
// nginx's worker_shutdown_timeout and HAProxy's hard-stop-after bound the wait as `timeout`
// does here.
//
// Threading: the control-plane thread (it runs the world).
#include <cstdint>

#include "core/time.h"
#include "orchestrator/environment.h"

namespace flotilla {

enum class DrainOutcome {
  kDrained,      // every client connection closed
  kTimedOut,     // `timeout` passed first
  kInterrupted,  // another SIGINT or SIGTERM arrived first
};

struct DrainResult {
  DrainOutcome outcome = DrainOutcome::kDrained;
  std::int64_t open_connections = 0;  // client connections stop() cut off
};

// stop_accepting(), then runs the world until BalancerStats::active_connections is 0, `timeout`
// of the world's time has passed or a SIGINT or SIGTERM arrives beyond those received before
// the call; then stop(). The data plane is started and not yet stopped.
DrainResult drain_data_plane(Environment& env, Duration timeout);

}  // namespace flotilla
