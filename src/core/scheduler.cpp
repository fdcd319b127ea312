#include "core/scheduler.h"

#include <cassert>

namespace flotilla {

PeriodicTask::PeriodicTask(Scheduler& scheduler, Duration period, std::function<void()> tick)
    : scheduler_(scheduler), period_(period), tick_(std::move(tick)) {
  assert(period_ > Duration::zero());
}

PeriodicTask::~PeriodicTask() { stop(); }

void PeriodicTask::start(Time first) {
  stop();
  running_ = true;
  next_ = first;
  arm();
}

void PeriodicTask::stop() {
  if (running_) scheduler_.cancel(timer_);
  running_ = false;
}

void PeriodicTask::arm() {
  timer_ = scheduler_.schedule_at(next_, [this] {
    tick_time_ = next_;
    next_ += period_;
    // Skip grid points already in the past so a stalled loop does not fire a burst.
    const Time now = scheduler_.now();
    while (next_ <= now - period_) next_ += period_;
    arm();
    tick_();
  });
}

}  // namespace flotilla
