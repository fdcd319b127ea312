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
  };
  const std::vector<Row> rows = {
      {"never busy", 2, 1000, {}, 5000, 0},
      {"one of two slots busy for the whole window", 2, 1000, {{0, +1}}, 3000, 50},
      {"all slots busy for the whole window", 2, 1000, {{0, +1}, {0, +1}}, 3000, 100},
      {"busy for the last half window", 2, 1000, {{2500, +1}}, 3000, 25},
      {"an interval entirely before the window", 1, 1000, {{100, +1}, {900, -1}}, 2000, 0},
      {"an interval straddling the window start", 1, 1000, {{500, +1}, {1500, -1}}, 2000, 50},
      {"an interval ending exactly at the window start", 1, 1000, {{0, +1}, {1000, -1}}, 2000, 0},
      {"two overlapping intervals",
       2,
       1000,
       {{1000, +1}, {1200, +1}, {1600, -1}, {1800, -1}},
       2000,
       (800.0 + 400.0) / 2000 * 100},
      {"younger than the window: earlier time counts as idle", 1, 1000, {{0, +1}}, 400, 40},
      {"acquire and release at the same instant", 1, 1000, {{500, +1}, {500, -1}}, 1000, 0},
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
       30},
      {"still busy at now", 4, 1000, {{0, +1}, {0, +1}, {0, +1}, {0, +1}, {600, -1}}, 1000, 90},
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
}

}  // namespace flotilla
