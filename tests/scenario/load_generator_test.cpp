#include "scenario/load_generator.h"

#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <map>
#include <functional>
#include <thread>

#include "test_http_server.h"

namespace flotilla {
namespace {

using test::TestHttpServer;
using Clock = std::chrono::steady_clock;

LoadConfig config_for(const TestHttpServer& server, RateSchedule schedule) {
  LoadConfig c;
  c.target = Endpoint{"127.0.0.1", server.port()};
  c.schedule = std::move(schedule);
  c.request_timeout = 5s;
  return c;
}

// Runs to the end; fails the test if that takes longer than `limit`.
LoadSnapshot run(LoadConfig config, Duration limit = 10s) {
  LoadGenerator gen(std::move(config));
  gen.start();
  const bool finished = gen.wait_for(limit);
  REQUIRE(finished);
  return gen.snapshot();
}

bool wait_until(const std::function<bool()>& condition, Duration limit = 5s) {
  const auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::yield();
  }
  return condition();
}

}  // namespace

TEST_CASE("LoadGenerator: sends exactly the schedule, on keep-alive connections") {
  TestHttpServer server;
  const auto started = Clock::now();
  const LoadSnapshot s = run(config_for(server, RateSchedule(200, {{2s, 200}})));
  const auto took = Clock::now() - started;
  CHECK(took >= 1900ms);  // the schedule is paced, not sent as fast as possible
  CHECK(took < 5s);
  CHECK(s.started);
  CHECK(s.finished);
  CHECK(s.sent == 400);
  CHECK(s.ok == 400);
  CHECK(s.errors == 0);
  CHECK(s.in_flight == 0);
  CHECK(s.open_connections == 0);
  CHECK(s.latency.count() == 400);
  CHECK(server.requests() == 400);
  CHECK(server.connections() < 100);
  REQUIRE(s.seconds.size() == 2);
  for (const auto& second : s.seconds) {
    CHECK(second.sent == 200);
    CHECK(second.ok == 200);
    CHECK(second.offered == doctest::Approx(200));
    CHECK(second.latency.count == 200);
  }
}

TEST_CASE("LoadGenerator: several IO threads share the schedule exactly") {
  TestHttpServer server;
  LoadConfig c = config_for(server, RateSchedule(0, {{2s, 200}}));  // ramp: 200 requests
  c.threads = 3;
  const LoadSnapshot s = run(std::move(c));
  CHECK(s.sent == 200);
  CHECK(s.ok == 200);
  REQUIRE(s.seconds.size() == 2);
  CHECK(s.seconds[0].sent == 50);
  CHECK(s.seconds[1].sent == 150);
}

TEST_CASE("LoadGenerator: Poisson arrivals send what the iterator schedules") {
  TestHttpServer server;
  LoadConfig c = config_for(server, RateSchedule(100, {{1s, 100}}));
  c.arrivals = Arrivals::kPoisson;
  c.seed = 5;
  ArrivalIterator it(c.schedule, Arrivals::kPoisson, 5);
  std::uint64_t want = 0;
  while (it.next()) ++want;
  const LoadSnapshot s = run(std::move(c));
  CHECK(s.sent == want);
  CHECK(s.ok == want);
}

TEST_CASE("LoadGenerator: latency runs from the scheduled time, so a stall shows") {
  TestHttpServer server;
  server.set_delay_first(100, 300ms);  // all of second 0 stalls
  const LoadSnapshot s = run(config_for(server, RateSchedule(100, {{2s, 100}})));
  CHECK(s.sent == 200);
  CHECK(s.ok == 200);
  REQUIRE(s.seconds.size() == 2);
  CHECK(s.seconds[0].latency.min >= 300ms);
  CHECK(s.seconds[0].latency.p99 >= 300ms);
  CHECK(s.seconds[1].latency.p50 < 250ms);
  CHECK(s.latency.max() >= 300ms);
  CHECK(s.latency.percentile(50) < s.latency.percentile(99));
}

