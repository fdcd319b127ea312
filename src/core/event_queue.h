#pragma once
// The pending events of a scheduler, ordered by (time, insertion sequence). Both the live and
// the virtual scheduler keep their timers here, so they order same-time events alike.
//
// Two kinds of event share one order:
// - callbacks (push/cancel): kept in a slot table, found again by a TimerId that carries the
//   slot and a generation, so cancel() is an index and a compare, not a hash lookup. A
//   cancelled event's heap entry stays behind and is skipped when it surfaces (its generation
//   no longer matches).
// - handler events (push_event): a handler and an argument in the heap entry itself, no slot
//   and no std::function, so the simulator's per-request events cost one heap push and pop.
//
// Memory: the heap holds one 32-byte entry per pending event (and per cancelled one not yet
// surfaced); the slot table grows to the most callbacks pending at once and is reused.
#include <algorithm>
#include <cstdint>
#include <optional>
#include <vector>

#include "core/scheduler.h"

namespace flotilla {

class EventQueue {
 public:
  Scheduler::TimerId push(Time when, Scheduler::Callback callback);
  void push_event(Time when, EventHandler& handler, std::uint64_t arg);
  // A handler event no earlier than the previous one pushed this way (asserted): it waits in a
  // FIFO beside the heap, and the earlier of the two fronts runs first.
  void push_event_in_order(Time when, EventHandler& handler, std::uint64_t arg);
  bool cancel(Scheduler::TimerId id);
  // The time of the earliest pending event (the heap's or the lane's).
  std::optional<Time> next_time();
  // Runs the earliest pending event if it is due at or before `limit`: calls advance(when)
  // first (the virtual clock moves there), then the event. Returns false when none is due.
  // The event may push and cancel others.
  template <typename Advance>
  bool run_next(Time limit, Advance&& advance);
  // Events pushed and neither run nor cancelled.
  std::size_t size() const { return live_; }

 private:
  struct Entry {
    Time when{};
    std::uint64_t seq = 0;
    EventHandler* handler = nullptr;  // null: a callback; `arg` holds its slot and generation
    std::uint64_t arg = 0;
  };
  static bool earlier(const Entry& a, const Entry& b) {
    return a.when != b.when ? a.when < b.when : a.seq < b.seq;
  }
  struct Slot {
    Scheduler::Callback callback;
    std::uint32_t generation = 0;
    bool armed = false;
  };

  static std::uint32_t slot_of(std::uint64_t key) {
    return static_cast<std::uint32_t>(key & 0xffffffffu) - 1;
  }
  static std::uint32_t generation_of(std::uint64_t key) {
    return static_cast<std::uint32_t>(key >> 32);
  }
  bool stale(const Entry& e) const {
    if (e.handler != nullptr) return false;
    const Slot& s = slots_[slot_of(e.arg)];
    return !s.armed || s.generation != generation_of(e.arg);
  }
  // A binary min-heap on (when, seq), kept by std::push_heap/pop_heap: its pop moves the hole
  // to a leaf with one compare a level, fewer than a 4-ary heap needs at the sizes seen here.
  struct Later {
    bool operator()(const Entry& a, const Entry& b) const { return earlier(b, a); }
  };
  void pop_top() {
    std::pop_heap(heap_.begin(), heap_.end(), Later{});
    heap_.pop_back();
  }
  void drop_stale();
  // Frees the slot of a callback that ran or was cancelled.
  void release(std::uint32_t slot);

  std::uint64_t seq_ = 0;
  std::vector<Entry> heap_;
  // push_event_in_order's FIFO: lane_[lane_head_...] in time order.
  std::vector<Entry> lane_;
  std::size_t lane_head_ = 0;
  std::vector<Slot> slots_;
  std::vector<std::uint32_t> free_slots_;
  std::size_t live_ = 0;
};

template <typename Advance>
bool EventQueue::run_next(Time limit, Advance&& advance) {
  drop_stale();
  Entry e;
  const bool from_lane = lane_head_ < lane_.size() &&
                         (heap_.empty() || earlier(lane_[lane_head_], heap_.front()));
  if (from_lane) {
    if (lane_[lane_head_].when > limit) return false;
    e = lane_[lane_head_++];
    if (lane_head_ == lane_.size()) {
      lane_.clear();
      lane_head_ = 0;
    }
  } else {
    if (heap_.empty() || heap_.front().when > limit) return false;
    e = heap_.front();
    pop_top();
  }
  --live_;
  advance(e.when);
  if (e.handler != nullptr) {
    e.handler->on_event(e.arg);
    return true;
  }
  const std::uint32_t slot = slot_of(e.arg);
  // Moved out before the call: the callback may push events and grow the slot table.
  Scheduler::Callback callback = std::move(slots_[slot].callback);
  release(slot);
  callback();
  return true;
}

}  // namespace flotilla
