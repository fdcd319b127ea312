#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cmath>
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
// GCC cannot see that this operator new is the malloc-based replacement these free() pair with.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#pragma GCC diagnostic pop

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

namespace {

// A message that sets one kind.
template <class Fault>
WorkerFaults only(FaultSetting<Fault> WorkerFaults::*kind, Fault fault) {
  WorkerFaults f;
  f.*kind = FaultSetting<Fault>::set(fault);
  return f;
}
WorkerFaults slow(double factor) { return only(&WorkerFaults::slow, SlowFault{factor}); }
WorkerFaults errors(double fraction) { return only(&WorkerFaults::errors, ErrorsFault{fraction}); }
WorkerFaults crash_after(std::uint64_t n) {
  return only(&WorkerFaults::crash_after, CrashAfterFault{n});
}
WorkerFaults flap(Duration period) { return only(&WorkerFaults::flap, FlapFault{period}); }
WorkerFaults latency(Duration delay, Duration jitter) {
  return only(&WorkerFaults::latency, LatencyFault{delay, jitter});
}

}  // namespace

TEST_CASE("WorkerModel faults: slow multiplies the service time the caller drew") {
  struct Row {
    const char* what;
    std::vector<WorkerFaults> applied;
    Duration drawn;
    Duration expected;
  };
  const std::vector<Row> rows = {
      {"no fault", {}, 20ms, 20ms},
      {"x10", {slow(10)}, 20ms, 200ms},
      {"a fractional factor", {slow(2.5)}, 4ms, 10ms},
      {"set again: the last one holds", {slow(10), slow(3)}, 20ms, 60ms},
      {"cleared", {slow(10), WorkerFaults::clear_all()}, 20ms, 20ms},
      {"another kind's message keeps it", {slow(4), errors(0.5)}, 5ms, 20ms},
  };
  for (const Row& row : rows) {
    CAPTURE(std::string(row.what));
    WorkerModel model(profile(1, 1));
    for (const auto& f : row.applied) model.apply_faults(f, 0s);
    CHECK(model.service_time(row.drawn) == row.expected);
  }
}