TEST_CASE("LoadGenerator: HTTP errors count by kind, with no latency samples") {
  struct Row {
    int status;
    LoadErrorKind kind;
  };
  const Row rows[] = {{503, LoadErrorKind::kHttp5xx},
                      {500, LoadErrorKind::kHttp5xx},
                      {404, LoadErrorKind::kHttp4xx}};
  for (const auto& row : rows) {
    CAPTURE(row.status);
    TestHttpServer server;
    server.set_status(row.status);
    const LoadSnapshot s = run(config_for(server, RateSchedule(50, {{1s, 50}})));
    CHECK(s.sent == 50);
    CHECK(s.ok == 0);
    CHECK(s.errors == 50);
    CHECK(s.by_kind[row.kind] == 50);
    CHECK(s.latency.count() == 0);
    REQUIRE(s.seconds.size() == 1);
    CHECK(s.seconds[0].errors == 50);
    CHECK(s.seconds[0].by_kind[row.kind] == 50);
  }
}

TEST_CASE("LoadGenerator: a refused connection is a connect_error") {
  TestHttpServer server;
  server.stop_accepting();
  const LoadSnapshot s = run(config_for(server, RateSchedule(50, {{1s, 50}})));
  CHECK(s.sent == 50);
  CHECK(s.errors == 50);
  CHECK(s.by_kind[LoadErrorKind::kConnectError] == 50);
}

TEST_CASE("LoadGenerator: a server that never answers times out, within a bound") {
  TestHttpServer server;
  server.set_delay(30s);
  LoadConfig c = config_for(server, RateSchedule(20, {{500ms, 20}}));
  c.request_timeout = 200ms;
  const auto started = Clock::now();
  const LoadSnapshot s = run(std::move(c), 5s);
  CHECK(Clock::now() - started < 2s);
  CHECK(s.sent == 10);
  CHECK(s.by_kind[LoadErrorKind::kTimeout] == 10);
  CHECK(s.errors == 10);
  CHECK(s.in_flight == 0);
}

TEST_CASE("LoadGenerator: no connection to be had is an overload error, not a wait") {
  TestHttpServer server;
  server.set_delay(400ms);
  LoadConfig c = config_for(server, RateSchedule(20, {{1s, 20}}));
  c.max_connections = 2;
  const LoadSnapshot s = run(std::move(c));
  CHECK(s.sent == 20);
  CHECK(s.ok + s.errors == 20);
  CHECK(s.by_kind[LoadErrorKind::kOverload] > 10);
  CHECK(s.ok >= 2);
  CHECK(server.connections() <= 2);
}

TEST_CASE("LoadGenerator: a kept-alive connection the server closed is retried once") {
  TestHttpServer server;
  server.set_close_after_response(true);
  const LoadSnapshot s = run(config_for(server, RateSchedule(50, {{1s, 50}})));
  CHECK(s.sent == 50);
  CHECK(s.ok == 50);
  CHECK(s.errors == 0);
  CHECK(server.requests() == 50);
}

TEST_CASE("LoadGenerator: stop() ends a run early and promptly") {
  TestHttpServer server;
  server.set_delay(50ms);
  LoadGenerator gen(config_for(server, RateSchedule(100, {{30s, 100}})));
  CHECK_FALSE(gen.snapshot().started);
  gen.start();
  REQUIRE(wait_until([&] { return gen.snapshot(2).sent >= 50; }));
  const LoadSnapshot live = gen.snapshot(2);
  CHECK_FALSE(live.finished);
  CHECK(live.seconds.size() <= 2);
  CHECK(live.elapsed > 400ms);
  const auto stopping = Clock::now();
  gen.stop();
  CHECK(Clock::now() - stopping < 2s);
  const LoadSnapshot s = gen.snapshot();
  CHECK(s.finished);
  CHECK(s.sent < 3000);
  CHECK(s.ok + s.errors <= s.sent);
  CHECK(s.errors == 0);  // abandoned requests are not errors
  CHECK(s.in_flight == 0);
  gen.stop();  // idempotent
}

TEST_CASE("LoadGenerator: a few thousand requests per second on one IO thread") {
  TestHttpServer server;
  const LoadSnapshot s = run(config_for(server, RateSchedule(3000, {{2s, 3000}})));
  CHECK(s.sent == 6000);
  CHECK(s.ok == 6000);
  CHECK(server.connections() < 1000);
}

}  // namespace flotilla

