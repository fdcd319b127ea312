#pragma once
// UtilizationWindow: how busy a server of `capacity` slots was, computed exactly from the times
// the number of busy slots changed (the integral of busy slots over time), not sampled:
// - busy_time/percent: over the last `window`. Time before the first change counts as idle, so a
//   server younger than the window reports busy slot-time over the whole window.
// - total_busy_time: since the first change (a server starts idle), from the same change points.
// Busy slot-time is kept in integer nanoseconds, exact up to 292 slot-years (a capacity of 10,000
// fully busy for 10 days).
//
// A window of zero keeps no history, only the running total (total_busy_time); busy_time and
// percent are then not available (0). A simulator that publishes CPU from the total uses it.
//
// Pure: the caller passes timestamps. The change points within one window are kept in a ring
// buffer that grows to the most changes seen in a window and is reused after that, so steady
// use allocates nothing.
//
// Threading: one thread. Timestamps passed to acquire/release/queries never go backwards.
#include <cstddef>
#include <vector>

#include "core/time.h"

namespace flotilla {

class UtilizationWindow {
 public:
  UtilizationWindow(Duration window, int capacity);

  // A slot became busy / idle at t.
  void acquire(Time t);
  void release(Time t);

  int busy() const { return busy_; }
  // Busy slot-time within [now - window, now].
  Duration busy_time(Time now) const;
  // busy_time / (capacity * window), as a percentage in [0, 100].
  double percent(Time now) const;
  // Busy slot-time within [0, now]: the total since the server started.
  Duration total_busy_time(Time now) const;
  // Change points kept (bounded by the changes within one window, plus one).
  std::size_t retained_steps() const { return size_; }

 private:
  struct Step {
    Time at;
    Duration busy_before;  // total busy slot-time up to `at`
    int busy;              // busy slots from `at` until the next step
  };
  void change(Time t, int delta);
  const Step& step(std::size_t i) const { return ring_[(head_ + i) & (ring_.size() - 1)]; }
  Step& step(std::size_t i) { return ring_[(head_ + i) & (ring_.size() - 1)]; }
  void push_back(const Step& s);
  // Total busy slot-time up to t, for t no earlier than the retained steps require (the window's
  // start of any query still allowed).
  Duration total_at(Time t) const;

  Duration window_;
  int capacity_;
  int busy_ = 0;
  // A ring of ring_.size() (a power of two) slots, size_ of them in use from head_. Holds the
  // last step at or before the latest window's start and every later step.
  std::vector<Step> ring_;
  std::size_t head_ = 0;
  std::size_t size_ = 0;
};

}  // namespace flotilla
