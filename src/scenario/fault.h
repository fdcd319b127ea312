#pragma once
// Faults a scenario injects (scenario.h's "faults"), as a production fleet suffers them:
//
//   { "at": "45s", "for": "20s", "<kind>": { "workers": ..., <the kind's fields> } }
//
// - "workers" chooses the targets from the workers in service when the fault starts: a count
//   (3), a percentage ("25%", rounded up, at least one), "oldest", "newest" or a list of ids.
//   A count or a percentage draws at random with the run's seed. kill's older form
//   {"kill": {"count": 1}} still reads as "workers": 1; giving both is an error.
// - The kinds (what `for` means, and whether it is needed):
//   kill          SIGKILL                                              no `for`
//   stop          SIGSTOP, SIGCONT when `for` ends (a hung worker)     `for` needed
//   slow          service time x `factor`                              `for` needed
//   errors        a `fraction` of the answers to work are 500          `for` needed
//   crash_after   the worker exits after `requests` more requests      no `for`
//   latency       the balancer -> worker path adds `delay` +- `jitter` `for` needed
//   flap          health answers alternate every `period`              `for` needed
//   boot_failure  workers launched during `for` die before healthy     `for` needed, no workers
//   interruption  a Spot-style notice: `warning` (default AWS's two
//                 minutes, scaled like every AWS duration), drained,
//                 replaced at once, killed when the warning runs out   no `for`
//   zone_outage   every worker in `zone` stops and launches into it
//                 fail, for `for`                                      `for` needed, no workers
//   slow, errors, crash_after, latency and flap are the worker's own (worker/faults.h): their
//   fields are read by the worker's control-message parser, so a scenario and the control
//   interface mean the same by them.
// - A fault must end by the scenario's end.
//
// Every mistake is a UserError naming the file and the JSON pointer.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"
#include "core/time.h"
#include "worker/faults.h"

namespace flotilla {

enum class FaultKind {
  kKill,
  kStop,
  kSlow,
  kErrors,
  kCrashAfter,
  kLatency,
  kFlap,
  kBootFailure,
  kInterruption,
  kZoneOutage,
};
// "kill", "stop", ... as files spell them.
std::string_view to_string(FaultKind kind);

// Which workers in service a fault takes.
struct WorkerChoice {
  enum class Kind { kCount, kPercent, kOldest, kNewest, kIds };
  Kind kind = Kind::kCount;
  int count = 1;
  double percent = 0;
  std::vector<std::string> ids;
  // "1 worker", "2 workers", "25% of the workers", "the oldest worker", "i-..., i-..."
  std::string describe() const;
  // How many of `in_service` workers a count or percentage takes (the others: their rule).
  int how_many(int in_service) const;
};

// A fault's "workers": a count, "25%", "oldest", "newest" or a list of ids.
WorkerChoice parse_workers(const ConfigNode& node);

struct Fault {
  Duration at{};
  std::optional<Duration> duration;  // "for"
  FaultKind kind = FaultKind::kKill;
  WorkerChoice workers;     // all kinds but boot_failure and zone_outage
  WorkerFaults set;         // slow, errors, crash_after, latency, flap: what the worker is told
  std::optional<Duration> warning;  // interruption; unset: two minutes x the time scale
  std::string zone;                 // zone_outage

  // The kinds that take workers by `workers` (all but boot_failure and zone_outage).
  bool takes_workers() const;
  // The worker's own kinds (set through its control interface).
  bool worker_side() const;
  // What the worker is told when the fault ends (the kind cleared); empty for crash_after.
  WorkerFaults clear() const;
  // "slow 1 worker x10 for 30s", "kill 2 workers", "zone_outage b for 1m".
  std::string describe() const;
};

// One entry of "faults". `duration`: the scenario's, which every fault must end by;
// `zones`: the fleet's (a zone_outage names one of them). Without `control_interface` (the
// command provider's workers, a user's own server) the worker's own kinds (worker_side()) are
// mistakes, named at the kind's pointer; signals (kill, stop) and the group's faults remain.
Fault parse_fault(const ConfigNode& node, Duration duration, const std::vector<std::string>& zones,
                  bool control_interface = true);

}  // namespace flotilla