TEST_CASE("WorkerModel faults: errors answers a fraction of finished requests 500") {
  struct Row {
    double fraction;
    int min_500, max_500;  // of 10,000 finished requests
  };
  const std::vector<Row> rows = {
      {0, 0, 0},
      {1, 10'000, 10'000},
      {0.3, 2'800, 3'200},  // 3,000 +- 4.4 standard deviations
      {0.01, 60, 140},
  };
  for (const Row& row : rows) {
    CAPTURE(row.fraction);
    WorkerModel model(profile(1, 0), 0s, WorkerModel::CpuWindow::kProfile, 42);
    model.apply_faults(errors(row.fraction), 0s);
    int count = 0;
    for (int i = 0; i < 10'000; ++i) {
      const Time t = from_millis(i);
      REQUIRE(model.admit(t) == Admission::kServe);
      const Completion c = model.complete(t);
      CHECK((c.status == 200 || c.status == 500));
      count += c.status == 500;
    }
    CHECK(count >= row.min_500);
    CHECK(count <= row.max_500);
    CHECK(model.errors() == static_cast<std::uint64_t>(count));
    CHECK(model.served() == 10'000);
    CHECK(model.status(10s).errors == static_cast<std::uint64_t>(count));
  }
}

TEST_CASE("WorkerModel faults: the errors draws replay by seed and leave other draws alone") {
  auto statuses = [](std::uint64_t seed) {
    WorkerModel model(profile(1, 0), 0s, WorkerModel::CpuWindow::kProfile, seed);
    model.apply_faults(errors(0.5), 0s);
    std::vector<int> out;
    for (int i = 0; i < 200; ++i) {
      model.admit(from_millis(i));
      out.push_back(model.complete(from_millis(i)).status);
    }
    return out;
  };
  CHECK(statuses(7) == statuses(7));
  CHECK(statuses(7) != statuses(8));
  // The stream is not the service-time sampler's on the same seed: a sampler's first draws and
  // the fault's decisions are not the same sequence of coin flips.
  ServiceTime st{ServiceDistribution::kExponential, 20ms, {}};
  ServiceTimeSampler sampler(st, 7);
  std::vector<int> from_sampler;
  for (int i = 0; i < 200; ++i) {
    // P(exponential > mean ln 2) = 0.5: the same coin, if the streams were one.
    from_sampler.push_back(to_seconds(sampler.next()) > 0.020 * std::log(2.0) ? 200 : 500);
  }
  CHECK(from_sampler != statuses(7));
}

TEST_CASE("WorkerModel faults: crash_after says crash on the requests-th finish after it was set") {
  struct Row {
    const char* what;
    int finished_before;  // requests finished before it is set
    std::uint64_t requests;
    int finished_after;  // finishes then checked
    int crash_at;        // 1-based finish after setting that says crash; 0: none
  };
  const std::vector<Row> rows = {
      {"the first", 0, 1, 3, 1},
      {"counts from when it was set", 5, 3, 5, 3},
      {"not yet", 0, 10, 9, 0},
      {"once only", 0, 2, 6, 2},
  };
  for (const Row& row : rows) {
    CAPTURE(std::string(row.what));
    WorkerModel model(profile(1, 0));
    Time t{};
    auto finish_one = [&] {
      t += 1ms;
      REQUIRE(model.admit(t) == Admission::kServe);
      return model.complete(t);
    };
    for (int i = 0; i < row.finished_before; ++i) CHECK_FALSE(finish_one().crash);
    model.apply_faults(crash_after(row.requests), t);
    CHECK(*model.faults().crash_after.get() == CrashAfterFault{row.requests});
    for (int i = 1; i <= row.finished_after; ++i) {
      CAPTURE(i);
      CHECK(finish_one().crash == (i == row.crash_at));
      // What is left, as GET /flotilla/faults reports it; cleared once it ran out.
      const bool ran_out = row.crash_at != 0 && i >= row.crash_at;
      if (ran_out) {
        CHECK(model.faults().crash_after.op == FaultOp::kClear);
      } else {
        CHECK(model.faults().crash_after.get()->requests == row.requests - i);
      }
    }
  }
  // Rejections are not served requests: they do not count.
  WorkerModel model(profile(1, 0));
  model.apply_faults(crash_after(1), 0s);
  CHECK(model.admit(0s) == Admission::kServe);
  CHECK(model.admit(0s) == Admission::kRejectedQueueFull);
  CHECK(model.complete(1ms).crash);
  // Cleared before it ran out: no crash.
  WorkerModel cleared(profile(1, 0));
  cleared.apply_faults(crash_after(1), 0s);
  cleared.apply_faults(WorkerFaults::clear_all(), 0s);
  cleared.admit(0s);
  CHECK_FALSE(cleared.complete(1ms).crash);
}

TEST_CASE("WorkerModel faults: flap alternates health every period, unhealthy first") {
  const WorkerHealth kOk = WorkerHealth::kHealthy;
  const WorkerHealth kBad = WorkerHealth::kUnhealthy;
  struct Row {
    const char* what;
    double boot_ms;
    double set_at_ms;
    double period_ms;
    bool shutting_down;
    double at_ms;
    WorkerHealth expected;
  };
  const std::vector<Row> rows = {
      {"at once", 0, 1000, 2000, false, 1000, kBad},
      {"just before the first period ends", 0, 1000, 2000, false, 2999.999, kBad},
      {"the second period", 0, 1000, 2000, false, 3000, kOk},
      {"the third", 0, 1000, 2000, false, 5000, kBad},
      {"much later, an odd period", 0, 1000, 2000, false, 1000 + 2000 * 101 + 1, kOk},
      {"before it was set it does not apply", 0, 1000, 2000, false, 999, kOk},
      {"booting takes precedence", 5000, 0, 1000, false, 2500, WorkerHealth::kBooting},
      {"after boot, the phase counts from when it was set", 5000, 0, 1000, false, 5500, kOk},
      {"shutting down takes precedence", 0, 0, 1000, true, 500, WorkerHealth::kShuttingDown},
  };
  for (const Row& row : rows) {
    CAPTURE(std::string(row.what));
    WorkerModel model(profile(1, 1, row.boot_ms));
    if (row.at_ms >= row.set_at_ms) {
      model.apply_faults(flap(from_millis(row.period_ms)), from_millis(row.set_at_ms));
    }
    if (row.shutting_down) model.begin_shutdown();
    CHECK(model.health(from_millis(row.at_ms)) == row.expected);
  }
  // Setting it again starts over; clearing it ends it.
  WorkerModel model(profile(1, 1));
  model.apply_faults(flap(1s), 0s);
  CHECK(model.health(1500ms) == kOk);
  model.apply_faults(flap(1s), 1500ms);
  CHECK(model.health(1500ms) == kBad);
  CHECK(model.faults().flap == FaultSetting<FlapFault>::set({1s}));
  WorkerFaults clear;
  clear.flap = FaultSetting<FlapFault>::clear();
  model.apply_faults(clear, 1600ms);
  CHECK(model.health(1600ms) == kOk);
  CHECK(to_string(kBad) == "unhealthy");
}

TEST_CASE("WorkerModel faults: latency delays answers by delay plus or minus a uniform jitter") {
  struct Row {
    const char* what;
    Duration delay, jitter;
    double mean_ms;  // of 20,000 draws
  };
  const std::vector<Row> rows = {
      {"constant", 200ms, 0ms, 200},
      {"with jitter", 200ms, 50ms, 200},
      {"jitter as large as the delay", 10ms, 10ms, 10},
      {"zero delay", 0ms, 0ms, 0},
  };
  for (const Row& row : rows) {
    CAPTURE(std::string(row.what));
    WorkerModel model(profile(1, 1), 0s, WorkerModel::CpuWindow::kProfile, 3);
    CHECK(model.answer_delay() == Duration::zero());
    model.apply_faults(latency(row.delay, row.jitter), 0s);
    Duration lo = Duration::max(), hi = Duration::min();
    double sum = 0;
    const int n = 20'000;
    for (int i = 0; i < n; ++i) {
      const Duration d = model.answer_delay();
      lo = std::min(lo, d);
      hi = std::max(hi, d);
      sum += to_millis(d);
    }
    CHECK(lo >= row.delay - row.jitter);
    CHECK(hi <= row.delay + row.jitter);
    // The draws cover the range: near both ends.
    CHECK(to_millis(lo - (row.delay - row.jitter)) <= to_millis(row.jitter) * 0.01);
    CHECK(to_millis((row.delay + row.jitter) - hi) <= to_millis(row.jitter) * 0.01);
    CHECK(sum / n == doctest::Approx(row.mean_ms).epsilon(0.01));
    WorkerFaults clear;
    clear.latency = FaultSetting<LatencyFault>::clear();
    model.apply_faults(clear, 1s);
    CHECK(model.answer_delay() == Duration::zero());
  }
}

TEST_CASE("WorkerModel faults: faults() is what is set, every kind present") {
  WorkerModel model(profile(1, 1));
  CHECK(model.faults() == WorkerFaults::clear_all());
  model.apply_faults(slow(2), 0s);
  model.apply_faults(latency(5ms, 1ms), 0s);
  WorkerFaults expected = WorkerFaults::clear_all();
  expected.slow = FaultSetting<SlowFault>::set({2});
  expected.latency = FaultSetting<LatencyFault>::set({5ms, 1ms});
  CHECK(model.faults() == expected);
  // A message of kept kinds changes nothing.
  model.apply_faults(WorkerFaults{}, 1s);
  CHECK(model.faults() == expected);
  model.apply_faults(WorkerFaults::clear_all(), 2s);
  CHECK(model.faults() == WorkerFaults::clear_all());
}

}  // namespace flotilla
