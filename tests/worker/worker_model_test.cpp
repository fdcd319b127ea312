#include <doctest/doctest.h>

#include <array>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "worker/worker_model.h"

// Counts this thread's heap allocations, so that a test can assert that the model's steady state
// allocates nothing.
namespace {
thread_local std::size_t allocations_on_this_thread = 0;
}  // namespace

void* operator new(std::size_t size) {
  ++allocations_on_this_thread;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace flotilla {
namespace {

WorkerProfile profile(int capacity, int queue_limit, double boot_ms = 0,
                      double cpu_window_ms = 1000) {
  WorkerProfile p;
  p.capacity = capacity;
  p.queue_limit = queue_limit;
  p.boot_time = from_millis(boot_ms);
  p.cpu_window = from_millis(cpu_window_ms);
  return p;
}

enum class Op { kAdmit, kAdmitCaught, kFinish, kShutdown };

struct Step {
  double at_ms;
  Op op;
  Admission admitted = Admission::kServe;  // kAdmit, kAdmitCaught: what admit() says
  bool starts_next = false;                // kFinish: what finish() says
};

Step admit(double at_ms, Admission expected) { return {at_ms, Op::kAdmit, expected}; }
Step caught(double at_ms, Admission expected) { return {at_ms, Op::kAdmitCaught, expected}; }
Step finish(double at_ms, bool starts_next) {
  return {at_ms, Op::kFinish, Admission::kServe, starts_next};
}
Step shutdown(double at_ms) { return {at_ms, Op::kShutdown}; }

constexpr Admission kServe = Admission::kServe;
constexpr Admission kQueued = Admission::kQueued;
constexpr Admission kBooting = Admission::kRejectedBooting;
constexpr Admission kFull = Admission::kRejectedQueueFull;
constexpr Admission kStopping = Admission::kRejectedShuttingDown;

}  // namespace

TEST_CASE("WorkerModel: admission, finishing, shutdown and counters") {
  struct Expect {
    int in_flight, queued;
    std::uint64_t served, rejected;
    WorkerHealth health;
    bool drained;
    double busy_ms;      // since the start
    double cpu_percent;  // over the last cpu_window (1 s)
  };
  struct Row {
    const char* what;
    WorkerProfile profile;
    std::vector<Step> steps;
    double end_ms;
    Expect expect;
  };
  const WorkerHealth kHealthy = WorkerHealth::kHealthy;
  const std::vector<Row> rows = {
      {"served at once while a slot is free",
       profile(2, 4),
       {admit(0, kServe), admit(0, kServe)},
       100,
       {2, 0, 0, 0, kHealthy, false, 200, 10}},
      {"at capacity, work queues",
       profile(2, 4),
       {admit(0, kServe), admit(0, kServe), admit(10, kQueued), admit(20, kQueued)},
       100,
       {2, 2, 0, 0, kHealthy, false, 200, 10}},
      {"queue full: rejected",
       profile(1, 1),
       {admit(0, kServe), admit(0, kQueued), admit(1, kFull), admit(2, kFull)},
       10,
       {1, 1, 0, 2, kHealthy, false, 10, 1}},
      {"queue_limit 0: rejected as soon as every slot is busy",
       profile(1, 0),
       {admit(0, kServe), admit(5, kFull)},
       10,
       {1, 0, 0, 1, kHealthy, false, 10, 1}},
      {"booting: rejected until boot_time, served from it on",
       profile(1, 4, 500),
       {admit(0, kBooting), admit(499.999, kBooting), admit(500, kServe)},
       600,
       {1, 0, 0, 2, kHealthy, false, 100, 10}},
      {"booting: health says so",
       profile(1, 4, 500),
       {admit(100, kBooting)},
       400,
       {0, 0, 0, 1, WorkerHealth::kBooting, false, 0, 0}},
      {"booting: a full queue is not the reason",
       profile(1, 0, 500),
       {admit(0, kBooting), admit(0, kBooting)},
       1,
       {0, 0, 0, 2, WorkerHealth::kBooting, false, 0, 0}},
      {"finish with nothing queued frees the slot",
       profile(2, 4),
       {admit(0, kServe), admit(0, kServe), finish(300, false)},
       1000,
       {1, 0, 1, 0, kHealthy, false, 1300, 65}},
      {"finish starts the next queued, in turn, without an idle instant",
       profile(1, 2),
       {admit(0, kServe), admit(10, kQueued), admit(20, kQueued), finish(100, true),
        finish(200, true), finish(300, false)},
       1000,
       {0, 0, 3, 0, kHealthy, false, 300, 30}},
      {"a freed queue place takes new work again",
       profile(1, 1),
       {admit(0, kServe), admit(0, kQueued), admit(1, kFull), finish(10, true), admit(11, kQueued)},
       20,
       {1, 1, 1, 1, kHealthy, false, 20, 2}},
      {"shutting down: new work rejected, queued work finishes, then drained",
       profile(1, 2),
       {admit(0, kServe), admit(0, kQueued), shutdown(50), admit(60, kStopping), finish(100, true),
        finish(200, false)},
       1000,
       {0, 0, 2, 1, WorkerHealth::kShuttingDown, true, 200, 20}},
      {"shutting down: not drained while work is in service",
       profile(2, 2),
       {admit(0, kServe), shutdown(10)},
       100,
       {1, 0, 0, 0, WorkerHealth::kShuttingDown, false, 100, 5}},
      {"shutting down with nothing to do: drained at once",
       profile(1, 1),
       {shutdown(0), shutdown(1)},
       2,
       {0, 0, 0, 0, WorkerHealth::kShuttingDown, true, 0, 0}},
      {"caught by the shutdown: admitted as before it",
       profile(1, 1),
       {admit(0, kServe), shutdown(10), caught(20, kQueued), caught(30, kFull),
        admit(40, kStopping), finish(100, true)},
       150,
       {1, 0, 1, 2, WorkerHealth::kShuttingDown, false, 150, 15}},
      {"caught by a shutdown before boot: still booting",
       profile(1, 1, 1000),
       {shutdown(0), caught(100, kBooting)},
       200,
       {0, 0, 0, 1, WorkerHealth::kShuttingDown, true, 0, 0}},
      {"busy time: cumulative since start vs the last cpu_window",
       profile(2, 0),
       {admit(0, kServe), admit(0, kServe), finish(500, false), finish(2500, false)},
       3000,
       {0, 0, 2, 0, kHealthy, false, 3000, 25}},
  };
  for (const Row& row : rows) {
    CAPTURE(std::string(row.what));
    WorkerModel model(row.profile);
    for (const Step& step : row.steps) {
      CAPTURE(step.at_ms);
      const Time t = from_millis(step.at_ms);
      switch (step.op) {
        case Op::kAdmit:
          CHECK(model.admit(t) == step.admitted);
          break;
        case Op::kAdmitCaught:
          CHECK(model.admit(t, Arrival::kBeforeShutdown) == step.admitted);
          break;
        case Op::kFinish:
          CHECK(model.finish(t) == step.starts_next);
          break;
        case Op::kShutdown:
          model.begin_shutdown();
          break;
      }
    }
    const Time end = from_millis(row.end_ms);
    const Expect& e = row.expect;
    CHECK(model.in_flight() == e.in_flight);
    CHECK(model.queued() == e.queued);
    CHECK(model.served() == e.served);
    CHECK(model.rejected() == e.rejected);
    CHECK(model.health(end) == e.health);
    CHECK(model.drained() == e.drained);
    CHECK(model.busy_time(end) == from_millis(e.busy_ms));
    CHECK(model.cpu_utilization(end) == doctest::Approx(e.cpu_percent));
  }
}

TEST_CASE("WorkerModel: status is one reading, with uptime and boot from the start time") {
  WorkerModel model(profile(4, 8, 1000, 1000), 5s);
  CHECK_FALSE(model.booted(5900ms));
  CHECK(model.admit(5900ms) == Admission::kRejectedBooting);
  CHECK(model.booted(6s));
  CHECK(model.admit(6s) == Admission::kServe);
  CHECK(model.admit(6s) == Admission::kServe);
  CHECK_FALSE(model.finish(6500ms));

  const WorkerStatus s = model.status(7s);
  CHECK(s.in_flight == 1);
  CHECK(s.queued == 0);
  CHECK(s.served == 1);
  CHECK(s.rejected == 1);
  CHECK(s.capacity == 4);
  CHECK(s.booted);
  CHECK(s.uptime == 2s);
  CHECK(s.busy_time == 1500ms);
  CHECK(s.cpu_utilization == doctest::Approx(100.0 * 1.5 / 4));
}

TEST_CASE("WorkerModel: the steady state allocates nothing per request") {
  // A caller in the simulator's manner: constant service time, FIFO, so finishes come in start
  // order and a fixed ring holds them (at most `capacity` in service). Bursts fill the queue
  // until it rejects; the pauses between them drain it.
  constexpr Duration kService = 2500us;
  WorkerModel model(profile(4, 16, 0, 1000));
  std::array<Time, 4> finishes{};
  std::size_t head = 0, count = 0;
  std::uint64_t rejected_seen = 0;
  auto push = [&](Time t) {
    REQUIRE(count < finishes.size());
    finishes[(head + count++) % finishes.size()] = t;
  };
  auto run = [&](int requests, Time& t) {
    for (int i = 0; i < requests; ++i) {
      t += std::chrono::microseconds(i % 100 < 60 ? 200 : 1500);  // a burst, then a lull
      while (count > 0 && finishes[head] <= t) {
        const Time f = finishes[head];
        head = (head + 1) % finishes.size();
        --count;
        if (model.finish(f)) push(f + kService);
      }
      const Admission a = model.admit(t);
      if (a == Admission::kServe) push(t + kService);
      if (is_rejected(a)) ++rejected_seen;
      if (i % 1000 == 0) CHECK(model.status(t).cpu_utilization <= 100);
    }
  };
  Time t{};
  run(20'000, t);  // warm-up: several windows, the ring reaches its size
  const std::size_t before = allocations_on_this_thread;
  run(200'000, t);
  CHECK(allocations_on_this_thread - before == 0);
  // The pattern exercised queueing and rejection, and the queue drained.
  CHECK(rejected_seen > 0);
  CHECK(model.queued() == 0);
  CHECK(model.served() > 100'000);
  CHECK(model.served() + model.rejected() + model.in_flight() + model.queued() == 220'000);
}

}  // namespace flotilla
