#include "worker/worker_model.h"

#include <algorithm>
#include <cassert>

namespace flotilla {

std::string_view to_string(Admission a) {
  switch (a) {
    case Admission::kServe:
      return "serve";
    case Admission::kQueued:
      return "queued";
    case Admission::kRejectedBooting:
      return "booting";
    case Admission::kRejectedQueueFull:
      return "over capacity";
    case Admission::kRejectedShuttingDown:
      return "shutting down";
  }
  return "?";
}

std::string_view to_string(WorkerHealth h) {
  switch (h) {
    case WorkerHealth::kBooting:
      return "booting";
    case WorkerHealth::kHealthy:
      return "ok";
    case WorkerHealth::kShuttingDown:
      return "shutting down";
  }
  return "?";
}

WorkerModel::WorkerModel(const WorkerProfile& profile, Time started, CpuWindow cpu_window)
    : capacity_(profile.capacity),
      queue_limit_(profile.queue_limit),
      started_(started),
      boot_at_(started + std::max(profile.boot_time, Duration::zero())),
      utilization_(cpu_window == CpuWindow::kProfile ? profile.cpu_window : Duration::zero(),
                   profile.capacity),
      since_start_(cpu_window == CpuWindow::kSinceStart) {
  assert(capacity_ >= 1 && queue_limit_ >= 0);
}

double WorkerModel::cpu_utilization(Time now) const {
  if (!since_start_) return utilization_.percent(now);
  const double up = to_seconds(now - started_);
  if (up <= 0) return 0;
  const double value = 100.0 * to_seconds(busy_time(now)) / (up * capacity_);
  return std::clamp(value, 0.0, 100.0);
}

Admission WorkerModel::reject(Admission why) {
  ++rejected_;
  return why;
}

Admission WorkerModel::admit(Time now, Arrival arrival) {
  if (shutting_down_ && arrival == Arrival::kNew) return reject(Admission::kRejectedShuttingDown);
  if (!booted(now)) return reject(Admission::kRejectedBooting);
  if (in_flight_ < capacity_) {
    ++in_flight_;
    utilization_.acquire(now);
    return Admission::kServe;
  }
  if (queued_ < queue_limit_) {
    ++queued_;
    return Admission::kQueued;
  }
  return reject(Admission::kRejectedQueueFull);
}

bool WorkerModel::finish(Time now) {
  assert(in_flight_ > 0);
  ++served_;
  if (queued_ > 0) {
    // The slot passes straight to the queue's front: busy slots do not change.
    --queued_;
    return true;
  }
  --in_flight_;
  utilization_.release(now);
  return false;
}

WorkerHealth WorkerModel::health(Time now) const {
  if (shutting_down_) return WorkerHealth::kShuttingDown;
  return booted(now) ? WorkerHealth::kHealthy : WorkerHealth::kBooting;
}

WorkerStatus WorkerModel::status(Time now) const {
  WorkerStatus s;
  s.in_flight = in_flight_;
  s.queued = queued_;
  s.served = served_;
  s.rejected = rejected_;
  s.capacity = capacity_;
  s.booted = booted(now);
  s.cpu_utilization = cpu_utilization(now);
  s.busy_time = utilization_.total_busy_time(now);
  s.uptime = now - started_;
  return s;
}

}  // namespace flotilla
