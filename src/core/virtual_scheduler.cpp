#include "core/virtual_scheduler.h"

#include <algorithm>

namespace flotilla {

Scheduler::TimerId VirtualScheduler::schedule_at(Time when, Callback callback) {
  // A time in the past runs at the current time, after what is already due now.
  return queue_.push(std::max(when, now_), std::move(callback));
}

bool VirtualScheduler::step() {
  const auto next = queue_.next_time();
  if (!next) return false;
  now_ = std::max(now_, *next);
  auto event = queue_.pop_due(now_);
  event->callback();
  return true;
}

void VirtualScheduler::run_until(Time until) {
  for (auto next = queue_.next_time(); next && *next <= until; next = queue_.next_time()) step();
  now_ = std::max(now_, until);
}

std::size_t VirtualScheduler::run(std::size_t max_events) {
  std::size_t count = 0;
  while (count < max_events && step()) ++count;
  return count;
}

}  // namespace flotilla
