#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <thread>
#include <vector>

#include "core/errors.h"
#include "support/fd_exhaustion.h"
#include "worker/http_client.h"
#include "worker/server.h"

namespace flotilla {
namespace {

using test::get_metrics;
using test::http_get;
using test::HttpClient;
using test::HttpResponse;
using test::wait_until;
using SteadyClock = std::chrono::steady_clock;

WorkerProfile constant_profile(int capacity, Duration service, int queue_limit,
                               Duration boot = Duration::zero()) {
  WorkerProfile p;
  p.name = "test";
  p.capacity = capacity;
  p.service_time = ServiceTime{ServiceDistribution::kConstant, service, {}};
  p.queue_limit = queue_limit;
  p.boot_time = boot;
  return p;
}

// A request on its own connection and thread, remembering when its response arrived.
class Pending {
 public:
  Pending(std::uint16_t port, std::string target) {
    thread_ = std::thread([this, port, target] {
      try {
        response_ = http_get(port, target);
      } catch (const std::exception& e) {
        error_ = e.what();
      }
      done_at_ = SteadyClock::now();
    });
  }
  ~Pending() {
    if (thread_.joinable()) thread_.join();
  }
  const HttpResponse& get() {
    if (thread_.joinable()) thread_.join();
    INFO(error_);
    REQUIRE(error_.empty());
    return response_;
  }
  SteadyClock::time_point done_at() {
    get();
    return done_at_;
  }
  // The failure of a request that got no answer ("" when it got one).
  const std::string& error() {
    if (thread_.joinable()) thread_.join();
    return error_;
  }

