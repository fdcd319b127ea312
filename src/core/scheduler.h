#pragma once
// Scheduler: the control plane's only source of time and timers.
//
// Contract (checked by tests/core/scheduler_contract_test.cpp on both implementations):
// - now() never goes backwards.
// - A callback scheduled at time T runs once, at or after T (live) or exactly at T (virtual),
//   unless cancelled first. Callbacks due at the same time run in the order they were scheduled.
// - A time in the past runs as soon as possible, never inline inside schedule_at().
// - cancel() returns true when it removed a pending callback, false when it already ran,
//   was cancelled, or never existed. A callback may schedule and cancel others.
//
// - post_event() is schedule_at() for hot paths (the simulator's per-request events): the
//   handler and a 64-bit argument instead of a callback, not cancellable, ordered with every
//   other event by (time, order of scheduling). The virtual scheduler runs it without
//   allocating; the default wraps it in a callback.
// - post_event_in_order() is post_event() for a stream of events in time order.
// - TimerId 0 is never a valid id (callers use it for "no timer").
//
// Threading: not thread-safe. Every call, and every callback, happens on the one control-plane
// thread (the thread that runs the live scheduler's io_context, or the simulator's loop).
#include <cstdint>
#include <functional>

#include "core/time.h"

namespace flotilla {

// The receiver of post_event(): `arg` says which of its events is due (a request slot, ...).
class EventHandler {
 public:
  virtual void on_event(std::uint64_t arg) = 0;

 protected:
  ~EventHandler() = default;
};

class Scheduler {
 public:
  using TimerId = std::uint64_t;
  using Callback = std::function<void()>;

  virtual ~Scheduler() = default;

  virtual Time now() const = 0;
  virtual TimerId schedule_at(Time when, Callback callback) = 0;
  virtual bool cancel(TimerId id) = 0;
  virtual void post_event(Time when, EventHandler& handler, std::uint64_t arg) {
    schedule_at(when, [&handler, arg] { handler.on_event(arg); });
  }
  // post_event() for events that come in time order among themselves (one arrival process): the
  // same order with every other event, kept apart from the others so that each costs a compare
  // instead of a heap push and pop. Every call's `when` must be no earlier than the previous
  // call's (asserted).
  virtual void post_event_in_order(Time when, EventHandler& handler, std::uint64_t arg) {
    post_event(when, handler, arg);
  }

  TimerId schedule_after(Duration delay, Callback callback) {
    return schedule_at(now() + delay, std::move(callback));
  }
};

// Runs a callback every `period`, at first + k * period (fixed rate, no drift).
// If a tick is late the next one keeps the original grid. Stops on destruction.
// Inside the callback, tick_time() is the grid time the tick was due at: stamp data with it, not
// with now(), so that two tasks on the same grid agree even when a live timer fires late.
class PeriodicTask {
 public:
  PeriodicTask(Scheduler& scheduler, Duration period, std::function<void()> tick);
  ~PeriodicTask();
  PeriodicTask(const PeriodicTask&) = delete;
  PeriodicTask& operator=(const PeriodicTask&) = delete;

  void start(Time first);
  void start() { start(scheduler_.now() + period_); }
  void stop();
  bool running() const { return running_; }
  Duration period() const { return period_; }
  Time tick_time() const { return tick_time_; }

 private:
  void arm();

  Scheduler& scheduler_;
  Duration period_;
  std::function<void()> tick_;
  Time next_{};
  Time tick_time_{};
  Scheduler::TimerId timer_ = 0;
  bool running_ = false;
};

}  // namespace flotilla
