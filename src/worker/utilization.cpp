#include "worker/utilization.h"

#include <algorithm>
#include <cassert>

namespace flotilla {

UtilizationWindow::UtilizationWindow(Duration window, int capacity)
    : window_(window), capacity_(capacity) {
  assert(window > Duration::zero() && capacity >= 1);
}

void UtilizationWindow::acquire(Time t) { change(t, +1); }

void UtilizationWindow::release(Time t) {
  assert(busy_ > 0);
  change(t, -1);
}

void UtilizationWindow::change(Time t, int delta) {
  assert(steps_.empty() || steps_.back().at <= t);
  busy_ += delta;
  if (!steps_.empty() && steps_.back().at == t)
    steps_.back().busy = busy_;
  else
    steps_.push_back(Step{t, busy_});
  // Later queries start their window at or after t - window_; a step is needed only while its
  // successor starts after that point.
  const Time horizon = t - window_;
  while (steps_.size() >= 2 && steps_[1].at <= horizon) steps_.pop_front();
}

Duration UtilizationWindow::busy_time(Time now) const {
  const Time from = now - window_;
  Duration total = Duration::zero();
  for (std::size_t i = 0; i < steps_.size(); ++i) {
    const Time begin = std::max(steps_[i].at, from);
    const Time end = std::min(i + 1 < steps_.size() ? steps_[i + 1].at : now, now);
    if (end > begin) total += (end - begin) * steps_[i].busy;
  }
  return total;
}

double UtilizationWindow::percent(Time now) const {
  const double value = 100.0 * to_seconds(busy_time(now)) / (to_seconds(window_) * capacity_);
  return std::clamp(value, 0.0, 100.0);
}

}  // namespace flotilla
