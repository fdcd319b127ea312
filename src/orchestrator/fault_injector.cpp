#include "orchestrator/fault_injector.h"

#include <signal.h>

#include <algorithm>

#include "core/duration.h"
#include "core/format.h"
#include "scenario/report.h"

namespace flotilla {

namespace {

// A Spot instance's interruption notice, two minutes ahead (scaled like AWS's durations).
constexpr Duration kSpotWarning = std::chrono::seconds(120);

}  // namespace

FaultInjector::FaultInjector(System& system, Random& random, double time_scale)
    : system_(system), random_(random), time_scale_(time_scale) {}

void FaultInjector::schedule(const std::vector<Fault>& faults, Time origin) {
  Scheduler& scheduler = system_.environment().scheduler();
  for (const Fault& fault : faults)
    scheduler.schedule_at(origin + fault.at, [this, fault] { start(fault); });
}

FaultInjector::Chosen FaultInjector::choose(const WorkerChoice& choice) {
  std::vector<WorkerInfo> in_service;
  for (const WorkerInfo& w : system_.group().state().workers)
    if (w.state == LifecycleState::in_service) in_service.push_back(w);
  Chosen out;
  switch (choice.kind) {
    case WorkerChoice::Kind::kOldest:
      if (!in_service.empty()) out.workers.push_back(in_service.front());
      break;
    case WorkerChoice::Kind::kNewest:
      if (!in_service.empty()) out.workers.push_back(in_service.back());
      break;
    case WorkerChoice::Kind::kIds:
      for (const auto& id : choice.ids) {
        auto it = std::find_if(in_service.begin(), in_service.end(),
                               [&](const WorkerInfo& w) { return w.id == id; });
        if (it == in_service.end()) {
          out.missing.push_back(id);
        } else {
          out.workers.push_back(*it);
        }
      }
      break;
    case WorkerChoice::Kind::kCount:
    case WorkerChoice::Kind::kPercent: {
      int n = choice.how_many(static_cast<int>(in_service.size()));
      while (n-- > 0 && !in_service.empty()) {
        const auto pick = static_cast<std::size_t>(random_.below(in_service.size()));
        out.workers.push_back(in_service[pick]);
        in_service.erase(in_service.begin() + static_cast<std::ptrdiff_t>(pick));
      }
      break;
    }
  }
  return out;
}

std::string FaultInjector::ids(const std::vector<WorkerInfo>& workers,
                               const Chosen* chosen) const {
  std::vector<std::string_view> names;
  for (const auto& w : workers) names.push_back(w.id);
  std::string out = names.empty() ? "none in service" : join(names);
  if (chosen != nullptr && !chosen->missing.empty())
    out += " (not in service: " + join(chosen->missing) + ")";
  return out;
}

void FaultInjector::start(const Fault& fault) {
  Environment& env = system_.environment();
  Scheduler& scheduler = env.scheduler();
  const std::string what = fault.describe();
  Chosen chosen;
  if (fault.takes_workers()) chosen = choose(fault.workers);
  std::vector<WorkerInfo> taken = chosen.workers;
  std::string detail;
  switch (fault.kind) {
    case FaultKind::kKill:
    case FaultKind::kStop: {
      const int sig = fault.kind == FaultKind::kKill ? SIGKILL : SIGSTOP;
      for (const auto& w : taken) env.provider().signal(w.id, sig);
      detail = std::string(sig == SIGKILL ? "SIGKILL " : "SIGSTOP ") + ids(taken, &chosen);
      break;
    }
    case FaultKind::kSlow:
    case FaultKind::kErrors:
    case FaultKind::kCrashAfter:
    case FaultKind::kLatency:
    case FaultKind::kFlap:
      for (const auto& w : taken)
        if (w.endpoint) env.control_worker(w.id, *w.endpoint, fault.set);
      detail = ids(taken, &chosen);
      break;
    case FaultKind::kBootFailure:
      system_.launch_faults().fail_launches_until(scheduler.now() + *fault.duration);
      detail = "launches fail";
      break;
    case FaultKind::kInterruption: {
      const Duration warning = fault.warning.value_or(
          std::chrono::duration_cast<Duration>(kSpotWarning * time_scale_));
      for (const auto& w : taken)
        system_.group().interrupt(w.id, warning,
                                  "got an interruption notice (" + format_duration(warning) + ")");
      detail = "notice to " + ids(taken, &chosen);
      break;
    }
    case FaultKind::kZoneOutage: {
      for (const WorkerInfo& w : system_.group().state().workers)
        if (w.zone == fault.zone && (w.state == LifecycleState::pending ||
                                     w.state == LifecycleState::in_service))
          taken.push_back(w);
      for (const auto& w : taken) env.provider().signal(w.id, SIGSTOP);
      system_.launch_faults().fail_zone_until(fault.zone, scheduler.now() + *fault.duration);
      detail = "SIGSTOP " + ids(taken) + "; launches into " + fault.zone + " fail";
      break;
    }
  }
  system_.record_event(std::string(kEventFault), what + ": " + detail);
  if (fault.duration)
    scheduler.schedule_after(*fault.duration, [this, fault, taken] { end(fault, taken); });
}

void FaultInjector::end(const Fault& fault, const std::vector<WorkerInfo>& workers) {
  Environment& env = system_.environment();
  // Only those the group still has: the others are gone already.
  std::vector<WorkerInfo> still;
  for (const auto& w : workers)
    if (system_.group().worker_state(w.id)) still.push_back(w);
  std::string detail;
  switch (fault.kind) {
    case FaultKind::kStop:
      for (const auto& w : still) env.provider().signal(w.id, SIGCONT);
      detail = "SIGCONT " + ids(still);
      break;
    case FaultKind::kSlow:
    case FaultKind::kErrors:
    case FaultKind::kLatency:
    case FaultKind::kFlap:
      for (const auto& w : still)
        if (w.endpoint) env.control_worker(w.id, *w.endpoint, fault.clear());
      detail = "cleared on " + ids(still);
      break;
    case FaultKind::kBootFailure:
      detail = "launches work again";
      break;
    case FaultKind::kZoneOutage:
      for (const auto& w : still) env.provider().signal(w.id, SIGCONT);
      detail = "SIGCONT " + ids(still) + "; launches into " + fault.zone + " work again";
      break;
    default:
      return;
  }
  system_.record_event(std::string(kEventFaultEnd), fault.describe() + ": " + detail);
}

}  // namespace flotilla
