#pragma once
// Virtual time: an event queue ordered by (time, insertion sequence). Time moves only when the
// owner runs the queue, and jumps straight to the next event. Used by tests and the simulator.
#include <cstddef>
#include <cstdint>

#include "core/event_queue.h"

namespace flotilla {

class VirtualScheduler final : public Scheduler {
 public:
  explicit VirtualScheduler(Time start = Time::zero()) : now_(start) {}

  Time now() const override { return now_; }
  TimerId schedule_at(Time when, Callback callback) override;
  bool cancel(TimerId id) override { return queue_.cancel(id); }

  // Runs the earliest pending event; returns false if there was none.
  bool step();
  // Runs every event due at or before `until`, then sets now() to `until`.
  void run_until(Time until);
  void run_for(Duration span) { run_until(now_ + span); }
  // Runs until the queue is empty or `max_events` ran; returns how many ran.
  std::size_t run(std::size_t max_events = SIZE_MAX);
  std::size_t pending() const { return queue_.size(); }

 private:
  Time now_;
  EventQueue queue_;
};

}  // namespace flotilla
