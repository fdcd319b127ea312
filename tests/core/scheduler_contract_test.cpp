// The Scheduler contract, run on both implementations: the same cases must hold in live and in
// virtual time. Live cases drive a real io_context until a condition holds or a deadline passes.
#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>
#include <memory>
#include <vector>

#include "core/live_scheduler.h"
#include "core/virtual_scheduler.h"

using namespace flotilla;

namespace {

// A scheduler plus a way to run it until a condition holds (bounded).
struct Harness {
  virtual ~Harness() = default;
  virtual Scheduler& scheduler() = 0;
  virtual void run_until(const std::function<bool()>& done, Duration budget) = 0;
};

struct VirtualHarness final : Harness {
  VirtualScheduler sched;
  Scheduler& scheduler() override { return sched; }
  void run_until(const std::function<bool()>& done, Duration budget) override {
    const Time end = sched.now() + budget;
    while (!done() && sched.now() < end) {
      if (!sched.step()) break;
    }
  }
};

struct LiveHarness final : Harness {
  boost::asio::io_context io;
  LiveScheduler sched{io};
  Scheduler& scheduler() override { return sched; }
  void run_until(const std::function<bool()>& done, Duration budget) override {
    const auto deadline = std::chrono::steady_clock::now() + budget;
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      io.restart();
      io.run_one_for(std::chrono::milliseconds(5));
    }
  }
};

std::vector<std::unique_ptr<Harness>> both() {
  std::vector<std::unique_ptr<Harness>> out;
  out.push_back(std::make_unique<VirtualHarness>());
  out.push_back(std::make_unique<LiveHarness>());
  return out;
}

const char* name_of(int i) { return i == 0 ? "virtual" : "live"; }

}  // namespace

TEST_CASE("scheduler: callbacks run in time order, same-time callbacks in insertion order") {
  auto harnesses = both();
  for (int i = 0; i < 2; ++i) {
    CAPTURE(name_of(i));
    auto& h = *harnesses[i];
    auto& s = h.scheduler();
    std::vector<int> order;
    const Time base = s.now();
    s.schedule_at(base + 30ms, [&] { order.push_back(3); });
    s.schedule_at(base + 10ms, [&] { order.push_back(1); });
    s.schedule_at(base + 20ms, [&] { order.push_back(2); });
    s.schedule_at(base + 20ms, [&] { order.push_back(22); });
    h.run_until([&] { return order.size() == 4; }, 2s);
    CHECK(order == std::vector<int>{1, 2, 22, 3});
  }
}

TEST_CASE("scheduler: a callback never runs before its time and now() never goes backwards") {
  auto harnesses = both();
  for (int i = 0; i < 2; ++i) {
    CAPTURE(name_of(i));
    auto& h = *harnesses[i];
    auto& s = h.scheduler();
    const Time due = s.now() + 25ms;
    Time ran_at{-1};
    Time last = s.now();
    bool monotonic = true;
    for (int k = 1; k <= 5; ++k)
      s.schedule_after(k * 5ms, [&] {
        monotonic = monotonic && s.now() >= last;
        last = s.now();
      });
    s.schedule_at(due, [&] { ran_at = s.now(); });
    h.run_until([&] { return ran_at >= Time::zero(); }, 2s);
    CHECK(ran_at >= due);
    CHECK(monotonic);
  }
}

TEST_CASE("scheduler: cancel removes a pending callback and reports whether it did") {
  auto harnesses = both();
  for (int i = 0; i < 2; ++i) {
    CAPTURE(name_of(i));
    auto& h = *harnesses[i];
    auto& s = h.scheduler();
    int ran = 0;
    bool done = false;
    auto a = s.schedule_after(10ms, [&] { ran += 1; });
    auto b = s.schedule_after(20ms, [&] { ran += 10; });
    s.schedule_after(30ms, [&] { done = true; });
    CHECK(s.cancel(b));
    CHECK_FALSE(s.cancel(b));
    CHECK_FALSE(s.cancel(987654));
    h.run_until([&] { return done; }, 2s);
    CHECK(done);
    CHECK(ran == 1);
    CHECK_FALSE(s.cancel(a));  // already ran
  }
}

TEST_CASE("scheduler: a past time runs soon but never inline, callbacks may schedule and cancel") {
  auto harnesses = both();
  for (int i = 0; i < 2; ++i) {
    CAPTURE(name_of(i));
    auto& h = *harnesses[i];
    auto& s = h.scheduler();
    std::vector<std::string> log;
    s.schedule_at(Time::zero(), [&] { log.push_back("past"); });
    CHECK(log.empty());  // not inline
    Scheduler::TimerId victim = 0;
    s.schedule_after(5ms, [&] {
      log.push_back("first");
      s.schedule_after(5ms, [&] { log.push_back("chained"); });
      s.cancel(victim);
    });
    victim = s.schedule_after(8ms, [&] { log.push_back("victim"); });
    h.run_until([&] { return log.size() >= 3; }, 2s);
    CHECK(log == std::vector<std::string>{"past", "first", "chained"});
  }
}

