#include <doctest/doctest.h>

#include <vector>

#include "worker/utilization.h"

namespace flotilla {

TEST_CASE("UtilizationWindow: busy slot-time over the window, exactly") {
  struct Event {
    double at_ms;
    int delta;  // +1 acquire, -1 release
  };
  struct Row {
    const char* what;
    int capacity;
    double window_ms;
    std::vector<Event> events;
    double now_ms;
    double expected_percent;
    double expected_total_ms;  // busy slot-time since the start
  };
  const std::vector<Row> rows = {
      {"never busy", 2, 1000, {}, 5000, 0, 0},
      {"one of two slots busy for the whole window", 2, 1000, {{0, +1}}, 3000, 50, 3000},
      {"all slots busy for the whole window", 2, 1000, {{0, +1}, {0, +1}}, 3000, 100, 6000},
      {"busy for the last half window", 2, 1000, {{2500, +1}}, 3000, 25, 500},
      {"an interval entirely before the window", 1, 1000, {{100, +1}, {900, -1}}, 2000, 0, 800},
      {"an interval straddling the window start", 1, 1000, {{500, +1}, {1500, -1}}, 2000, 50, 1000},
      {"an interval ending exactly at the window start",
       1,
       1000,
       {{0, +1}, {1000, -1}},
       2000,
       0,
       1000},
      {"two overlapping intervals",
       2,
       1000,
       {{1000, +1}, {1200, +1}, {1600, -1}, {1800, -1}},
       2000,
       (800.0 + 400.0) / 2000 * 100,
       600 + 600},
      {"younger than the window: earlier time counts as idle", 1, 1000, {{0, +1}}, 400, 40, 400},
      {"acquire and release at the same instant", 1, 1000, {{500, +1}, {500, -1}}, 1000, 0, 0},
      {"many short intervals",
       1,
       100,
       {{0, +1},
        {10, -1},
        {20, +1},
        {30, -1},
        {40, +1},
        {50, -1},
        {60, +1},
        {70, -1},
        {80, +1},
        {90, -1},
        {100, +1},
        {110, -1}},
       150,
       30,
       60},
      {"still busy at now",
       4,
       1000,
       {{0, +1}, {0, +1}, {0, +1}, {0, +1}, {600, -1}},
       1000,
       90,
       3 * 1000 + 600},
  };
  for (const auto& row : rows) {
    CAPTURE(std::string(row.what));
    UtilizationWindow w(from_millis(row.window_ms), row.capacity);
    for (const auto& e : row.events) {
      if (e.delta > 0)
        w.acquire(from_millis(e.at_ms));
      else
        w.release(from_millis(e.at_ms));
    }
    CHECK(w.percent(from_millis(row.now_ms)) == doctest::Approx(row.expected_percent));
    CHECK(w.total_busy_time(from_millis(row.now_ms)) == from_millis(row.expected_total_ms));
  }
}

TEST_CASE("UtilizationWindow: busy() follows acquire and release, old steps do not leak") {
  UtilizationWindow w(std::chrono::milliseconds(100), 1);
  for (int i = 0; i < 10'000; ++i) {
    w.acquire(std::chrono::milliseconds(2 * i));
    CHECK(w.busy() == 1);
    w.release(std::chrono::milliseconds(2 * i + 1));
    CHECK(w.busy() == 0);
    CHECK(w.retained_steps() <= 102);
  }
  // Half of the last 100ms was busy, although 10,000 intervals were recorded.
  CHECK(w.percent(std::chrono::milliseconds(20'000)) == doctest::Approx(50));
  CHECK(w.busy_time(std::chrono::milliseconds(20'000)) == std::chrono::milliseconds(50));
  CHECK(w.total_busy_time(std::chrono::milliseconds(20'000)) == std::chrono::milliseconds(10'000));
}

TEST_CASE("UtilizationWindow: more changes in one window than the ring first holds") {
  // 1,000 intervals of 1 ms, every 2 ms, then a quiet second: the ring grows, stays exact, and
  // the windowed value follows the window across the busy stretch.
  UtilizationWindow w(std::chrono::seconds(1), 2);
  for (int i = 0; i < 1000; ++i) {
    w.acquire(std::chrono::milliseconds(2 * i));
    w.release(std::chrono::milliseconds(2 * i + 1));
  }
  CHECK(w.retained_steps() >= 1000);
  struct Row {
    int now_ms;
    int window_busy_ms;
  };
  const Row rows[] = {{2000, 500}, {2500, 250}, {2998, 1}, {2999, 0}};
  for (const Row& r : rows) {
    CAPTURE(r.now_ms);
    CHECK(w.busy_time(std::chrono::milliseconds(r.now_ms)) ==
          std::chrono::milliseconds(r.window_busy_ms));
    CHECK(w.total_busy_time(std::chrono::milliseconds(r.now_ms)) ==
          std::chrono::milliseconds(1000));
  }
  // A change after the quiet second drops every old step but the last.
  w.acquire(std::chrono::milliseconds(4000));
  CHECK(w.retained_steps() == 2);
  CHECK(w.total_busy_time(std::chrono::milliseconds(4500)) == std::chrono::milliseconds(1500));
  CHECK(w.percent(std::chrono::milliseconds(4500)) == doctest::Approx(25));
}

}  // namespace flotilla
