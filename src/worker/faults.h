#pragma once
// WorkerFaults: the faults a worker can be told to suffer, and the control message that sets
// them. The live worker takes it as the body of PUT /flotilla/faults (worker/server.h), the
// simulated one through SimWorker::apply_faults; both hand it to their WorkerModel, which applies
// the same rules in both worlds (worker/worker_model.h):
//
//   {"slow": {"factor": 10},                       service times x factor (1-1000)
//    "errors": {"fraction": 0.3},                  that share of the answers to work is 500 (0-1)
//    "crash_after": {"requests": 100},             exit (kCrashExitCode) once that many more
//                                                  requests were served (>= 1)
//    "flap": {"period": "2s"},                     health alternates unhealthy / healthy every
//                                                  period, unhealthy first (1ms-1h)
//    "latency": {"delay": "200ms", "jitter": "50ms"}}  every answer to work and to health
//                                                  checks waits delay +- a uniform jitter
//                                                  (delay 0-1h, jitter 0-delay, default 0)
//
// In a message each kind is absent (left as it is), null (cleared) or an object (set, replacing
// what was set). A worker's state, as GET /flotilla/faults returns it, is the same object with
// every kind present: the object of what is set, null for what is not. Durations are written as
// the files spell them ("2s"); numbers as numbers.
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "core/config.h"
#include "core/time.h"

namespace flotilla {

// The exit code of a worker that crash_after ended (live and simulated).
inline constexpr int kCrashExitCode = 1;

struct SlowFault {
  double factor = 1;
  bool operator==(const SlowFault&) const = default;
};
struct ErrorsFault {
  double fraction = 0;
  bool operator==(const ErrorsFault&) const = default;
};
struct CrashAfterFault {
  std::uint64_t requests = 1;
  bool operator==(const CrashAfterFault&) const = default;
};
struct FlapFault {
  Duration period = std::chrono::seconds(1);
  bool operator==(const FlapFault&) const = default;
};
struct LatencyFault {
  Duration delay{};
  Duration jitter{};
  bool operator==(const LatencyFault&) const = default;
};

// Limits a control message may use.
inline constexpr double kMaxSlowFactor = 1000;
inline constexpr std::uint64_t kMaxCrashAfterRequests = std::uint64_t{1} << 53;
inline constexpr Duration kMinFlapPeriod = std::chrono::milliseconds(1);
inline constexpr Duration kMaxFlapPeriod = std::chrono::hours(1);
inline constexpr Duration kMaxLatencyDelay = std::chrono::hours(1);

enum class FaultOp : std::uint8_t { kKeep, kClear, kSet };

// One kind in a message: kept (absent), cleared (null) or set to `fault`.
template <class Fault>
struct FaultSetting {
  FaultOp op = FaultOp::kKeep;
  Fault fault{};

  static FaultSetting set(Fault f) { return {FaultOp::kSet, f}; }
  static FaultSetting clear() { return {FaultOp::kClear, {}}; }
  // The fault when set, else null.
  const Fault* get() const { return op == FaultOp::kSet ? &fault : nullptr; }
  bool operator==(const FaultSetting&) const = default;
};

struct WorkerFaults {
  FaultSetting<SlowFault> slow;
  FaultSetting<ErrorsFault> errors;
  FaultSetting<CrashAfterFault> crash_after;
  FaultSetting<FlapFault> flap;
  FaultSetting<LatencyFault> latency;

  // Every kind cleared: applied, it ends every fault.
  static WorkerFaults clear_all();
  bool operator==(const WorkerFaults&) const = default;
};

// The kinds' names, in the order messages list them.
inline constexpr std::string_view kWorkerFaultKinds[] = {"slow", "errors", "crash_after", "flap",
                                                         "latency"};

// The control message in `node` (an object). UserError naming node.file() and the JSON pointer
// of the bad field ("/slow/factor"), as the files' parsers do.
WorkerFaults parse_worker_faults(const ConfigNode& node);
// One kind's object (`kind` is one of kWorkerFaultKinds) set into `into`; null clears the kind.
// `also_allowed` names fields that the caller reads itself (a scenario's fault carries "workers"
// beside the kind's own); any other unknown field is a UserError.
void parse_worker_fault(std::string_view kind, const ConfigNode& node, WorkerFaults& into,
                        std::initializer_list<std::string_view> also_allowed = {});

// The message as JSON: kept kinds are left out, cleared ones are null. Parsing it gives back the
// same message.
std::string worker_faults_json(const WorkerFaults& faults);

}  // namespace flotilla
