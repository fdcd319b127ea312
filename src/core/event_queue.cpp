#include "core/event_queue.h"

namespace flotilla {

Scheduler::TimerId EventQueue::push(Time when, Scheduler::Callback callback) {
  const Scheduler::TimerId id = next_id_++;
  heap_.push(Event{when, seq_++, id, std::move(callback)});
  live_.insert(id);
  return id;
}

void EventQueue::drop_cancelled() {
  while (!heap_.empty() && live_.count(heap_.top().id) == 0) heap_.pop();
}

std::optional<Time> EventQueue::next_time() {
  drop_cancelled();
  if (heap_.empty()) return std::nullopt;
  return heap_.top().when;
}

std::optional<EventQueue::Event> EventQueue::pop_due(Time now) {
  drop_cancelled();
  if (heap_.empty() || heap_.top().when > now) return std::nullopt;
  // top() is const; moving the callback out before pop() is safe: pop() only reorders.
  Event event = std::move(const_cast<Event&>(heap_.top()));
  heap_.pop();
  live_.erase(event.id);
  return event;
}

}  // namespace flotilla
