#include "core/event_queue.h"

#include <algorithm>
#include <cassert>

namespace flotilla {

Scheduler::TimerId EventQueue::push(Time when, Scheduler::Callback callback) {
  std::uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
  } else {
    assert(slots_.size() < 0xffffffffu);
    slot = static_cast<std::uint32_t>(slots_.size());
    slots_.emplace_back();
  }
  Slot& s = slots_[slot];
  s.callback = std::move(callback);
  s.armed = true;
  // slot + 1 in the low half: id 0 is never handed out.
  const std::uint64_t key = (std::uint64_t{s.generation} << 32) | (std::uint64_t{slot} + 1);
  heap_.push_back(Entry{when, seq_++, nullptr, key});
  std::push_heap(heap_.begin(), heap_.end(), Later{});
  ++live_;
  return key;
}

void EventQueue::push_event(Time when, EventHandler& handler, std::uint64_t arg) {
  heap_.push_back(Entry{when, seq_++, &handler, arg});
  std::push_heap(heap_.begin(), heap_.end(), Later{});
  ++live_;
}

void EventQueue::push_event_in_order(Time when, EventHandler& handler, std::uint64_t arg) {
  assert(lane_head_ == lane_.size() || lane_.back().when <= when);
  lane_.push_back(Entry{when, seq_++, &handler, arg});
  ++live_;
}

bool EventQueue::cancel(Scheduler::TimerId id) {
  if ((id & 0xffffffffu) == 0) return false;
  const std::uint32_t slot = slot_of(id);
  if (slot >= slots_.size()) return false;
  Slot& s = slots_[slot];
  if (!s.armed || s.generation != generation_of(id)) return false;
  // Dropped now, not when its entry surfaces: what it captured is released at once.
  s.callback = nullptr;
  release(slot);
  --live_;
  return true;
}

void EventQueue::release(std::uint32_t slot) {
  Slot& s = slots_[slot];
  s.armed = false;
  ++s.generation;
  free_slots_.push_back(slot);
}

void EventQueue::drop_stale() {
  while (!heap_.empty() && stale(heap_.front())) pop_top();
}

std::optional<Time> EventQueue::next_time() {
  drop_stale();
  const bool lane = lane_head_ < lane_.size();
  if (heap_.empty()) {
    if (!lane) return std::nullopt;
    return lane_[lane_head_].when;
  }
  if (lane && lane_[lane_head_].when < heap_.front().when) return lane_[lane_head_].when;
  return heap_.front().when;
}

}  // namespace flotilla
