#pragma once
// Test support: the scenario library's fault scenarios, one per fault kind, and what each must
// leave in its report beyond its own expectations. The live test (tests/integration) and the
// simulated one (tests/orchestrator) read the same table, so that both worlds are held to the
// same effects.
#include <string>
#include <utility>
#include <vector>

namespace flotilla::test {

struct FaultScenario {
  const char* name;   // scenarios/<name>.json
  const char* fault;  // the "fault" event's detail starts with this
  bool ends;          // the fault has a `for`: a "fault_end" event follows
  // An event kind the fault must cause (worker_replaced, target_unhealthy, target_ejected),
  // or nullptr.
  const char* effect_event;
  // Text that some scaling activity's cause must contain, or nullptr.
  const char* effect_activity;
};

// clang-format off
inline const FaultScenario kFaultScenarios[] = {
    {"kill-storm", "kill 33% of the workers", false, "worker_replaced", "(signal 9 (SIGKILL))"},
    {"hung-worker", "stop 1 worker for 20s", true, "target_unhealthy", "Target.Timeout"},
    {"gray-failure", "slow 1 worker x5 for 20s", true, nullptr, nullptr},
    {"error-burst", "errors 1 worker (50% of answers 500) for 20s", true, "target_ejected", nullptr},
    {"crash-loop", "crash_after 1 worker after 300 more requests", false, "worker_replaced",
     "exited unexpectedly (exit 1)"},
    {"bad-deploy", "boot_failure for 12s", true, nullptr, "exited before becoming healthy"},
    {"slow-network", "latency 1 worker +150ms +-50ms for 15s", true, nullptr, nullptr},
    {"flapping", "flap 1 worker every 2s for 20s", true, "target_unhealthy", "unhealthy (target health"},
    {"spot-interruption", "interruption 2 workers", false, "worker_replaced",
     "got an interruption notice"},
    {"az-outage", "zone_outage b for 20s", true, "target_unhealthy", "AZRebalance"},
};
// clang-format on

// What a run showed: its events as (kind, detail) and its activities' causes.
struct ObservedRun {
  std::vector<std::pair<std::string, std::string>> events;
  std::vector<std::string> activity_causes;
};

// The effects of `s` that `run` lacks, for people ("no fault_end event"); empty when it has all.
inline std::vector<std::string> missing_effects(const FaultScenario& s, const ObservedRun& run) {
  const auto has_event = [&](const std::string& kind, const std::string& prefix) {
    for (const auto& [k, detail] : run.events)
      if (k == kind && detail.rfind(prefix, 0) == 0) return true;
    return false;
  };
  std::vector<std::string> missing;
  if (!has_event("fault", s.fault)) missing.push_back("no fault event starting \"" + std::string(s.fault) + "\"");
  if (s.ends && !has_event("fault_end", s.fault)) missing.push_back("no fault_end event");
  if (!s.ends && has_event("fault_end", "")) missing.push_back("a fault_end event for an instant fault");
  if (s.effect_event != nullptr && !has_event(s.effect_event, ""))
    missing.push_back("no " + std::string(s.effect_event) + " event");
  if (s.effect_activity != nullptr) {
    bool found = false;
    for (const auto& cause : run.activity_causes)
      found = found || cause.find(s.effect_activity) != std::string::npos;
    if (!found) missing.push_back("no activity whose cause says \"" + std::string(s.effect_activity) + "\"");
  }
  return missing;
}

}  // namespace flotilla::test