namespace flotilla {

TEST_CASE("LoadGenerator: a mix sends each entry's method, path and body, in its share") {
  TestHttpServer server;
  LoadConfig c = config_for(server, RateSchedule(1000, {{1s, 1000}}));
  c.requests = {{"POST", "/api", 3, 512}, {"GET", "/static/a.png", 1, 0}, {"HEAD", "/h", 1, 0}};
  c.seed = 5;
  c.threads = 2;
  const LoadSnapshot s = run(c);
  CHECK(s.sent == 1000);
  CHECK(s.ok == 1000);
  REQUIRE(s.requests.size() == 3);

  // What the server saw, per entry, is what the generator counted.
  std::map<std::string, std::uint64_t> seen;
  for (const auto& r : server.seen()) {
    CAPTURE(r.method);
    CAPTURE(r.target);
    seen[r.method + " " + r.target] += 1;
    CHECK(r.body_bytes == (r.method == "POST" ? 512u : 0u));
    CHECK(!r.connection_close);
  }
  CHECK(seen.size() == 3);
  const double weights[] = {3, 1, 1};
  const char* names[] = {"POST /api", "GET /static/a.png", "HEAD /h"};
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < 3; ++i) {
    CAPTURE(names[i]);
    const RequestStats& r = s.requests[i];
    CHECK(seen[names[i]] == r.sent);
    CHECK(r.ok == r.sent);
    CHECK(r.errors == 0);
    CHECK(r.latency.count() == r.ok);
    // Within 5 standard deviations of the weight's share of 1000.
    const double p = weights[i] / 5;
    CHECK(std::abs(double(r.sent) - 1000 * p) <= 5 * std::sqrt(1000 * p * (1 - p)));
    total += r.sent;
  }
  CHECK(total == 1000);
  // HEAD's answers carry no body, and its connections went on carrying requests.
  CHECK(server.connections() < 100);

  // The same seed on one thread picks the same entries.
  TestHttpServer again;
  LoadConfig one = config_for(again, RateSchedule(1000, {{1s, 1000}}));
  one.requests = c.requests;
  one.seed = 5;
  const LoadSnapshot t = run(one);
  REQUIRE(t.requests.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) CHECK(t.requests[i].sent == s.requests[i].sent);
}

TEST_CASE("LoadGenerator: connections \"new\" opens one connection per request and closes it") {
  TestHttpServer server;
  LoadConfig c = config_for(server, RateSchedule(200, {{1s, 200}}));
  c.connections = Connections::kNew;
  c.requests = {{"PUT", "/item", 1, 100}};
  const LoadSnapshot s = run(c);
  CHECK(s.sent == 200);
  CHECK(s.ok == 200);
  CHECK(s.open_connections == 0);
  CHECK(server.requests() == 200);
  CHECK(server.connections() == 200);
  for (const auto& r : server.seen()) {
    CHECK(r.connection_close);
    CHECK(r.body_bytes == 100);
    CHECK(r.method == "PUT");
  }

  // The default reuses them.
  TestHttpServer reused;
  const LoadSnapshot k = run(config_for(reused, RateSchedule(200, {{1s, 200}})));
  CHECK(k.ok == 200);
  CHECK(reused.connections() < 20);
}

TEST_CASE("LoadGenerator: a POST whose kept-alive connection went stale is not sent again") {
  TestHttpServer server;
  server.set_close_after_response(true);
  LoadConfig c = config_for(server, RateSchedule(20, {{1s, 20}}));
  c.requests = {{"POST", "/orders", 1, 10}};
  const LoadSnapshot s = run(c);
  CHECK(s.sent == 20);
  // Each reuse finds the connection closed: a GET is sent again (see above), a POST fails.
  CHECK(s.errors > 0);
  CHECK(s.by_kind[LoadErrorKind::kReset] == s.errors);
  CHECK(s.ok + s.errors == 20);
  CHECK(server.requests() == s.ok);
}

}  // namespace flotilla