TEST_CASE("scheduler: PeriodicTask ticks on a fixed grid and stops") {
  auto harnesses = both();
  for (int i = 0; i < 2; ++i) {
    CAPTURE(name_of(i));
    auto& h = *harnesses[i];
    auto& s = h.scheduler();
    std::vector<Time> ticks;
    std::vector<Time> grid;
    const Time start = s.now() + 10ms;
    PeriodicTask* self = nullptr;
    PeriodicTask task(s, 10ms, [&] {
      ticks.push_back(s.now());
      grid.push_back(self->tick_time());
    });
    self = &task;
    task.start(start);
    h.run_until([&] { return ticks.size() >= 5; }, 3s);
    task.stop();
    REQUIRE(ticks.size() >= 5);
    for (std::size_t k = 0; k < 5; ++k) {
      CHECK(ticks[k] >= start + 10ms * static_cast<int>(k));
      CHECK(grid[k] == start + 10ms * static_cast<int>(k));
    }
    const auto count = ticks.size();
    bool sentinel = false;
    s.schedule_after(50ms, [&] { sentinel = true; });
    h.run_until([&] { return sentinel; }, 2s);
    CHECK(ticks.size() == count);
  }
}

TEST_CASE("virtual scheduler: run_until jumps time exactly and leaves later events pending") {
  VirtualScheduler s;
  std::vector<Time> seen;
  s.schedule_at(1s, [&] { seen.push_back(s.now()); });
  s.schedule_at(3s, [&] { seen.push_back(s.now()); });
  s.run_until(2s);
  CHECK(seen == std::vector<Time>{1s});
  CHECK(s.now() == 2s);
  CHECK(s.pending() == 1);
  CHECK(s.run() == 1);
  CHECK(s.now() == 3s);
}

namespace {
struct Recorder final : EventHandler {
  std::vector<std::string>* log = nullptr;
  void on_event(std::uint64_t arg) override { log->push_back("event " + std::to_string(arg)); }
};
}  // namespace

TEST_CASE("scheduler: post_event runs in (time, scheduling order) among callbacks") {
  auto harnesses = both();
  for (int i = 0; i < 2; ++i) {
    CAPTURE(name_of(i));
    auto& h = *harnesses[i];
    auto& s = h.scheduler();
    std::vector<std::string> log;
    Recorder recorder;
    recorder.log = &log;
    const Time base = s.now();
    s.post_event(base + 20ms, recorder, 2);
    s.schedule_at(base + 10ms, [&] { log.push_back("callback 10"); });
    s.schedule_at(base + 20ms, [&] { log.push_back("callback 20"); });
    s.post_event(base + 10ms, recorder, 1);
    h.run_until([&] { return log.size() == 4; }, 2s);
    CHECK(log == std::vector<std::string>{"callback 10", "event 1", "event 2", "callback 20"});
  }
}

TEST_CASE("scheduler: an id stays dead once its callback ran or was cancelled, slot reused") {
  auto harnesses = both();
  for (int i = 0; i < 2; ++i) {
    CAPTURE(name_of(i));
    auto& h = *harnesses[i];
    auto& s = h.scheduler();
    int ran = 0;
    const auto first = s.schedule_after(5ms, [&] { ran += 1; });
    CHECK(s.cancel(first));
    // The next callback may take the freed slot; the old id must not reach it.
    const auto second = s.schedule_after(5ms, [&] { ran += 10; });
    CHECK(second != first);
    CHECK_FALSE(s.cancel(first));
    CHECK_FALSE(s.cancel(0));
    h.run_until([&] { return ran != 0; }, 2s);
    CHECK(ran == 10);
    CHECK_FALSE(s.cancel(second));
  }
}

TEST_CASE("virtual scheduler: cancelled events leave no trace in pending() or the order") {
  VirtualScheduler s;
  std::vector<int> order;
  std::vector<Scheduler::TimerId> ids;
  for (int k = 0; k < 100; ++k)
    ids.push_back(s.schedule_at(std::chrono::milliseconds(k % 10), [&, k] { order.push_back(k); }));
  for (int k = 0; k < 100; k += 2) CHECK(s.cancel(ids[static_cast<std::size_t>(k)]));
  CHECK(s.pending() == 50);
  s.run();
  REQUIRE(order.size() == 50);
  // Odd k in time order (k % 10), ties in scheduling order.
  std::vector<int> expected;
  for (int t = 0; t < 10; ++t)
    for (int k = 0; k < 100; ++k)
      if (k % 2 == 1 && k % 10 == t) expected.push_back(k);
  CHECK(order == expected);
  CHECK(s.pending() == 0);
}

TEST_CASE("scheduler: post_event_in_order keeps the one order with every other event") {
  auto harnesses = both();
  for (int i = 0; i < 2; ++i) {
    CAPTURE(name_of(i));
    auto& h = *harnesses[i];
    auto& s = h.scheduler();
    std::vector<std::string> log;
    Recorder recorder;
    recorder.log = &log;
    const Time base = s.now();
    s.post_event(base + 10ms, recorder, 10);
    s.post_event_in_order(base + 5ms, recorder, 5);
    s.post_event_in_order(base + 10ms, recorder, 11);  // a tie: after the earlier-scheduled one
    s.schedule_at(base + 10ms, [&] { log.push_back("callback 10"); });
    s.post_event_in_order(base + 20ms, recorder, 20);
    s.post_event(base + 15ms, recorder, 15);
    h.run_until([&] { return log.size() == 6; }, 2s);
    CHECK(log == std::vector<std::string>{"event 5", "event 10", "event 11", "callback 10",
                                          "event 15", "event 20"});
  }
}
