#pragma once
// RetainedLog: an append-only log whose oldest entries may be dropped (a retention bound by age
// or count), with a running count of every entry ever appended. The n-th entry ever appended
// (0-based) has sequence number n, so a reader that remembers how many it has seen (recorded()
// when it last looked) finds what is new by resume_index(), whatever was dropped in between.
//
// Threading: none; the owner serialises.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <utility>

namespace flotilla {

// Where a reader resumes in a log that holds `size` entries, `recorded` ever appended, once it
// has seen the first `seen` of them: the index of entry number `seen`, 0 when that entry was
// dropped (the reader missed it), `size` when there is nothing new.
inline std::size_t resume_index(std::size_t size, std::uint64_t recorded, std::uint64_t seen) {
  const std::uint64_t dropped = recorded - size;
  if (seen <= dropped) return 0;
  if (seen >= recorded) return size;
  return static_cast<std::size_t>(seen - dropped);
}

template <class T>
class RetainedLog {
 public:
  void push_back(T entry) {
    entries_.push_back(std::move(entry));
    ++recorded_;
  }
  // Drops the oldest entries while `old(entry)` holds, but never the newest `keep`.
  template <class Old>
  std::size_t drop_front_while(Old old, std::size_t keep = 0) {
    std::size_t n = 0;
    while (entries_.size() > keep && old(entries_.front())) {
      entries_.pop_front();
      ++n;
    }
    return n;
  }
  // Drops the oldest entries beyond the newest `max`.
  void drop_beyond(std::size_t max) {
    while (entries_.size() > max) entries_.pop_front();
  }

  // Oldest first.
  const std::deque<T>& entries() const { return entries_; }
  T& back() { return entries_.back(); }
  // Every entry ever appended, dropped ones included.
  std::uint64_t recorded() const { return recorded_; }

 private:
  std::deque<T> entries_;
  std::uint64_t recorded_ = 0;
};

}  // namespace flotilla
