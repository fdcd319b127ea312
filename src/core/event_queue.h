#pragma once
// The pending callbacks of a scheduler, ordered by (time, insertion sequence). Both the live and
// the virtual scheduler keep their timers here, so they order same-time callbacks alike.
#include <cstdint>
#include <optional>
#include <queue>
#include <unordered_set>
#include <vector>

#include "core/scheduler.h"

namespace flotilla {

class EventQueue {
 public:
  struct Event {
    Time when{};
    std::uint64_t seq = 0;
    Scheduler::TimerId id = 0;
    Scheduler::Callback callback;
  };

  Scheduler::TimerId push(Time when, Scheduler::Callback callback);
  bool cancel(Scheduler::TimerId id) { return live_.erase(id) > 0; }
  // The time of the earliest pending event.
  std::optional<Time> next_time();
  // Removes and returns the earliest pending event if it is due at or before `now`.
  std::optional<Event> pop_due(Time now);
  std::size_t size() const { return live_.size(); }

 private:
  struct Later {
    bool operator()(const Event& a, const Event& b) const {
      return a.when != b.when ? a.when > b.when : a.seq > b.seq;
    }
  };
  void drop_cancelled();

  std::uint64_t seq_ = 0;
  Scheduler::TimerId next_id_ = 1;
  std::priority_queue<Event, std::vector<Event>, Later> heap_;
  std::unordered_set<Scheduler::TimerId> live_;  // pushed and neither popped nor cancelled
};

}  // namespace flotilla
