#pragma once
// UtilizationWindow: how busy a server of `capacity` slots was over the last `window`, computed
// exactly from the times the number of busy slots changed (the integral of busy slots over the
// window), not sampled. Time before the first change counts as idle, so a server younger than
// the window reports busy slot-time over the whole window. Pure: the caller passes timestamps.
//
// Threading: one thread. Timestamps passed to acquire/release/queries never go backwards.
#include <deque>

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
  // Change points kept (bounded by the changes within one window, plus one).
  std::size_t retained_steps() const { return steps_.size(); }

 private:
  struct Step {
    Time at;
    int busy;  // busy slots from `at` until the next step
  };
  void change(Time t, int delta);

  Duration window_;
  int capacity_;
  int busy_ = 0;
  // Holds the last step at or before the window's start and every later step.
  std::deque<Step> steps_;
};

}  // namespace flotilla
