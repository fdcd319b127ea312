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
  // No allocation: the handler and argument go into the queue's entry.
  void post_event(Time when, EventHandler& handler, std::uint64_t arg) override;
  void post_event_in_order(Time when, EventHandler& handler, std::uint64_t arg) override;

  // Runs the earliest pending event; returns false if there was none.
  bool step();
  // Runs the earliest pending event if it is due at or before `limit`; false if none is.
  bool step(Time limit) { return run_next(limit); }
  // Runs every event due at or before `until`, then sets now() to `until`.
  void run_until(Time until);
  void run_for(Duration span) { run_until(now_ + span); }
  // Runs until the queue is empty or `max_events` ran; returns how many ran.
  std::size_t run(std::size_t max_events = SIZE_MAX);
  std::size_t pending() const { return queue_.size(); }
  // Events run so far (for the simulator's own figures).
  std::uint64_t events_run() const { return events_run_; }

 private:
  bool run_next(Time limit) {
    const bool ran = queue_.run_next(limit, [this](Time when) {
      // A time in the past was queued at the time it was scheduled; never move backwards.
      if (when > now_) now_ = when;
    });
    events_run_ += ran ? 1 : 0;
    return ran;
  }

  Time now_;
  EventQueue queue_;
  std::uint64_t events_run_ = 0;
};

}  // namespace flotilla
