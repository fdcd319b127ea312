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
    case Admission::kHeld:
      return "held";
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
    case WorkerHealth::kUnhealthy:
      return "unhealthy";
  }
  return "?";
}

namespace {

// The model's streams come from the worker's seed through salts of their own, so that they are
// not the ServiceTimeSampler's stream on the same seed, nor each other.
constexpr std::uint64_t kErrorsStreamSalt = 0xe7707e5a17ed5eedULL;
constexpr std::uint64_t kLatencyStreamSalt = 0x1a7e9c75a17ed5edULL;

}  // namespace

WorkerModel::WorkerModel(const WorkerProfile& profile, Time started, CpuWindow cpu_window,
                         std::uint64_t fault_seed)
    : capacity_(profile.capacity),
      queue_limit_(profile.queue_limit),
      started_(started),
      boot_at_(started + std::max(profile.boot_time, Duration::zero())),
      utilization_(cpu_window == CpuWindow::kProfile ? profile.cpu_window : Duration::zero(),
                   profile.capacity),
      since_start_(cpu_window == CpuWindow::kSinceStart),
      errors_random_(fault_seed ^ kErrorsStreamSalt),
      latency_random_(fault_seed ^ kLatencyStreamSalt) {
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

Completion WorkerModel::complete(Time now) {
  assert(in_flight_ > 0);
  ++served_;
  Completion c;
  if (queued_ > 0) {
    // The slot passes straight to the queue's front: busy slots do not change.
    --queued_;
    c.starts_next = true;
  } else {
    --in_flight_;
    utilization_.release(now);
  }
  if (errors_fault_ && errors_random_.uniform() < errors_fault_->fraction) {
    c.status = 500;
    ++errors_;
  }
  if (crash_after_ && --crash_after_->requests == 0) {
    c.crash = true;
    crash_after_.reset();
  }
  return c;
}

namespace {

// A kind as the model keeps it: set or not.
template <class Fault>
void apply(const FaultSetting<Fault>& change, std::optional<Fault>& kept) {
  if (change.op == FaultOp::kKeep) return;
  kept.reset();
  if (const Fault* f = change.get()) kept = *f;
}

template <class Fault>
FaultSetting<Fault> setting(const std::optional<Fault>& kept) {
  return kept ? FaultSetting<Fault>::set(*kept) : FaultSetting<Fault>::clear();
}

}  // namespace

void WorkerModel::apply_faults(const WorkerFaults& change, Time now) {
  apply(change.slow, slow_);
  apply(change.errors, errors_fault_);
  apply(change.crash_after, crash_after_);
  apply(change.flap, flap_);
  apply(change.latency, latency_);
  if (change.flap.get()) flap_since_ = now;
  assert(!slow_ || slow_->factor > 0);
  assert(!crash_after_ || crash_after_->requests > 0);
  assert(!flap_ || flap_->period > Duration::zero());
}

WorkerFaults WorkerModel::faults() const {
  WorkerFaults f;
  f.slow = setting(slow_);
  f.errors = setting(errors_fault_);
  f.crash_after = setting(crash_after_);
  f.flap = setting(flap_);
  f.latency = setting(latency_);
  return f;
}

Duration WorkerModel::answer_delay() {
  if (!latency_) return Duration::zero();
  Duration d = latency_->delay;
  if (latency_->jitter > Duration::zero()) {
    const double offset = (2 * latency_random_.uniform() - 1) * to_seconds(latency_->jitter);
    d += from_seconds(offset);
  }
  return std::max(d, Duration::zero());
}

WorkerHealth WorkerModel::health(Time now) const {
  if (shutting_down_) return WorkerHealth::kShuttingDown;
  if (!booted(now)) return WorkerHealth::kBooting;
  if (flap_ && ((now - flap_since_) / flap_->period) % 2 == 0) return WorkerHealth::kUnhealthy;
  return WorkerHealth::kHealthy;
}

WorkerStatus WorkerModel::status(Time now) const {
  WorkerStatus s;
  s.in_flight = in_flight_;
  s.queued = queued_;
  s.served = served_;
  s.rejected = rejected_;
  s.errors = errors_;
  s.capacity = capacity_;
  s.booted = booted(now);
  s.cpu_utilization = cpu_utilization(now);
  s.busy_time = utilization_.total_busy_time(now);
  s.uptime = now - started_;
  return s;
}

}  // namespace flotilla
