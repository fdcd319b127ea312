#include <doctest/doctest.h>

#include <cstdint>
#include <deque>

#include "core/retained_log.h"

using flotilla::resume_index;
using flotilla::RetainedLog;

TEST_CASE("resume_index: where a reader that saw `seen` entries goes on") {
  struct Row {
    std::size_t size;
    std::uint64_t recorded;
    std::uint64_t seen;
    std::size_t want;
  };
  const Row rows[] = {
      {0, 0, 0, 0},    // empty, nothing seen
      {3, 3, 0, 0},    // nothing dropped, nothing seen: from the start
      {3, 3, 2, 2},    // nothing dropped: the index is the count seen
      {3, 3, 3, 3},    // all seen: nothing new
      {3, 10, 7, 0},   // 7 dropped, 7 seen: the oldest kept is new
      {3, 10, 8, 1},   // 7 dropped, 8 seen
      {3, 10, 4, 0},   // missed some that were dropped: from the oldest kept
      {3, 10, 10, 3},  // all seen after drops
      {0, 5, 2, 0},    // everything dropped
  };
  for (const Row& r : rows) {
    CAPTURE(r.size);
    CAPTURE(r.recorded);
    CAPTURE(r.seen);
    CHECK(resume_index(r.size, r.recorded, r.seen) == r.want);
  }
}

TEST_CASE("RetainedLog: drops by predicate and by count, keeps the newest asked for, counts all") {
  RetainedLog<int> log;
  for (int i = 0; i < 10; ++i) log.push_back(i);
  CHECK(log.drop_front_while([](int v) { return v < 4; }) == 4);
  CHECK(log.entries().front() == 4);
  CHECK(log.recorded() == 10);
  // The newest `keep` stay even when they match.
  CHECK(log.drop_front_while([](int) { return true; }, 2) == 4);
  CHECK(log.entries() == std::deque<int>{8, 9});
  log.push_back(10);
  log.drop_beyond(1);
  CHECK(log.entries() == std::deque<int>{10});
  CHECK(log.recorded() == 11);
  // A reader that had seen 9 entries resumes at entry 9, which is gone: from the oldest kept.
  CHECK(resume_index(log.entries().size(), log.recorded(), 9) == 0);
  CHECK(resume_index(log.entries().size(), log.recorded(), 11) == 1);
}
