// The simulated traffic: the live load generator's schedule and outcome rules, in virtual time.
#include "sim/sim_traffic.h"

#include <doctest/doctest.h>

#include "sim_world.h"

namespace flotilla {
namespace {

struct TrafficWorld : testing::SimWorld {
  explicit TrafficWorld(WorkerProfile p, int workers = 1) : SimWorld(workers, std::move(p)) {}
};

WorkerProfile constant(int capacity, Duration service) {
  return testing::constant_profile(capacity, service, 100000);
}

LoadConfig load(RateSchedule schedule) {
  LoadConfig c;
  c.schedule = std::move(schedule);
  return c;
}

// The whole schedule sent and answered: the final snapshot and one of the recent seconds.
std::pair<LoadSnapshot, LoadSnapshot> run_to_end(TrafficWorld& w, const LoadConfig& c) {
  SimTraffic traffic(w.sched, w.plane, c);
  traffic.start();
  w.sched.run();
  return {traffic.snapshot(), traffic.snapshot(2)};
}

}  // namespace

TEST_CASE("SimTraffic: sends exactly the schedule, latency from the scheduled time") {
  TrafficWorld w(constant(1000, 20ms));
  SimTraffic traffic(w.sched, w.plane, load(RateSchedule(0, {{2s, 200}})));  // 200 requests
  traffic.start();
  CHECK_FALSE(traffic.snapshot().finished);
  w.sched.run();
  const LoadSnapshot s = traffic.snapshot();
  CHECK(s.finished);
  CHECK(s.sent == 200);
  CHECK(s.ok == 200);
  CHECK(s.errors == 0);
  CHECK(s.in_flight == 0);
  CHECK(s.latency.min() == 20ms);
  CHECK(s.latency.max() == 20ms);
  REQUIRE(s.seconds.size() == 2);
  CHECK(s.seconds[0].sent == 50);  // the ramp's first half
  CHECK(s.seconds[1].sent == 150);
  CHECK(s.seconds[1].offered == doctest::Approx(150));
  CHECK(s.seconds[1].latency.p99 == 20ms);
  // The same arrivals as the live load generator's iterator.
  const RateSchedule schedule(0, {{2s, 200}});
  ArrivalIterator it(schedule, Arrivals::kUniform);
  std::uint64_t expected = 0;
  while (it.next()) ++expected;
  CHECK(s.sent == expected);
}

TEST_CASE("SimTraffic: a slow server shows as latency, then as timeouts, never as fewer sends") {
  TrafficWorld w(constant(1, 300ms));  // one slot: each request waits for the ones before it
  LoadConfig c = load(RateSchedule(10, {{1s, 10}}));
  c.request_timeout = 2s;
  SimTraffic traffic(w.sched, w.plane, c);
  traffic.start();
  w.sched.run();
  const LoadSnapshot s = traffic.snapshot();
  CHECK(s.sent == 10);
  // Request k leaves at 50 + 100 k ms and ends at 50 + 300 (k + 1) ms: latency 300 + 200 k.
  CHECK(s.ok == 9);  // k = 9 waits 2.1 s
  CHECK(s.by_kind[LoadErrorKind::kTimeout] == 1);
  CHECK(s.latency.min() == 300ms);
  CHECK(s.latency.max() == 1900ms);
}

TEST_CASE("SimTraffic: more in flight than max_connections is an overload error at once") {
  TrafficWorld w(constant(1000, 5s));
  LoadConfig c = load(RateSchedule(100, {{1s, 100}}));
  c.max_connections = 30;
  SimTraffic traffic(w.sched, w.plane, c);
  traffic.start();
  w.sched.run();
  const LoadSnapshot s = traffic.snapshot();
  CHECK(s.sent == 100);
  CHECK(s.ok == 30);
  CHECK(s.by_kind[LoadErrorKind::kOverload] == 70);
}

TEST_CASE("SimTraffic: arrivals after the data plane stops accepting are connect errors") {
  TrafficWorld w(constant(1000, 100ms));
  SimTraffic traffic(w.sched, w.plane, load(RateSchedule(100, {{2s, 100}})));  // 200 requests
  traffic.start();
  w.sched.run_until(1s);  // 100 sent, the last 10 still in flight
  w.plane.stop_accepting();
  w.sched.run();
  const LoadSnapshot s = traffic.snapshot();
  CHECK(s.finished);
  CHECK(s.sent == 200);
  CHECK(s.ok == 100);
  CHECK(s.by_kind[LoadErrorKind::kConnectError] == 100);
  CHECK(s.errors == 100);
  CHECK(w.plane.stats().requests == 100);
}

TEST_CASE("SimTraffic: stop() abandons what is in flight") {
  TrafficWorld w(constant(1000, 5s));
  SimTraffic traffic(w.sched, w.plane, load(RateSchedule(10, {{10s, 10}})));
  traffic.start();
  w.sched.run_until(1s);
  traffic.stop();
  w.sched.run();
  const LoadSnapshot s = traffic.snapshot();
  CHECK(s.finished);
  CHECK(s.sent == 10);
  CHECK(s.ok + s.errors == 0);
}

}  // namespace flotilla

namespace flotilla {

TEST_CASE("SimTraffic: a mix counts per entry, with the live load generator's choices") {
  TrafficWorld w(constant(1000, 20ms));
  LoadConfig c = load(RateSchedule(500, {{2s, 500}}));  // 1000 requests
  c.requests = {{"POST", "/api", 3, 512}, {"GET", "/static", 1, 0}, {"DELETE", "/item", 1, 0}};
  c.seed = 9;
  const auto [s, recent] = run_to_end(w, c);
  CHECK(s.sent == 1000);
  CHECK(s.ok == 1000);
  REQUIRE(s.requests.size() == 3);

  // The n-th arrival sends the entry RequestMix picks for n, as live.
  const RequestMix mix(c.requests, c.seed);
  std::vector<std::uint64_t> expected(3, 0);
  for (std::uint64_t n = 0; n < 1000; ++n) ++expected[mix.pick(n)];
  for (std::size_t i = 0; i < 3; ++i) {
    CAPTURE(i);
    CHECK(s.requests[i].sent == expected[i]);
    CHECK(s.requests[i].ok == expected[i]);
    CHECK(s.requests[i].errors == 0);
    CHECK(s.requests[i].latency.count() == expected[i]);
    CHECK(s.requests[i].latency.max() == 20ms);
  }
  CHECK(expected[0] > expected[1]);  // weight 3 against 1
  // Only the report's snapshot carries them.
  CHECK(recent.requests.empty());
}

TEST_CASE("SimTraffic: an entry's errors and timeouts count against it alone") {
  TrafficWorld w(constant(1, 300ms));  // one slot: requests queue, and late ones time out
  LoadConfig c = load(RateSchedule(10, {{1s, 10}}));
  c.request_timeout = 1s;
  c.max_connections = 8;  // the rest is an overload at once
  c.requests = {{"GET", "/a", 1, 0}, {"GET", "/b", 1, 0}};
  const LoadSnapshot s = run_to_end(w, c).first;
  REQUIRE(s.requests.size() == 2);
  CHECK(s.errors > 0);
  CHECK(s.requests[0].sent + s.requests[1].sent == s.sent);
  CHECK(s.requests[0].ok + s.requests[1].ok == s.ok);
  CHECK(s.requests[0].errors + s.requests[1].errors == s.errors);
  for (const auto& r : s.requests) CHECK(r.ok + r.errors == r.sent);
}

}  // namespace flotilla
