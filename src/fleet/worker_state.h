#pragma once
// A worker's lifecycle, with the words of EC2 Auto Scaling.
//   pending -> in_service -> draining -> terminating -> terminated
// pending: launched, not yet healthy; in_service: healthy and registered as a target;
// draining: deregistered, finishing in-flight requests; terminating: SIGTERM sent;
// terminated: the process exited.
#include <string_view>

namespace flotilla {

enum class LifecycleState { pending, in_service, draining, terminating, terminated };

constexpr std::string_view to_string(LifecycleState s) {
  switch (s) {
    case LifecycleState::pending:
      return "pending";
    case LifecycleState::in_service:
      return "in_service";
    case LifecycleState::draining:
      return "draining";
    case LifecycleState::terminating:
      return "terminating";
    case LifecycleState::terminated:
      return "terminated";
  }
  return "unknown";
}

}  // namespace flotilla
