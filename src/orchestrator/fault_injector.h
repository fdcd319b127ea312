#pragma once
// FaultInjector: starts a scenario's faults (scenario/fault.h) on a running System and ends
// them, in either world, recording each in the system's events: "fault" when it starts (or, for
// an instant fault, is applied), "fault_end" when its `for` is over, each with the fault's own
// description and the workers it took.
//
// How each kind acts:
//   kill, stop       signals through the provider (SIGKILL; SIGSTOP, then SIGCONT)
//   slow, errors, crash_after, latency, flap
//                    the worker's control interface (Environment::control_worker): set at the
//                    start, cleared at the end (crash_after ends by itself)
//   boot_failure     launches fail until the end (FaultProvider)
//   interruption     Group::interrupt with the warning (AWS's 120 s x the time scale unless
//                    the fault gives one)
//   zone_outage      every worker in the zone SIGSTOPped and launches into it failing until the
//                    end; then SIGCONT for those still there, and the group rebalances
// Workers are chosen among those in service when the fault starts, in launch order, with the
// run's Random for counts and percentages.
//
// Threading: control plane; the system and the random must outlive the injector.
#include <string>
#include <vector>

#include "core/random.h"
#include "orchestrator/system.h"
#include "scenario/fault.h"

namespace flotilla {

class FaultInjector {
 public:
  FaultInjector(System& system, Random& random, double time_scale);

  // Every fault at origin + its `at`.
  void schedule(const std::vector<Fault>& faults, Time origin);
  // One fault, now.
  void start(const Fault& fault);

 private:
  struct Chosen {
    std::vector<WorkerInfo> workers;
    std::vector<std::string> missing;  // ids asked for that are not in service
  };
  Chosen choose(const WorkerChoice& choice);
  void end(const Fault& fault, const std::vector<WorkerInfo>& workers);
  std::string ids(const std::vector<WorkerInfo>& workers, const Chosen* chosen = nullptr) const;

  System& system_;
  Random& random_;
  double time_scale_;
};

}  // namespace flotilla
