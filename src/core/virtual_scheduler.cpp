#include "core/virtual_scheduler.h"

#include <algorithm>

namespace flotilla {

Scheduler::TimerId VirtualScheduler::schedule_at(Time when, Callback callback) {
  // A time in the past runs at the current time, after what is already due now.
  return queue_.push(std::max(when, now_), std::move(callback));
}

void VirtualScheduler::post_event(Time when, EventHandler& handler, std::uint64_t arg) {
  queue_.push_event(std::max(when, now_), handler, arg);
}

void VirtualScheduler::post_event_in_order(Time when, EventHandler& handler, std::uint64_t arg) {
  queue_.push_event_in_order(std::max(when, now_), handler, arg);
}

bool VirtualScheduler::step() { return run_next(Time::max()); }

void VirtualScheduler::run_until(Time until) {
  while (run_next(until)) {
  }
  now_ = std::max(now_, until);
}

std::size_t VirtualScheduler::run(std::size_t max_events) {
  std::size_t count = 0;
  while (count < max_events && step()) ++count;
  return count;
}

}  // namespace flotilla
