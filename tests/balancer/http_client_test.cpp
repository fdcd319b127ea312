#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>
#include <optional>

#include "balancer/http_client.h"
#include "test_backend.h"
#include "worker/server.h"

using namespace flotilla;
using namespace flotilla::testing;

namespace {

// Runs one call made by `start` on a fresh io_context to its result.
template <class Start>
HttpGetResult run_call(Start start) {
  boost::asio::io_context io;
  std::optional<HttpGetResult> result;
  int calls = 0;
  start(io, [&](HttpGetResult r) {
    ++calls;
    result = std::move(r);
  });
  CHECK(calls == 0);  // never inline
  io.run_for(10s);
  CHECK(calls == 1);
  REQUIRE(result);
  return *result;
}

HttpGetResult get(const Endpoint& endpoint, const std::string& target, Duration timeout = 2s) {
  return run_call([&](boost::asio::io_context& io, auto done) {
    http_get(io, endpoint, target, timeout, std::move(done));
  });
}

HttpGetResult request(const Endpoint& endpoint, HttpRequest req, Duration timeout = 2s) {
  return run_call([&](boost::asio::io_context& io, auto done) {
    http_request(io, endpoint, std::move(req), timeout, std::move(done));
  });
}

HttpGetResult send_faults(const Endpoint& endpoint, const WorkerFaults& change) {
  return run_call([&](boost::asio::io_context& io, auto done) {
    send_worker_faults(io, endpoint, change, 2s, std::move(done));
  });
}

}  // namespace

TEST_CASE("http_get: status, body, and each kind of failure") {
  TestBackend backend("w1");
  backend.set_health_status(503);

  const auto ok = get(backend.endpoint(), "/anything");
  CHECK(ok.ok);
  CHECK(ok.status == 200);
  CHECK(ok.body == "w1");
  CHECK(ok.elapsed > Duration::zero());

  const auto unhealthy = get(backend.endpoint(), "/health");
  CHECK(unhealthy.ok);
  CHECK(unhealthy.status == 503);

  const auto refused = get({"127.0.0.1", closed_port()}, "/health");
  CHECK_FALSE(refused.ok);
  CHECK(refused.error == "connection refused");

  TestBackend hang("hang", TestBackend::Mode::kHang);
  const auto timeout = get(hang.endpoint(), "/health", 100ms);
  CHECK_FALSE(timeout.ok);
  CHECK(timeout.error == "timeout");
  CHECK(timeout.elapsed >= 100ms);

  TestBackend garbage("garbage", TestBackend::Mode::kGarbage);
  const auto bad = get(garbage.endpoint(), "/health");
  CHECK_FALSE(bad.ok);
  CHECK(bad.error.rfind("bad response", 0) == 0);

  const auto bad_address = get({"not-an-ip", 80}, "/");
  CHECK_FALSE(bad_address.ok);
  CHECK(bad_address.error == "bad address");
}

TEST_CASE("http_request: a method and a body, with their framing") {
  TestBackend backend("w1");
  const auto echoed =
      request(backend.endpoint(), {"PUT", "/echo", "{\"a\": 1}", "application/json"});
  CHECK(echoed.ok);
  CHECK(echoed.status == 200);
  CHECK(echoed.body == "{\"a\": 1}");
  const auto posted = request(backend.endpoint(), {"POST", "/echo", std::string(5000, 'x'), ""});
  CHECK(posted.status == 200);
  CHECK(posted.body == std::string(5000, 'x'));
  // An empty PUT is a request with a body of length 0.
  const auto empty = request(backend.endpoint(), {"PUT", "/echo", "", ""});
  CHECK(empty.ok);
  CHECK(empty.status == 200);
  CHECK(empty.body.empty());
  CHECK(request(backend.endpoint(), {"GET", "/status/404", "", ""}).status == 404);
  const auto refused = request({"127.0.0.1", closed_port()}, {"PUT", "/", "x", ""});
  CHECK_FALSE(refused.ok);
  CHECK(refused.error == "connection refused");
}

TEST_CASE("send_worker_faults: a worker takes the message and answers what it has set") {
  WorkerProfile profile;
  profile.boot_time = Duration::zero();
  WorkerServer worker(profile, "w-faults", 1);
  worker.start_in_thread();
  const Endpoint endpoint{"127.0.0.1", worker.port()};

  WorkerFaults change;
  change.slow = FaultSetting<SlowFault>::set({10});
  change.latency = FaultSetting<LatencyFault>::set({5ms, 1ms});
  auto r = send_faults(endpoint, change);
  CHECK(r.ok);
  CHECK(r.status == 200);
  WorkerFaults expected = WorkerFaults::clear_all();
  expected.slow = change.slow;
  expected.latency = change.latency;
  const auto body = nlohmann::json::parse(r.body);
  CHECK(parse_worker_faults(ConfigNode(body, "answer")) == expected);

  // Clearing one kind leaves the other.
  WorkerFaults clear;
  clear.slow = FaultSetting<SlowFault>::clear();
  r = send_faults(endpoint, clear);
  CHECK(r.status == 200);
  expected.slow = FaultSetting<SlowFault>::clear();
  CHECK(parse_worker_faults(ConfigNode(nlohmann::json::parse(r.body), "answer")) == expected);
  const auto got = get(endpoint, "/flotilla/faults");
  CHECK(got.status == 200);
  CHECK(nlohmann::json::parse(got.body) == nlohmann::json::parse(r.body));

  // A message the worker refuses comes back as its 400.
  WorkerFaults bad;
  bad.errors = FaultSetting<ErrorsFault>::set({2});
  r = send_faults(endpoint, bad);
  CHECK(r.ok);
  CHECK(r.status == 400);
  CHECK(nlohmann::json::parse(r.body)["field"] == "/errors/fraction");
}
