#include "worker/utilization.h"

#include <algorithm>
#include <cassert>

namespace flotilla {

namespace {
constexpr std::size_t kInitialRing = 16;
}  // namespace

UtilizationWindow::UtilizationWindow(Duration window, int capacity)
    : window_(window), capacity_(capacity), ring_(window > Duration::zero() ? kInitialRing : 1) {
  assert(window >= Duration::zero() && capacity >= 1);
}

void UtilizationWindow::acquire(Time t) { change(t, +1); }

void UtilizationWindow::release(Time t) {
  assert(busy_ > 0);
  change(t, -1);
}

void UtilizationWindow::change(Time t, int delta) {
  busy_ += delta;
  if (window_ == Duration::zero()) {
    // Only the running total: one step, moved forward.
    Step& only = ring_[0];
    only.busy_before = size_ == 0 ? Duration::zero() : only.busy_before + (t - only.at) * only.busy;
    only.at = t;
    only.busy = busy_;
    size_ = 1;
    return;
  }
  if (size_ > 0) {
    Step& last = step(size_ - 1);
    assert(last.at <= t);
    if (last.at == t) {
      last.busy = busy_;
    } else {
      push_back(Step{t, last.busy_before + (t - last.at) * last.busy, busy_});
    }
  } else {
    push_back(Step{t, Duration::zero(), busy_});
  }
  // Later queries start their window at or after t - window_; a step is needed only while its
  // successor starts after that point.
  const Time horizon = t - window_;
  while (size_ >= 2 && step(1).at <= horizon) {
    head_ = (head_ + 1) & (ring_.size() - 1);
    --size_;
  }
}

void UtilizationWindow::push_back(const Step& s) {
  if (size_ == ring_.size()) {
    std::vector<Step> grown(ring_.size() * 2);
    for (std::size_t i = 0; i < size_; ++i) grown[i] = step(i);
    ring_ = std::move(grown);
    head_ = 0;
  }
  ++size_;
  step(size_ - 1) = s;
}

Duration UtilizationWindow::total_at(Time t) const {
  if (size_ == 0 || t < step(0).at) {
    // Only the first change ever can start after a query's window: a pruned step always had a
    // successor at or before the window's start.
    assert(size_ == 0 || step(0).busy_before == Duration::zero());
    return Duration::zero();
  }
  // The last step at or before t.
  std::size_t lo = 0, hi = size_ - 1;
  if (step(hi).at <= t) {
    lo = hi;
  } else {
    while (hi - lo > 1) {
      const std::size_t mid = lo + (hi - lo) / 2;
      (step(mid).at <= t ? lo : hi) = mid;
    }
  }
  const Step& s = step(lo);
  return s.busy_before + (t - s.at) * s.busy;
}

Duration UtilizationWindow::busy_time(Time now) const {
  if (window_ == Duration::zero()) return Duration::zero();
  return total_at(now) - total_at(now - window_);
}

Duration UtilizationWindow::total_busy_time(Time now) const { return total_at(now); }

double UtilizationWindow::percent(Time now) const {
  if (window_ == Duration::zero()) return 0;
  const double value = 100.0 * to_seconds(busy_time(now)) / (to_seconds(window_) * capacity_);
  return std::clamp(value, 0.0, 100.0);
}

}  // namespace flotilla
