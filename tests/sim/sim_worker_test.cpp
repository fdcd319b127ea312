// The modelled worker in virtual time: admission as the live server admits, service times from
// the profile, what a kill loses, and a graceful shutdown.
#include "sim/sim_worker.h"

#include <doctest/doctest.h>

#include <utility>
#include <vector>

#include "sim_world.h"

namespace flotilla {
namespace {

struct Recorder final : SimWorker::Client {
  std::vector<std::pair<std::uint64_t, Time>> responses;
  std::vector<std::uint64_t> lost;
  void on_response(std::uint64_t token, int status, Time now) override {
    CHECK(status == 200);
    responses.emplace_back(token, now);
  }
  void on_lost(std::uint64_t token, Time) override { lost.push_back(token); }
};

WorkerProfile constant_profile(int capacity, int queue_limit, Duration service, Duration boot) {
  WorkerProfile p = testing::constant_profile(capacity, service, queue_limit);
  p.boot_time = boot;
  return p;
}

}  // namespace

TEST_CASE("SimWorker: slots, then the queue, then 503, served in arrival order") {
  VirtualScheduler sched;
  Recorder client;
  const WorkerProfile profile = constant_profile(2, 1, 100ms, 0s);
  bool drained = false;
  SimWorker w(sched, profile, "i-1", {"sim", 1}, 7, client, [&](int code) { drained = code == 0; });
  CHECK(w.accepting());
  CHECK(w.health_status(sched.now()) == 200);
  CHECK(w.deliver(1, sched.now()) == Admission::kServe);
  CHECK(w.deliver(2, sched.now()) == Admission::kServe);
  CHECK(w.deliver(3, sched.now()) == Admission::kQueued);
  CHECK(w.deliver(4, sched.now()) == Admission::kRejectedQueueFull);
  sched.run();
  REQUIRE(client.responses.size() == 3);
  CHECK(client.responses[0] == std::pair<std::uint64_t, Time>{1, 100ms});
  CHECK(client.responses[1] == std::pair<std::uint64_t, Time>{2, 100ms});
  CHECK(client.responses[2] == std::pair<std::uint64_t, Time>{3, 200ms});  // waited a slot
  const WorkerStatus s = w.status(sched.now());
  CHECK(s.served == 3);
  CHECK(s.rejected == 1);
  CHECK(s.busy_time == 300ms);
  CHECK_FALSE(drained);
}

TEST_CASE("SimWorker: booting answers 503 to health checks and work alike") {
  VirtualScheduler sched;
  Recorder client;
  const WorkerProfile profile = constant_profile(4, 8, 10ms, 1s);
  SimWorker w(sched, profile, "i-1", {"sim", 1}, 7, client, {});
  CHECK(w.health_status(sched.now()) == 503);
  CHECK(w.deliver(1, sched.now()) == Admission::kRejectedBooting);
  sched.run_until(1s);
  CHECK(w.health_status(sched.now()) == 200);
  CHECK(w.deliver(2, sched.now()) == Admission::kServe);
}

TEST_CASE("SimWorker: a kill loses what is in service and queued, and later timers do nothing") {
  VirtualScheduler sched;
  Recorder client;
  const WorkerProfile profile = constant_profile(1, 4, 100ms, 0s);
  SimWorker w(sched, profile, "i-1", {"sim", 1}, 7, client, {});
  for (std::uint64_t t = 1; t <= 3; ++t) w.deliver(t, sched.now());
  sched.run_until(50ms);
  w.kill(sched.now());
  CHECK(w.exited());
  CHECK_FALSE(w.accepting());
  CHECK(client.lost == std::vector<std::uint64_t>{1, 2, 3});
  sched.run();
  CHECK(client.responses.empty());
}

TEST_CASE("SimWorker: a graceful shutdown finishes what it holds, refuses more, then drains") {
  VirtualScheduler sched;
  Recorder client;
  const WorkerProfile profile = constant_profile(1, 4, 100ms, 0s);
  int drained = 0;
  SimWorker w(sched, profile, "i-1", {"sim", 1}, 7, client,
              [&](int code) { drained += code == 0 ? 1 : 100; });
  w.deliver(1, sched.now());
  w.deliver(2, sched.now());
  w.begin_shutdown(sched.now());
  CHECK_FALSE(w.accepting());  // the listener is closed
  CHECK(drained == 0);
  sched.run();
  CHECK(client.responses.size() == 2);
  CHECK(drained == 1);
  CHECK(client.lost.empty());
}

TEST_CASE("SimWorker: service times follow the profile's distribution, seeded") {
  VirtualScheduler sched;
  Recorder client;
  WorkerProfile profile = constant_profile(10000, 0, 20ms, 0s);
  profile.service_time.distribution = ServiceDistribution::kExponential;
  SimWorker w(sched, profile, "i-1", {"sim", 1}, 11, client, {});
  const int n = 5000;
  for (int i = 0; i < n; ++i) w.deliver(static_cast<std::uint64_t>(i), Time::zero());
  sched.run();
  REQUIRE(client.responses.size() == static_cast<std::size_t>(n));
  double sum = 0;
  for (const auto& [token, at] : client.responses) sum += to_millis(at);
  CHECK(sum / n == doctest::Approx(20).epsilon(0.05));
}

}  // namespace flotilla