 private:
  std::thread thread_;
  HttpResponse response_;
  std::string error_;
  SteadyClock::time_point done_at_;
};

// Waits until /metrics satisfies `check`; returns the matching snapshot (or null on timeout).
template <class Check>
nlohmann::json wait_metrics(std::uint16_t port, Check check) {
  nlohmann::json last;
  const bool ok = wait_until([&] {
    last = get_metrics(port);
    return check(last);
  });
  INFO(last.dump());
  CHECK(ok);
  return ok ? last : nlohmann::json();
}

}  // namespace

TEST_CASE("server: requests beyond capacity wait in a FIFO queue") {
  WorkerServer server(constant_profile(2, std::chrono::milliseconds(400), 10), "w-cap", 1);
  server.start_in_thread();
  const auto port = server.port();

  Pending r1(port, "/work"), r2(port, "/work?n=2");
  wait_metrics(port, [](const auto& m) { return m["in_flight"] == 2; });
  Pending r3(port, "/work");
  wait_metrics(port, [](const auto& m) { return m["queued"] == 1; });
  Pending r4(port, "/work");
  auto m = wait_metrics(port, [](const auto& m) { return m["queued"] == 2; });
  CHECK(m["in_flight"] == 2);
  CHECK(m["served"] == 0);
  CHECK(m["capacity"] == 2);

  // When the first two finish, the queued two take their slots at once.
  m = wait_metrics(port, [](const auto& m) { return m["served"] >= 2; });
  CHECK(m["served"] == 2);
  CHECK(m["in_flight"] == 2);
  CHECK(m["queued"] == 0);

  for (auto* r : {&r1, &r2, &r3, &r4}) {
    CHECK(r->get().status == 200);
    CHECK(r->get().worker == "w-cap");
  }
  CHECK(std::max(r1.done_at(), r2.done_at()) < std::min(r3.done_at(), r4.done_at()));

  m = get_metrics(port);
  CHECK(m["served"] == 4);
  CHECK(m["in_flight"] == 0);
  CHECK(m["queued"] == 0);
  CHECK(m["rejected"] == 0);
  CHECK(m["worker_id"] == "w-cap");
  CHECK(m["cpu_utilization"].get<double>() > 0);
  CHECK(m["cpu_utilization"].get<double>() <= 100);
  // Four services of at least 400 ms each, within two slots' uptime.
  CHECK(m["busy_seconds"].get<double>() >= 1.6);
  CHECK(m["busy_seconds"].get<double>() <= 2 * m["uptime_seconds"].get<double>());
}

TEST_CASE("server: beyond queue_limit requests are answered 503 at once and counted") {
  WorkerServer server(constant_profile(1, std::chrono::milliseconds(300), 1), "w-q", 1);
  server.start_in_thread();
  const auto port = server.port();

  Pending a(port, "/a");
  wait_metrics(port, [](const auto& m) { return m["in_flight"] == 1; });
  Pending b(port, "/b");
  wait_metrics(port, [](const auto& m) { return m["queued"] == 1; });

  const auto rejected = http_get(port, "/c");
  CHECK(rejected.status == 503);
  CHECK(rejected.worker == "w-q");
  auto m = get_metrics(port);
  CHECK(m["rejected"] == 1);
  CHECK(m["in_flight"] == 1);
  CHECK(m["queued"] == 1);
  CHECK(m["served"] == 0);

  CHECK(a.get().status == 200);
  CHECK(b.get().status == 200);
  m = get_metrics(port);
  CHECK(m["served"] == 2);
  CHECK(m["rejected"] == 1);
}

TEST_CASE("server: queue_limit 0 rejects as soon as every slot is busy") {
  WorkerServer server(constant_profile(1, std::chrono::milliseconds(300), 0), "w-q0", 1);
  server.start_in_thread();
  const auto port = server.port();
  Pending a(port, "/a");
  wait_metrics(port, [](const auto& m) { return m["in_flight"] == 1; });
  CHECK(http_get(port, "/b").status == 503);
  CHECK(a.get().status == 200);
  CHECK(get_metrics(port)["rejected"] == 1);
}

TEST_CASE("server: /health answers 503 until boot_time has passed, then 200") {
  WorkerServer server(constant_profile(1, std::chrono::milliseconds(1), 4, std::chrono::seconds(2)),
                      "w-boot", 1);
  server.start_in_thread();
  const auto port = server.port();

  const auto early = http_get(port, "/health");
  CHECK(early.status == 503);
  CHECK(early.worker == "w-boot");
  CHECK(http_get(port, "/work").status == 503);
  auto m = get_metrics(port);
  CHECK(m["booted"] == false);
  CHECK(m["rejected"] == 1);

  CHECK(wait_until([&] { return http_get(port, "/health").status == 200; }));
  CHECK(http_get(port, "/health").body == "ok\n");
  CHECK(http_get(port, "/work").status == 200);
  m = get_metrics(port);
  CHECK(m["booted"] == true);
  CHECK(m["served"] == 1);
  CHECK(m["uptime_seconds"].get<double>() >= 2.0);
}

TEST_CASE("server: one keep-alive connection carries many requests, bodies included") {
  WorkerServer server(constant_profile(2, std::chrono::milliseconds(1), 4), "w-ka", 1);
  server.start_in_thread();
  HttpClient client(server.port());

  auto r = client.request("GET", "/health");
  CHECK(r.status == 200);
  CHECK(r.keep_alive);
  r = client.request("POST", "/orders", std::string(100'000, 'x'));
  CHECK(r.status == 200);
  CHECK(r.keep_alive);
  r = client.request("POST", "/orders", std::string(5'000, 'y'), /*chunked=*/true);
  CHECK(r.status == 200);
  r = client.request("PUT", "/empty", "");
  CHECK(r.status == 200);
  r = client.request("GET", "/work");
  CHECK(r.status == 200);
  CHECK(r.worker == "w-ka");
  // Two pipelined requests in one write are answered in order.
  r = client.raw(
      "GET /one HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(r.status == 200);
  r = client.receive();
  CHECK(r.status == 200);
  CHECK(nlohmann::json::parse(r.body)["served"] == 5);

  // HEAD: headers only; the next request on the connection still lines up.
  r = client.request("HEAD", "/health");
  CHECK(r.status == 200);
  CHECK(r.body.empty());
  // Expect: 100-continue gets the interim response, then the body is sent and read.
  client.send(
      "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
      "Expect: 100-continue\r\n\r\n");
  CHECK(client.receive().status == 100);
  client.send("hello");
  CHECK(client.receive().status == 200);
  r = client.request("GET", "/metrics");
  CHECK(nlohmann::json::parse(r.body)["served"] == 6);
}

TEST_CASE("server: a malformed request gets 400 and the connection closes") {
  WorkerServer server(constant_profile(1, std::chrono::milliseconds(1), 0), "w-bad", 1);
  server.start_in_thread();
  HttpClient client(server.port());
  const auto r = client.raw("NOT HTTP AT ALL\r\n\r\n");
  CHECK(r.status == 400);
  CHECK_FALSE(r.keep_alive);
  CHECK(client.closed_by_peer(std::chrono::seconds(5)));
}

TEST_CASE("server: graceful shutdown finishes in-flight and queued requests, then returns") {
  WorkerServer server(constant_profile(1, std::chrono::milliseconds(300), 4), "w-stop", 1);
  server.start_in_thread();
  const auto port = server.port();

  HttpClient idle(port);
  CHECK(idle.request("GET", "/health").status == 200);
  Pending a(port, "/a");
  wait_metrics(port, [](const auto& m) { return m["in_flight"] == 1; });
  Pending b(port, "/b");
  wait_metrics(port, [](const auto& m) { return m["queued"] == 1; });

  server.begin_shutdown();
  server.begin_shutdown();  // idempotent
  CHECK(idle.closed_by_peer(std::chrono::seconds(5)));
  CHECK(a.get().status == 200);
  CHECK_FALSE(a.get().keep_alive);
  CHECK(b.get().status == 200);
  CHECK_FALSE(b.get().keep_alive);
  server.join();
  CHECK_THROWS(HttpClient(port, std::chrono::seconds(2)));
}

TEST_CASE("server: shutdown with no connections returns at once, the destructor joins") {
  std::optional<WorkerServer> server;
  server.emplace(constant_profile(1, std::chrono::milliseconds(1), 0, std::chrono::hours(1)), "w",
                 1);
  server->start_in_thread();
  CHECK(http_get(server->port(), "/health").status == 503);
  server->begin_shutdown();
  server->join();
  // A second server's destructor shuts a running server down by itself.
  server.emplace(constant_profile(1, std::chrono::milliseconds(1), 0), "w", 1);
  server->start_in_thread();
  CHECK(http_get(server->port(), "/health").status == 200);
  server.reset();
}

TEST_CASE("server: binding a port in use is a UserError naming the address") {
  WorkerServer first(constant_profile(1, std::chrono::milliseconds(1), 0), "w1", 1);
  const auto port = first.port();
  CHECK(port != 0);
  CHECK_THROWS_WITH_AS(WorkerServer(constant_profile(1, std::chrono::milliseconds(1), 0), "w2", 1,
                                    "127.0.0.1", port),
                       ("127.0.0.1:" + std::to_string(port) + " is already in use").c_str(),
                       UserError);
  CHECK_THROWS_AS(
      WorkerServer(constant_profile(1, std::chrono::milliseconds(1), 0), "w3", 1, "not-an-address"),
      UserError);
}

// ---- faults, through the control interface ----

namespace {

HttpResponse put_faults(HttpClient& client, const std::string& body) {
  return client.request("PUT", "/flotilla/faults", body);
}

double millis_since(SteadyClock::time_point start) {
  return std::chrono::duration<double, std::milli>(SteadyClock::now() - start).count();
}

}  // namespace

TEST_CASE("server: the control interface sets, reads and clears faults, and answers bad bodies 400") {
  WorkerServer server(constant_profile(2, std::chrono::milliseconds(1), 4), "w-ctl", 1);
  server.start_in_thread();
  HttpClient client(server.port());

  auto r = client.request("GET", "/flotilla/faults");
  CHECK(r.status == 200);
  CHECK(r.keep_alive);
  CHECK(r.worker == "w-ctl");
  CHECK(nlohmann::json::parse(r.body) == nlohmann::json::parse(R"({"slow": null,
        "errors": null, "crash_after": null, "flap": null, "latency": null})"));

  r = put_faults(client, R"({"slow": {"factor": 10}, "errors": {"fraction": 0.3},
                            "crash_after": {"requests": 100}, "flap": {"period": "2s"},
                            "latency": {"delay": "200ms", "jitter": "50ms"}})");
  CHECK(r.status == 200);
  const auto set = nlohmann::json::parse(r.body);
  CHECK(set == nlohmann::json::parse(R"({"slow": {"factor": 10}, "errors": {"fraction": 0.3},
        "crash_after": {"requests": 100}, "flap": {"period": "2s"},
        "latency": {"delay": "200ms", "jitter": "50ms"}})"));
  CHECK(nlohmann::json::parse(client.request("GET", "/flotilla/faults").body) == set);

  // Null clears; absent kinds stay.
  r = put_faults(client, R"({"latency": null, "flap": null, "crash_after": null})");
  CHECK(r.status == 200);
  auto state = nlohmann::json::parse(r.body);
  CHECK(state["latency"].is_null());
  CHECK(state["flap"].is_null());
  CHECK(state["slow"]["factor"] == 10);
  CHECK(state["errors"]["fraction"] == 0.3);

  // A bad body changes nothing and names the field; the connection stays usable.
  r = put_faults(client, R"({"slow": {"factor": 2}, "errors": {"fraction": "lots"}})");
  CHECK(r.status == 400);
  CHECK(r.keep_alive);
  auto error = nlohmann::json::parse(r.body);
  CHECK(error["field"] == "/errors/fraction");
  CHECK(error["error"].get<std::string>().find("a number between 0 and 1") != std::string::npos);
  r = put_faults(client, "not json");
  CHECK(r.status == 400);
  CHECK(nlohmann::json::parse(r.body)["field"] == "");
  CHECK(put_faults(client, R"({"latency": {"delay": "1ms", "jitter": "2ms"}})").status == 400);
  CHECK(client.request("POST", "/flotilla/faults", "{}").status == 405);
  CHECK(client.request("GET", "/flotilla/nothing").status == 404);
  state = nlohmann::json::parse(client.request("GET", "/flotilla/faults").body);
  CHECK(state["slow"]["factor"] == 10);
  CHECK(state["latency"].is_null());

  // Control requests are not work: no slot, no counter; the errors fault does not touch them.
  r = put_faults(client, R"({"errors": {"fraction": 1}, "slow": null})");
  CHECK(r.status == 200);
  for (int i = 0; i < 20; ++i) CHECK(client.request("GET", "/flotilla/faults").status == 200);
  auto m = get_metrics(server.port());
  CHECK(m["served"] == 0);
  CHECK(m["rejected"] == 0);
  CHECK(client.request("GET", "/work").status == 500);
  m = get_metrics(server.port());
  CHECK(m["served"] == 1);
  CHECK(m["errors"] == 1);
  // A body sent with Expect: 100-continue is read as well.
  client.send(
      "PUT /flotilla/faults HTTP/1.1\r\nHost: x\r\nContent-Length: 15\r\n"
      "Expect: 100-continue\r\n\r\n");
  CHECK(client.receive().status == 100);
  client.send(R"({"errors":null})");
  r = client.receive();
  CHECK(r.status == 200);
  CHECK(nlohmann::json::parse(r.body)["errors"].is_null());
  CHECK(client.request("GET", "/work").status == 200);
}

TEST_CASE("server: latency delays answers to work and /health, not /metrics nor control") {
  WorkerServer server(constant_profile(2, std::chrono::milliseconds(1), 4), "w-lat", 1);
  server.start_in_thread();
  HttpClient client(server.port());
  CHECK(put_faults(client, R"({"latency": {"delay": "400ms", "jitter": "100ms"}})").status == 200);

  auto start = SteadyClock::now();
  auto r = client.request("GET", "/health");
  CHECK(r.status == 200);
  CHECK(millis_since(start) >= 300);
  start = SteadyClock::now();
  CHECK(client.request("GET", "/work").status == 200);
  CHECK(millis_since(start) >= 300);
  // The slot was free while the answer waited.
  CHECK(get_metrics(server.port())["in_flight"] == 0);

  start = SteadyClock::now();
  CHECK(client.request("GET", "/metrics").status == 200);
  CHECK(client.request("GET", "/flotilla/faults").status == 200);
  CHECK(millis_since(start) < 300);

  CHECK(put_faults(client, R"({"latency": null})").status == 200);
  start = SteadyClock::now();
  CHECK(client.request("GET", "/health").status == 200);
  CHECK(millis_since(start) < 300);
}

TEST_CASE("server: errors answers about its fraction of many requests 500") {
  WorkerServer server(constant_profile(4, std::chrono::microseconds(1), 4), "w-err", 5);
  server.start_in_thread();
  HttpClient client(server.port());
  CHECK(put_faults(client, R"({"errors": {"fraction": 0.3}})").status == 200);
  const int n = 2000;
  int errors = 0;
  for (int i = 0; i < n; ++i) {
    const auto r = client.request("GET", "/work");
    REQUIRE((r.status == 200 || r.status == 500));
    CHECK(r.keep_alive);
    errors += r.status == 500;
  }
  // 600 expected; +- 5 standard deviations (20.5).
  CHECK(errors >= 500);
  CHECK(errors <= 700);
  const auto m = get_metrics(server.port());
  CHECK(m["errors"] == errors);
  CHECK(m["served"] == n);
  // Health checks are not work: they stay 200.
  CHECK(http_get(server.port(), "/health").status == 200);
}

TEST_CASE("server: slow multiplies service times, flap alternates /health") {
  WorkerServer server(constant_profile(1, std::chrono::milliseconds(40), 4), "w-slow", 1);
  server.start_in_thread();
  HttpClient client(server.port());
  CHECK(put_faults(client, R"({"slow": {"factor": 8}})").status == 200);
  auto start = SteadyClock::now();
  CHECK(client.request("GET", "/work").status == 200);
  CHECK(millis_since(start) >= 320);

  CHECK(put_faults(client, R"({"slow": null, "flap": {"period": "300ms"}})").status == 200);
  // Unhealthy first, then healthy, then unhealthy again.
  auto r = client.request("GET", "/health");
  CHECK(r.status == 503);
  CHECK(r.body == "unhealthy\n");
  CHECK(wait_until([&] { return client.request("GET", "/health").status == 200; }));
  CHECK(wait_until([&] { return client.request("GET", "/health").status == 503; }));
  // Work is served throughout.
  CHECK(client.request("GET", "/work").status == 200);
  CHECK(put_faults(client, R"({"flap": null})").status == 200);
  CHECK(client.request("GET", "/health").status == 200);
}

TEST_CASE("server: crash_after drops everything after the last answer and run() returns") {
  WorkerServer server(constant_profile(1, std::chrono::milliseconds(200), 4), "w-crash", 1);
  server.start_in_thread();
  const auto port = server.port();
  {
    HttpClient client(port);
    CHECK(put_faults(client, R"({"crash_after": {"requests": 2}})").status == 200);
  }
  Pending a(port, "/a");
  wait_metrics(port, [](const auto& m) { return m["in_flight"] == 1; });
  Pending b(port, "/b");
  wait_metrics(port, [](const auto& m) { return m["queued"] == 1; });
  Pending c(port, "/c");
  wait_metrics(port, [](const auto& m) { return m["queued"] == 2; });
  HttpClient idle(port);

  CHECK(a.get().status == 200);
  CHECK(b.get().status == 200);
  // The third was held (queued, then in service) when the worker crashed: no answer.
  CHECK_FALSE(c.error().empty());
  CHECK(idle.closed_by_peer(std::chrono::seconds(5)));
  server.join();
  CHECK(server.crashed());
  CHECK_THROWS(HttpClient(port, std::chrono::seconds(2)));
}

TEST_CASE("server: out of file descriptors, accepting pauses instead of spinning, then recovers") {
  WorkerServer server(constant_profile(1, std::chrono::milliseconds(1), 0), "w-fd", 1);
  server.start_in_thread();
  const auto starved = test::accept_without_descriptors(
      server.port(), "GET /health HTTP/1.1\r\nHost: w\r\nConnection: close\r\n\r\n",
      std::chrono::milliseconds(600));
  REQUIRE(starved.exhausted);
  // Retrying the accept at once would keep the server's thread busy: even on a shared machine a
  // busy loop gets far more than 5% of a core, and the pauses cost a few milliseconds.
  CHECK(starved.cpu < starved.wall / 20);
  CHECK(starved.response.starts_with("HTTP/1.1 200"));
  CHECK(http_get(server.port(), "/health").status == 200);
}

}  // namespace flotilla
