#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "balancer/balancer.h"
#include "balancer/target_group.h"
#include "core/accept_backoff.h"
#include "core/errors.h"
#include "core/virtual_scheduler.h"
#include "support/fd_exhaustion.h"
#include "test_backend.h"

using namespace flotilla;
using namespace flotilla::testing;

namespace {

struct Fleet {
  std::vector<std::unique_ptr<TestBackend>> backends;

  TestBackend& add(const std::string& name, TestBackend::Mode mode = TestBackend::Mode::kNormal) {
    backends.push_back(std::make_unique<TestBackend>(name, mode));
    return *backends.back();
  }
  std::vector<BalancerTarget> targets() const {
    std::vector<BalancerTarget> out;
    for (const auto& b : backends) out.push_back({b->name(), b->endpoint()});
    return out;
  }
  BalancerTarget target(std::size_t i, std::uint32_t weight = 1) const {
    return {backends[i]->name(), backends[i]->endpoint(), weight};
  }
  std::uint64_t requests() const {
    std::uint64_t n = 0;
    for (const auto& b : backends) n += b->requests();
    return n;
  }
};

// set_targets() is applied by the IO threads asynchronously; a request shows when it landed.
void wait_routable(Balancer& balancer) {
  REQUIRE(eventually([&] {
    TestClient client(balancer.port());
    const auto r = client.get("/");
    return r && r->status == 200;
  }));
}

// A started balancer routing to `fleet`, once a request shows the targets are in place.
std::unique_ptr<Balancer> start_routable(const Fleet& fleet, BalancerConfig config = {}) {
  auto balancer = std::make_unique<Balancer>(std::move(config));
  balancer->start();
  balancer->set_targets(fleet.targets());
  wait_routable(*balancer);
  return balancer;
}

bool mentions_address(const TestResponse& r, const Fleet& fleet) {
  std::string all = r.body;
  for (const auto& [name, value] : r.headers) all += name + value;
  if (all.find("127.0.0.1") != std::string::npos) return true;
  for (const auto& b : fleet.backends) {
    if (all.find(std::to_string(b->port())) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("round robin spreads 300 requests evenly over 3 targets, one client connection") {
  Fleet fleet;
  fleet.add("a");
  fleet.add("b");
  fleet.add("c");
  const auto owned = start_routable(fleet);
  Balancer& balancer = *owned;
  const auto before = balancer.stats();

  LoadResult result = run_load(balancer.port(), 1, 300);
  CHECK(result.failures.empty());
  CHECK(result.ok == 300);
  CHECK(result.by_backend == std::map<std::string, int>{{"a", 100}, {"b", 100}, {"c", 100}});

  const auto after = balancer.stats();
  CHECK(after.requests - before.requests == 300);
  CHECK(after.responses_2xx - before.responses_2xx == 300);
  CHECK(after.new_connections - before.new_connections == 1);  // client keep-alive
  CHECK(after.targets.size() == 3);
  for (const auto& b : fleet.backends) {
    CAPTURE(b->name());
    // Upstream keep-alive: each target saw one pooled connection for all its requests.
    CHECK(b->connections() == 1);
    // The client may see the last response before the balancer finished its bookkeeping.
    CHECK(eventually([&] { return balancer.stats().targets.at(b->name()).outstanding == 0; }));
  }
  CHECK(eventually([&] { return balancer.stats().active_connections == 0; }));
}

TEST_CASE("least_outstanding_requests with 2 IO threads and 4 connections serves everything") {
  Fleet fleet;
  fleet.add("a");
  fleet.add("b");
  BalancerConfig config;
  config.threads = 2;
  config.algorithm = "least_outstanding_requests";
  const auto owned = start_routable(fleet, config);
  Balancer& balancer = *owned;

  LoadResult result = run_load(balancer.port(), 4, 400);
  CHECK(result.failures.empty());
  CHECK(result.ok == 400);
  CHECK(result.by_backend["a"] > 50);
  CHECK(result.by_backend["b"] > 50);
}

TEST_CASE("2 IO threads, 8 concurrent connections: every request answered, counters add up") {
  Fleet fleet;
  fleet.add("a");
  fleet.add("b");
  BalancerConfig config;
  config.threads = 2;
  auto targets = fleet.targets();
  targets.push_back({"refused", {"127.0.0.1", closed_port()}});  // free retries on both threads
  Balancer balancer(config);
  balancer.start();
  balancer.set_targets(targets);
  wait_routable(balancer);
  const auto before = balancer.stats();
  const auto served_before = fleet.requests();

  constexpr int kTotal = 1600;
  LoadResult result = run_load(balancer.port(), 8, kTotal);
  CHECK(result.failures.empty());
  CHECK(result.ok == kTotal);
  CHECK(result.by_backend["a"] + result.by_backend["b"] == kTotal);
  CHECK(result.by_backend["a"] > kTotal / 4);
  CHECK(result.by_backend["b"] > kTotal / 4);
  CHECK(fleet.requests() - served_before == static_cast<std::uint64_t>(kTotal));
  CHECK(balancer.stats().requests - before.requests == static_cast<std::uint64_t>(kTotal));

  // Sums over the two threads: each attempt counted once, each retry is one refused attempt.
  const auto stats = balancer.stats();
  const auto delta = [&](const char* id, auto field) {
    return stats.targets.at(id).*field - before.targets.at(id).*field;
  };
  const auto requests = &BalancerTargetStats::requests;
  CHECK(delta("a", requests) == static_cast<std::uint64_t>(result.by_backend["a"]));
  CHECK(delta("b", requests) == static_cast<std::uint64_t>(result.by_backend["b"]));
  CHECK(delta("refused", requests) == stats.retries - before.retries);
  CHECK(delta("refused", requests) > 0);
  CHECK(delta("a", &BalancerTargetStats::responses_2xx) +
            delta("b", &BalancerTargetStats::responses_2xx) ==
        static_cast<std::uint64_t>(kTotal));
  CHECK(stats.elb_502 == before.elb_502);
  CHECK(stats.elb_503 == before.elb_503);
  // A thread finishes its bookkeeping just after the last response is written.
  CHECK(eventually([&] {
    const auto s = balancer.stats();
    return s.targets.at("a").outstanding == 0 && s.targets.at("b").outstanding == 0;
  }));
}

TEST_CASE("a POST body, a large streamed body and a chunked response pass through intact") {
  Fleet fleet;
  fleet.add("a");
  const auto owned = start_routable(fleet);
  Balancer& balancer = *owned;
  TestClient client(balancer.port());

  for (const std::size_t size : {std::size_t{10}, std::size_t{20000}, std::size_t{300000}}) {
    CAPTURE(size);
    std::string body(size, 'x');
    for (std::size_t i = 0; i < size; ++i) body[i] = static_cast<char>('a' + i % 26);
    const auto r =
        client.raw("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: " + std::to_string(size) +
                   "\r\n\r\n" + body);
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->body == body);
  }

  const auto chunked_request = client.raw(
      "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n");
  REQUIRE(chunked_request);
  CHECK(chunked_request->body == "hello, world");

  const auto chunked_response = client.get("/chunked");
  REQUIRE(chunked_response);
  CHECK(chunked_response->header("transfer-encoding") == "chunked");
  CHECK(chunked_response->body == TestBackend::chunked_body());

  // Expect: 100-continue is answered by the balancer, then the body is forwarded.
  const auto expect = client.raw(
      "POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\nping");
  REQUIRE(expect);
  CHECK(expect->status == 200);
  CHECK(expect->body == "ping");
  CHECK(balancer.stats().new_connections == 2);  // wait_routable's, and this one
}

TEST_CASE("headers: X-Forwarded-* added, hop-by-hop fields removed") {
  Fleet fleet;
  fleet.add("a");
  const auto owned = start_routable(fleet);
  Balancer& balancer = *owned;
  TestClient client(balancer.port());

  const auto r = client.get("/", {{"X-Forwarded-For", "1.2.3.4"},
                                  {"Connection", "keep-alive, X-Hop"},
                                  {"X-Hop", "secret"},
                                  {"Keep-Alive", "timeout=5"}});
  REQUIRE(r);
  CHECK(r->header("x-seen-xff") == "1.2.3.4, 127.0.0.1");
  CHECK(r->header("x-seen-proto") == "http");
  CHECK(r->header("x-seen-xfh") == "test");  // the client's Host
  CHECK(r->header("x-seen-port") == std::to_string(balancer.port()));
  CHECK(r->header("x-seen-hop") == "no");
  CHECK(r->header("x-seen-keep-alive") == "no");
  CHECK(r->header("x-backend") == "a");
  CHECK(r->header("connection").empty());  // HTTP/1.1 keep-alive is the default

  const auto plain = client.get("/", {{"X-Other", "1"}});
  REQUIRE(plain);
  CHECK(plain->header("x-seen-xff") == "127.0.0.1");
}

TEST_CASE("Connection: close and HTTP/1.0 end the client connection") {
  Fleet fleet;
  fleet.add("a");
  const auto owned = start_routable(fleet);
  Balancer& balancer = *owned;

  {
    TestClient client(balancer.port());
    const auto r = client.get("/", {{"Connection", "close"}});
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->header("connection") == "close");
    CHECK(client.closed_by_peer());
  }
  {
    TestClient client(balancer.port());
    const auto r = client.raw("GET / HTTP/1.0\r\n\r\n");
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(client.closed_by_peer());
  }
  {
    TestClient client(balancer.port());
    const auto r = client.raw("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    REQUIRE(r);
    CHECK(r->header("connection") == "keep-alive");
    const auto again = client.raw("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    REQUIRE(again);
    CHECK(again->status == 200);
  }
}

TEST_CASE("ambiguous or malformed requests get 400 and the connection is closed") {
  Fleet fleet;
  fleet.add("a");
  const auto owned = start_routable(fleet);
  Balancer& balancer = *owned;
  const auto requests_before = fleet.backends[0]->requests();

  for (const std::string& raw :
       {std::string("POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "0\r\n\r\n"),
        std::string("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"
                    "0\r\n\r\n"),
        std::string("NOT HTTP AT ALL\r\n\r\n")}) {
    CAPTURE(raw);
    TestClient client(balancer.port());
    const auto r = client.raw(raw);
    REQUIRE(r);
    CHECK(r->status == 400);
    CHECK(client.closed_by_peer());
  }
  CHECK(fleet.backends[0]->requests() == requests_before);
  CHECK(balancer.stats().elb_400 == 3);
}

TEST_CASE("a pooled connection the target closed while idle is discarded, not used") {
  Fleet fleet;
  fleet.add("only");
  const auto owned = start_routable(fleet);
  Balancer& balancer = *owned;
  TestClient client(balancer.port());
  for (int i = 0; i < 3; ++i) {
    CAPTURE(i);
    fleet.backends[0]->close_connections();
    // With one target there is nowhere to retry: using the dead connection would be a 502.
    const auto r = client.get("/");
    REQUIRE(r);
    CHECK(r->status == 200);
  }
  CHECK(balancer.stats().retries == 0);
  CHECK(fleet.backends[0]->connections() == 4);
}

TEST_CASE("pipelined requests are answered in order") {
  Fleet fleet;
  fleet.add("a");
  const auto owned = start_routable(fleet);
  Balancer& balancer = *owned;
  TestClient client(balancer.port());
  const auto first = client.raw(
      "POST /echo HTTP/1.1\r\nContent-Length: 3\r\n\r\none"
      "POST /echo HTTP/1.1\r\nContent-Length: 3\r\n\r\ntwo");
  REQUIRE(first);
  CHECK(first->body == "one");
  const auto second = client.raw("");  // nothing more to send: read the next response
  REQUIRE(second);
  CHECK(second->body == "two");
}

TEST_CASE("stop() with open client connections and a request in flight returns promptly") {
  Fleet fleet;
  fleet.add("hang", TestBackend::Mode::kHang);
  auto balancer = std::make_unique<Balancer>(BalancerConfig{});
  balancer->start();
  balancer->set_targets(fleet.targets());
  TestClient idle(balancer->port());
  TestClient busy(balancer->port());
  REQUIRE(eventually([&] { return balancer->stats().active_connections == 2; }));
  std::thread request([&] { busy.get("/"); });
  REQUIRE(eventually([&] { return fleet.backends[0]->requests() == 1; }));
  balancer->stop();  // would hang here if a connection or pending operation kept a thread alive
  request.join();
  CHECK(idle.closed_by_peer(2s));
  CHECK(balancer->stats().active_connections == 0);
  balancer.reset();
}

TEST_CASE("an idle client connection is closed after client_idle_timeout") {
  BalancerConfig config;
  config.client_idle_timeout = 100ms;
  Balancer balancer(config);
  balancer.start();
  TestClient client(balancer.port());
  CHECK(client.closed_by_peer(5s));
  CHECK(eventually([&] { return balancer.stats().active_connections == 0; }));
}

TEST_CASE("no targets: 503 from the balancer, connection kept") {
  Balancer balancer(BalancerConfig{});
  balancer.start();
  TestClient client(balancer.port());
  for (int i = 0; i < 2; ++i) {
    const auto r = client.get("/");
    REQUIRE(r);
    CHECK(r->status == 503);
    CHECK(r->header("server") == "flotilla");
  }
  CHECK(balancer.stats().elb_503 == 2);
  CHECK(balancer.stats().new_connections == 1);
}

TEST_CASE("a refused target costs no error: the request is served by another") {
  Fleet fleet;
  fleet.add("good");
  std::vector<BalancerTarget> targets = {{"refused", {"127.0.0.1", closed_port()}}};
  targets.push_back({"good", fleet.backends[0]->endpoint()});
  Balancer balancer(BalancerConfig{});
  balancer.start();
  balancer.set_targets(targets);
  wait_routable(balancer);

  LoadResult result = run_load(balancer.port(), 1, 50);
  CHECK(result.failures.empty());
  CHECK(result.by_backend["good"] == 50);
  const auto stats = balancer.stats();
  CHECK(stats.target_connection_errors >= 20);
  CHECK(stats.retries >= 20);
  CHECK(stats.targets.at("refused").errors >= 20);
  CHECK(stats.elb_503 == 0);
}

TEST_CASE("every target refused: 503 that names no target") {
  Fleet fleet;
  const std::uint16_t p1 = closed_port();
  const std::uint16_t p2 = closed_port();
  BalancerConfig config;
  config.max_retries = 5;
  Balancer balancer(config);
  balancer.start();
  balancer.set_targets({{"x", {"127.0.0.1", p1}}, {"y", {"127.0.0.1", p2}}});
  REQUIRE(eventually([&] {
    TestClient client(balancer.port());
    const auto r = client.get("/");
    return r && balancer.stats().target_connection_errors > 0;
  }));
  TestClient client(balancer.port());
  const auto r = client.get("/");
  REQUIRE(r);
  CHECK(r->status == 503);
  CHECK(r->body.find(std::to_string(p1)) == std::string::npos);
  CHECK(r->body.find(std::to_string(p2)) == std::string::npos);
  CHECK_FALSE(mentions_address(*r, fleet));
  // Each target is tried once per request, however many retries are allowed.
  const auto stats = balancer.stats();
  CHECK(stats.targets.at("x").requests == stats.targets.at("y").requests);
}

TEST_CASE("a target that closes before answering: the request is retried on another") {
  Fleet fleet;
  fleet.add("swallow", TestBackend::Mode::kSwallow);
  fleet.add("good");
  const auto owned = start_routable(fleet);
  Balancer& balancer = *owned;

  LoadResult result = run_load(balancer.port(), 2, 100);
  CHECK(result.failures.empty());
  CHECK(result.by_backend["good"] == 100);
  CHECK(fleet.backends[0]->requests() >= 40);  // it did receive them, and closed
  CHECK(balancer.stats().retries >= 40);
  CHECK(balancer.stats().elb_502 == 0);
}

TEST_CASE("stopping a target under load costs the clients no error") {
  Fleet fleet;
  fleet.add("a");
  fleet.add("b");
  fleet.add("c");
  const auto owned = start_routable(fleet);
  Balancer& balancer = *owned;

  std::uint64_t b_at_stop = 0;
  LoadResult result = run_load(balancer.port(), 4, 600, [&](int completed) {
    if (completed == 150) {
      fleet.backends[1]->stop();
      b_at_stop = fleet.backends[1]->requests();
    }
  });
  const auto stats = balancer.stats();
  CAPTURE(stats.elb_502);
  CAPTURE(stats.elb_503);
  CAPTURE(stats.retry_budget_exhausted);
  CAPTURE(stats.retries);
  CHECK(result.failures.empty());
  CHECK(result.ok == 600);
  CHECK(b_at_stop > 0);
  CHECK(fleet.backends[1]->requests() == b_at_stop);
  CHECK(result.by_backend["a"] + result.by_backend["c"] > 450);
  CHECK(stats.target_connection_errors > 0);  // "b" is still in the set, refusing
  CHECK(stats.elb_502 + stats.elb_503 + stats.elb_504 == 0);
}

TEST_CASE("response timeout: 504, garbage response: 502, neither names the target") {
  Fleet fleet;
  fleet.add("hang", TestBackend::Mode::kHang);
  BalancerConfig config;
  config.response_timeout = 200ms;
  Balancer balancer(config);
  balancer.start();
  balancer.set_targets(fleet.targets());

  TestClient client(balancer.port());
  const auto r = client.get("/");
  REQUIRE(r);
  CHECK(r->status == 504);
  CHECK_FALSE(mentions_address(*r, fleet));
  CHECK(balancer.stats().elb_504 == 1);
  CHECK(balancer.stats().targets.at("hang").errors == 1);

  Fleet garbage;
  garbage.add("garbage", TestBackend::Mode::kGarbage);
  balancer.set_targets(garbage.targets());
  REQUIRE(eventually([&] {
    TestClient c(balancer.port());
    const auto g = c.get("/");
    return g && g->status == 502;
  }));
  CHECK(balancer.stats().elb_502 >= 1);
}

TEST_CASE("set_targets: a removed target gets no more requests") {
  Fleet fleet;
  fleet.add("a");
  fleet.add("b");
  const auto owned = start_routable(fleet);
  Balancer& balancer = *owned;
  balancer.set_targets({{"a", fleet.backends[0]->endpoint()}});
  // Applied asynchronously: wait until two requests in a row land on "a".
  REQUIRE(eventually([&] {
    TestClient client(balancer.port());
    const auto r1 = client.get("/");
    const auto r2 = client.get("/");
    return r1 && r2 && r1->header("x-backend") == "a" && r2->header("x-backend") == "a";
  }));
  const auto b_before = fleet.backends[1]->requests();
  LoadResult result = run_load(balancer.port(), 2, 100);
  CHECK(result.by_backend["a"] == 100);
  CHECK(fleet.backends[1]->requests() == b_before);
  CHECK(balancer.stats().targets.count("b") == 0);
}

TEST_CASE("start: a port in use is a user error that leaves nothing to stop, stop is idempotent") {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor taken(
      io, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  const auto port = taken.local_endpoint().port();
  BalancerConfig config;
  config.port = port;
  Balancer balancer(config);
  try {
    balancer.start();
    FAIL("expected UserError");
  } catch (const UserError& e) {
    CHECK(std::string(e.what()) ==
          "balancer: 127.0.0.1:" + std::to_string(port) + " is already in use");
  }
  // What serve's shutdown does after a start that threw: both return (they once waited forever
  // for an IO thread that never ran).
  balancer.stop_accepting();
  balancer.stop();

  Balancer ok(BalancerConfig{});
  ok.start();
  CHECK(ok.port() != 0);
  ok.stop();
  ok.stop();

  BalancerConfig bad;
  bad.algorithm = "fastest";
  CHECK_THROWS_AS(Balancer{bad}, UserError);
}

// ---- HTTP hygiene ----

TEST_CASE("every smuggling vector: refused with its status, connection closed, target untouched") {
  Fleet fleet;
  fleet.add("a");
  const auto owned = start_routable(fleet);
  Balancer& balancer = *owned;
  const auto before = fleet.requests();
  const auto stats_before = balancer.stats();

  for (const auto& row : refused_requests()) {
    CAPTURE(std::string(row.name));
    TestClient client(balancer.port());
    const auto r = client.raw(row.raw);
    REQUIRE(r);
    CHECK(r->status == row.status);
    CHECK(r->header("connection") == "close");
    CHECK(client.closed_by_peer());
    CHECK_FALSE(mentions_address(*r, fleet));
  }
  CHECK(fleet.requests() == before);
  const auto stats = balancer.stats();
  CHECK(stats.elb_400 - stats_before.elb_400 == refused_requests().size());
  CHECK(stats.elb_4xx - stats_before.elb_4xx == refused_requests().size());
  CHECK(stats.groups.at("default").requests == stats_before.groups.at("default").requests);
}

TEST_CASE("a request after a refused one on the same connection never reaches the target") {
  Fleet fleet;
  fleet.add("a");
  const auto owned = start_routable(fleet);
  Balancer& balancer = *owned;
  const auto before = fleet.requests();
  // The classic CL.TE shape: a proxy using Content-Length would forward "0\r\n\r\nGET /admin" as
  // body, a target using chunked would see a second request.
  TestClient client(balancer.port());
  const auto r = client.raw(
      "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 30\r\nTransfer-Encoding: chunked\r\n\r\n"
      "0\r\n\r\nGET /admin HTTP/1.1\r\n\r\n");
  REQUIRE(r);
  CHECK(r->status == 400);
  CHECK(client.closed_by_peer());
  CHECK(fleet.requests() == before);
}

TEST_CASE("limits: 431 for a large header, 413 for a large body, the target sees neither") {
  Fleet fleet;
  fleet.add("a");
  BalancerConfig config;
  config.max_header_bytes = 2048;
  config.max_body_bytes = 100;
  const auto owned = start_routable(fleet, config);
  Balancer& balancer = *owned;
  const auto before = fleet.requests();

  struct Row {
    const char* name;
    std::string raw;
    int status;
  };
  const std::vector<Row> rows = {
      {"header over the limit",
       "GET / HTTP/1.1\r\nHost: h\r\nX-Big: " + std::string(3000, 'x') + "\r\n\r\n", 431},
      {"Content-Length over the limit",
       "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 101\r\n\r\n" + std::string(101, 'x'),
       413},
      {"chunks passing the limit",
       "POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n" +
           std::string(64, 'x') + "\r\n40\r\n" + std::string(64, 'y') + "\r\n0\r\n\r\n",
       413},
  };
  for (const auto& row : rows) {
    CAPTURE(std::string(row.name));
    TestClient client(balancer.port());
    const auto r = client.raw(row.raw);
    REQUIRE(r);
    CHECK(r->status == row.status);
    CHECK(client.closed_by_peer());
  }
  CHECK(fleet.requests() == before);
  const auto stats = balancer.stats();
  CHECK(stats.elb_431 == 1);
  CHECK(stats.elb_413 == 2);

  // At the limits everything passes.
  TestClient client(balancer.port());
  const auto ok = client.raw("POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\n" +
                             std::string(100, 'z'));
  REQUIRE(ok);
  CHECK(ok->status == 200);
  CHECK(ok->body == std::string(100, 'z'));
}

TEST_CASE("limits: every default is the one the README's table of limits gives") {
  const BalancerConfig d;
  CHECK(d.connect_timeout == 1s);
  CHECK(d.response_timeout == 30s);
  CHECK(d.client_idle_timeout == 60s);
  CHECK(d.request_header_timeout == 10s);
  CHECK(d.max_header_bytes == 16 * 1024);
  CHECK(d.max_body_bytes == 0);
  CHECK(kAcceptPause == 100ms);
}

TEST_CASE("limits: a target's response header over 16 KiB is a 502, one under it passes") {
  Fleet fleet;
  fleet.add("a");
  const auto owned = start_routable(fleet);
  Balancer& balancer = *owned;
  struct Row {
    const char* name;
    int pad_bytes;
    int status;
  };
  // "under" stays within what the test client itself reads (8 KiB).
  const Row rows[] = {{"under", 4 * 1024, 200}, {"over", 16 * 1024, 502}};
  for (const Row& row : rows) {
    CAPTURE(std::string(row.name));
    TestClient client(balancer.port());
    const auto r = client.get("/big-header/" + std::to_string(row.pad_bytes));
    REQUIRE(r);
    CHECK(r->status == row.status);
  }
  CHECK(balancer.stats().elb_502 == 1);
}

TEST_CASE("slowloris: a header trickling in gets 408 and the connection is closed") {
  Fleet fleet;
  fleet.add("a");
  BalancerConfig config;
  config.request_header_timeout = 300ms;
  const auto owned = start_routable(fleet, config);
  Balancer& balancer = *owned;
  const auto before = fleet.requests();

  TestClient slow(balancer.port());
  const auto started = std::chrono::steady_clock::now();
  REQUIRE(slow.send("GET / HTTP/1.1\r\nHost: h\r\n"));
  // One more header line every 50 ms for up to 4 s: the bytes arriving must not extend the
  // deadline, so the 408 comes while the client is still sending.
  bool answered = false;
  for (int i = 0; i < 80 && !answered; ++i) {
    std::this_thread::sleep_for(50ms);  // pacing the slow client, not synchronisation
    slow.send("X-Slow-" + std::to_string(i) + ": 1\r\n");
    answered = balancer.stats().elb_408 == 1;
  }
  CHECK(answered);
  CHECK(std::chrono::steady_clock::now() - started < 2s);
  const auto r = slow.read(2s);
  REQUIRE(r);
  CHECK(r->status == 408);
  CHECK(r->header("connection") == "close");
  CHECK(slow.closed_by_peer());
  CHECK(fleet.requests() == before);

  // A fresh connection that sends nothing is closed without a response.
  TestClient silent(balancer.port());
  CHECK(silent.closed_by_peer(3s));
  CHECK(balancer.stats().elb_408 == 1);
}

TEST_CASE("a kept-alive connection may idle longer than request_header_timeout") {
  Fleet fleet;
  fleet.add("a");
  BalancerConfig config;
  config.request_header_timeout = 100ms;
  config.client_idle_timeout = 10s;
  const auto owned = start_routable(fleet, config);
  Balancer& balancer = *owned;
  TestClient client(balancer.port());
  REQUIRE(client.get("/"));
  // Well past the header timeout (the sweep runs every 50 ms here), then the next request.
  std::this_thread::sleep_for(400ms);  // the idle period under test, not synchronisation
  const auto r = client.get("/");
  REQUIRE(r);
  CHECK(r->status == 200);
}

TEST_CASE("upstream connect timeout: every target tried, then 503 that names none") {
  BlackHole hole1;
  BlackHole hole2;
  BalancerConfig config;
  config.connect_timeout = 100ms;
  Balancer balancer(config);
  balancer.start();
  balancer.set_targets({{"h1", hole1.endpoint()}, {"h2", hole2.endpoint()}});
  Fleet none;
  REQUIRE(eventually([&] {
    TestClient client(balancer.port());
    const auto r = client.get("/");
    return r && r->status == 503 && balancer.stats().target_connection_errors >= 2;
  }));
  const auto stats = balancer.stats();
  CHECK(stats.targets.at("h1").target_connection_errors >= 1);
  CHECK(stats.targets.at("h2").target_connection_errors >= 1);
  CHECK(stats.retries >= 1);
  CHECK(stats.groups.at("default").elb_503 >= 1);
  TestClient client(balancer.port());
  const auto r = client.get("/");
  REQUIRE(r);
  CHECK(r->status == 503);
  CHECK(r->body.find(std::to_string(hole1.port())) == std::string::npos);
  CHECK(r->body.find(std::to_string(hole2.port())) == std::string::npos);
  CHECK_FALSE(mentions_address(*r, none));
}

// ---- retries ----

TEST_CASE("a POST that reached a target is not retried, one whose connect failed is") {
  Fleet fleet;
  fleet.add("swallow", TestBackend::Mode::kSwallow);
  Balancer balancer(BalancerConfig{});
  balancer.start();
  Fleet good;
  good.add("good");
  balancer.set_targets({fleet.target(0), good.target(0)});
  wait_routable(balancer);

  // Round robin alternates: of 10 POSTs, those sent to "swallow" fail with 502 and are not
  // replayed on "good" (the swallowing target received them: replaying could apply them twice).
  const auto swallowed_before = fleet.backends[0]->requests();
  int status_200 = 0;
  int status_502 = 0;
  for (int i = 0; i < 10; ++i) {
    TestClient client(balancer.port());
    const auto r = client.raw("POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nhi");
    REQUIRE(r);
    if (r->status == 200) ++status_200;
    if (r->status == 502) ++status_502;
  }
  CHECK(status_200 + status_502 == 10);
  CHECK(status_502 >= 4);
  CHECK(fleet.backends[0]->requests() - swallowed_before == static_cast<std::uint64_t>(status_502));

  // A refused connect means the target got nothing: the POST goes to another target.
  balancer.set_targets({{"refused", {"127.0.0.1", closed_port()}}, good.target(0)});
  REQUIRE(eventually([&] {
    TestClient client(balancer.port());
    client.get("/");
    const auto stats = balancer.stats();
    return stats.targets.count("refused") == 1 && stats.targets.at("refused").requests > 0;
  }));
  const auto before = balancer.stats();
  for (int i = 0; i < 10; ++i) {
    TestClient client(balancer.port());
    const auto r = client.raw("POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nhi");
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->body == "hi");
  }
  CHECK(balancer.stats().retries - before.retries >= 4);
}

TEST_CASE("retry budget: no retries when the budget allows none, counted as exhausted") {
  Fleet fleet;
  fleet.add("swallow", TestBackend::Mode::kSwallow);
  fleet.add("good");
  BalancerConfig config;
  config.retry_budget_percent = 0;
  config.retry_budget_min_concurrency = 0;
  const auto owned = start_routable(fleet, config);
  Balancer& balancer = *owned;
  const auto before = balancer.stats();

  int status_502 = 0;
  for (int i = 0; i < 10; ++i) {
    TestClient client(balancer.port());
    const auto r = client.get("/");
    REQUIRE(r);
    if (r->status == 502) ++status_502;
  }
  CHECK(status_502 >= 4);
  const auto stats = balancer.stats();
  CHECK(stats.retries == before.retries);
  CHECK(stats.retry_budget_exhausted - before.retry_budget_exhausted ==
        static_cast<std::uint64_t>(status_502));

  // A failed connect is retried whatever the budget: no target received the request.
  balancer.set_targets({{"refused", {"127.0.0.1", closed_port()}}, fleet.target(1)});
  REQUIRE(eventually([&] {
    TestClient client(balancer.port());
    client.get("/");
    const auto s = balancer.stats();
    return s.targets.count("refused") == 1 && s.targets.at("refused").requests > 0;
  }));
  LoadResult result = run_load(balancer.port(), 1, 20);
  CHECK(result.failures.empty());
  CHECK(balancer.stats().retries > stats.retries);
}

TEST_CASE("a response cut off after its first bytes reached the client is not retried") {
  Fleet fleet;
  fleet.add("half", TestBackend::Mode::kHalfThenReset);
  TestBackend& half = *fleet.backends[0];
  TestBackend& good = fleet.add("good");
  BalancerConfig config;
  config.algorithm = "weighted_round_robin";
  Balancer balancer(config);
  balancer.start();
  balancer.set_targets({fleet.target(1)});
  wait_routable(balancer);
  // "half" takes every first attempt (999:1); a retry could only go to "good".
  balancer.set_targets({fleet.target(0, 999), fleet.target(1, 1)});
  std::unique_ptr<TestClient> client;
  REQUIRE(eventually([&] {
    // Until the IO thread switched to the new set, "good" answers.
    const auto good_before = good.requests();
    client = std::make_unique<TestClient>(balancer.port());
    REQUIRE(client->send("GET / HTTP/1.1\r\nHost: h\r\n\r\n"));
    REQUIRE(eventually([&] { return half.held() == 1 || good.requests() > good_before; }));
    return half.held() == 1;
  }));
  const auto good_before = good.requests();
  const auto before = balancer.stats();

  // The head and half the body reach the client before the target resets.
  std::string seen;
  while (seen.find(TestBackend::kHalfResponseBody) == std::string::npos) {
    const auto bytes = client->read_some();
    REQUIRE(bytes);
    REQUIRE_FALSE(bytes->empty());
    seen += *bytes;
  }
  CHECK(seen.rfind("HTTP/1.1 200", 0) == 0);
  half.release_held();

  // Nothing more can be said to the client but closing: no 502 after the 200's first bytes,
  // and no second attempt on "good".
  CHECK(client->closed_by_peer());
  REQUIRE(eventually([&] {
    return balancer.stats().targets.at("half").errors > before.targets.at("half").errors;
  }));
  const auto stats = balancer.stats();
  CHECK(good.requests() == good_before);
  CHECK(stats.retries == before.retries);
  CHECK(stats.retry_budget_exhausted == before.retry_budget_exhausted);
  CHECK(stats.elb_502 == before.elb_502);
  CHECK(half.requests() == 1);
}

TEST_CASE("retry budget at its default (50%, at least 3): concurrent retries are bounded") {
  Fleet fleet;
  TestBackend& swallow = fleet.add("swallow", TestBackend::Mode::kSwallow);
  TestBackend& good = fleet.add("good");
  BalancerConfig config;  // one IO thread: one budget
  config.algorithm = "weighted_round_robin";
  REQUIRE(config.retry_budget_percent == 50.0);
  REQUIRE(config.retry_budget_min_concurrency == 3);
  Balancer balancer(config);
  balancer.start();
  balancer.set_targets({fleet.target(1)});
  wait_routable(balancer);
  // Every first attempt goes to "swallow" (999:1), whose dead connection wants a retry, which
  // takes a budget slot (a retry after a refused connect would be free) and is held on "good",
  // so that the slots stay taken while the rest of the requests fail.
  balancer.set_targets({fleet.target(0, 999), fleet.target(1, 1)});
  REQUIRE(eventually([&] {
    TestClient probe(balancer.port());
    probe.get("/");
    return swallow.requests() > 0;
  }));
  const auto before = balancer.stats();
  const auto swallowed_before = swallow.requests();
  const auto good_before = good.requests();

  constexpr int kClients = 20;
  std::vector<std::unique_ptr<TestClient>> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(std::make_unique<TestClient>(balancer.port()));
    REQUIRE(clients.back()->send("GET /held HTTP/1.1\r\nHost: h\r\n\r\n"));
  }
  // Each request ends up held on "good" (retried, or a rare first attempt there) or refused a
  // retry by the budget (answered 502 at once).
  REQUIRE(eventually([&] {
    const auto s = balancer.stats();
    return good.held() + (s.retry_budget_exhausted - before.retry_budget_exhausted) ==
           static_cast<std::uint64_t>(kClients);
  }));
  const auto held = good.held();
  good.release_held();
  int status_200 = 0;
  int status_502 = 0;
  for (auto& client : clients) {
    const auto r = client->read();
    REQUIRE(r);
    if (r->status == 200) ++status_200;
    if (r->status == 502) ++status_502;
  }
  const auto stats = balancer.stats();
  const auto retries = stats.retries - before.retries;
  const auto exhausted = stats.retry_budget_exhausted - before.retry_budget_exhausted;
  const auto swallowed = swallow.requests() - swallowed_before;
  CAPTURE(retries);
  CAPTURE(exhausted);
  CHECK(status_200 + status_502 == kClients);
  CHECK(static_cast<std::uint64_t>(status_200) == held);
  CHECK(static_cast<std::uint64_t>(status_502) == exhausted);
  // Every request "swallow" dropped was either retried on "good" or refused by the budget.
  CHECK(retries + exhausted == swallowed);
  CHECK(good.requests() - good_before == held);
  // The bound: retries in progress at most 50% of the requests in progress (at most kClients),
  // and never fewer than 3 allowed.
  CHECK(retries <= kClients / 2);
  CHECK(retries >= 3);
}

TEST_CASE("max_retries 0: a refused target is not retried") {
  BalancerConfig config;
  config.max_retries = 0;
  Fleet fleet;
  fleet.add("good");
  Balancer balancer(config);
  balancer.start();
  balancer.set_targets({{"refused", {"127.0.0.1", closed_port()}}, fleet.target(0)});
  wait_routable(balancer);
  LoadResult result = run_load(balancer.port(), 1, 20);
  CHECK(result.ok >= 8);
  CHECK(result.failures.size() >= 8);  // every other request: 503
  CHECK(balancer.stats().retries == 0);
}

TEST_CASE("retries are counted on the target whose failed attempt was tried again elsewhere") {
  Fleet fleet;
  fleet.add("swallow", TestBackend::Mode::kSwallow);
  fleet.add("good");
  Balancer balancer(BalancerConfig{});
  balancer.start();
  balancer.set_targets(
      {{"refused", {"127.0.0.1", closed_port()}}, fleet.target(0), fleet.target(1)});
  wait_routable(balancer);

  LoadResult result = run_load(balancer.port(), 1, 60);
  CHECK(result.failures.empty());
  const auto stats = balancer.stats();
  const auto& refused = stats.targets.at("refused");
  const auto& swallow = stats.targets.at("swallow");
  const auto& good = stats.targets.at("good");
  // Every failed attempt found another target: each one is a retry of its own target.
  CHECK(refused.retries >= 10);
  CHECK(refused.retries == refused.target_connection_errors);
  CHECK(swallow.retries >= 10);
  CHECK(swallow.retries == swallow.errors);
  CHECK(good.retries == 0);
  CHECK(refused.retries + swallow.retries == stats.retries);
  CHECK(stats.groups.at("default").targets.at("refused").retries == refused.retries);
}

TEST_CASE("retries per target: the last failed attempt of a request that failed is no retry") {
  BalancerConfig config;
  config.max_retries = 5;
  Balancer balancer(config);
  balancer.start();
  balancer.set_targets({{"x", {"127.0.0.1", closed_port()}}, {"y", {"127.0.0.1", closed_port()}}});
  REQUIRE(eventually([&] {
    TestClient client(balancer.port());
    const auto r = client.get("/");
    return r && r->status == 503 && balancer.stats().target_connection_errors >= 2;
  }));
  const auto stats = balancer.stats();
  const auto& x = stats.targets.at("x");
  const auto& y = stats.targets.at("y");
  // Each 503 tried both targets: one retry (of the first), then nothing left to try.
  CHECK(x.retries + y.retries == stats.retries);
  CHECK(x.requests + y.requests == stats.retries + stats.elb_503);
}

// ---- graceful stop ----

TEST_CASE("stop_accepting: the request in flight gets its 200 with Connection: close") {
  Fleet fleet;
  TestBackend& backend = fleet.add("a");
  BalancerConfig config;
  config.threads = 2;  // the idle and the busy connection land on different IO threads
  const auto owned = start_routable(fleet, config);
  Balancer& balancer = *owned;

  TestClient idle(balancer.port());
  const auto first = idle.get("/");
  REQUIRE(first);
  CHECK(first->header("connection").empty());  // kept alive
  TestClient busy(balancer.port());
  REQUIRE(busy.send("GET /held HTTP/1.1\r\nHost: t\r\n\r\n"));
  REQUIRE(eventually([&] { return backend.held() == 1; }));

  balancer.stop_accepting();
  CHECK(connect_refused(balancer.port()));
  CHECK(idle.closed_by_peer());
  CHECK(eventually([&] { return balancer.stats().active_connections == 1; }));

  backend.release_held();
  const auto r = busy.read();
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->body == "a");
  CHECK(r->header("connection") == "close");
  CHECK(busy.closed_by_peer());
  CHECK(eventually([&] { return balancer.stats().active_connections == 0; }));
  balancer.stop();
}

TEST_CASE("stop_accepting: a connection that has sent nothing yet is still served, then closed") {
  Fleet fleet;
  fleet.add("a");
  const auto owned = start_routable(fleet);
  Balancer& balancer = *owned;

  const auto before = balancer.stats().new_connections;
  TestClient early(balancer.port());  // connected before the listener closed
  // Accepted: one still in the kernel's accept queue is reset when the listener closes.
  REQUIRE(eventually([&] { return balancer.stats().new_connections == before + 1; }));
  balancer.stop_accepting();
  CHECK(connect_refused(balancer.port()));
  const auto r = early.get("/");
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->header("connection") == "close");
  CHECK(early.closed_by_peer());
  CHECK(eventually([&] { return balancer.stats().active_connections == 0; }));
}

// ---- counters ----

TEST_CASE("counters per target and group: response classes, response time, failure streaks") {
  Fleet fleet;
  fleet.add("a");
  const auto owned = start_routable(fleet);
  Balancer& balancer = *owned;
  const auto before = balancer.stats();
  TestClient client(balancer.port());
  for (const char* path : {"/", "/status/404", "/status/500", "/status/503"}) {
    const auto r = client.get(path);
    REQUIRE(r);
  }
  REQUIRE(eventually([&] { return balancer.stats().targets.at("a").outstanding == 0; }));
  auto stats = balancer.stats();
  const auto& a = stats.targets.at("a");
  const auto& a_before = before.targets.at("a");
  CHECK(a.responses_2xx - a_before.responses_2xx == 1);
  CHECK(a.responses_4xx - a_before.responses_4xx == 1);
  CHECK(a.responses_5xx - a_before.responses_5xx == 2);
  CHECK(a.consecutive_failures == 2);  // 500 and 503 in a row
  CHECK(a.response_time_count - a_before.response_time_count == 4);
  CHECK(a.response_time_sum > a_before.response_time_sum);
  const auto& group = stats.groups.at("default");
  CHECK(group.targets.at("a").requests == a.requests);
  CHECK(group.responses_5xx == 2);
  CHECK(group.target_response_time.count() == a.response_time_count);
  CHECK(stats.target_response_time.count() == group.target_response_time.count());
  CHECK(stats.responses_5xx == 2);
  CHECK(stats.elb_5xx == 0);  // the 5xx came from the target

  REQUIRE(client.get("/status/204"));
  REQUIRE(eventually([&] { return balancer.stats().targets.at("a").consecutive_failures == 0; }));
}

TEST_CASE("consecutive_failures counts connect errors and resets on success") {
  Fleet fleet;
  fleet.add("good");
  const std::uint16_t refused = closed_port();
  BalancerConfig config;
  config.algorithm = "round_robin";
  Balancer balancer(config);
  balancer.start();
  balancer.set_targets({{"refused", {"127.0.0.1", refused}}, fleet.target(0)});
  wait_routable(balancer);
  LoadResult result = run_load(balancer.port(), 1, 20);
  CHECK(result.failures.empty());
  const auto stats = balancer.stats();
  CHECK(stats.targets.at("refused").consecutive_failures >= 8);
  CHECK(stats.targets.at("good").consecutive_failures == 0);
}

namespace {

// On one keep-alive connection: `failures` answers of 500 from the target, then a 200.
void run_of(TestClient& client, int failures) {
  for (int i = 0; i < failures; ++i) {
    const auto r = client.get("/status/500");
    REQUIRE(r);
    REQUIRE(r->status == 500);
  }
  const auto r = client.get("/");
  REQUIRE(r);
  REQUIRE(r->status == 200);
}

// `rounds` x (a run of `failures` on `one`, then one on `two`).
void runs_of(TestClient& one, TestClient& two, int rounds, int failures) {
  for (int i = 0; i < rounds; ++i) {
    run_of(one, failures);
    run_of(two, failures);
  }
}

}  // namespace

TEST_CASE("failure streaks: runs of failure_streak failures count on each IO thread") {
  Fleet fleet;
  fleet.add("a");
  BalancerConfig config;
  config.threads = 2;
  Balancer balancer(config);
  balancer.start();
  BalancerTarget a = fleet.target(0);
  a.failure_streak = 5;
  balancer.set_targets({a});
  wait_routable(balancer);
  // Two connections: on one IO thread or on two, each run is counted where it happened.
  TestClient one(balancer.port());
  TestClient two(balancer.port());
  runs_of(one, two, 3, 4);
  CHECK(balancer.target_load("a").failure_streaks == 0);
  runs_of(one, two, 2, 5);
  // The response is counted before it is written, but read from another thread.
  CHECK(eventually([&] { return balancer.target_load("a").failure_streaks == 4; }));
  CHECK(balancer.target_load("a").consecutive_failures == 0);
  for (int i = 0; i < 10; ++i) REQUIRE(one.get("/status/503"));
  CHECK(eventually([&] { return balancer.target_load("a").failure_streaks == 6; }));
  CHECK(balancer.target_load("a").consecutive_failures == 10);
  CHECK(balancer.target_load("a").failure_streaks == 6);  // reading changed nothing

  a.failure_streak = 0;  // the same target: only the streak length changes
  balancer.set_targets({a});
  wait_routable(balancer);
  runs_of(one, two, 1, 5);
  CHECK(balancer.target_load("a").failure_streaks == 6);
}

TEST_CASE("outlier detection over the balancer: streaks a success ended before the poll eject") {
  Fleet fleet;
  fleet.add("a");
  BalancerConfig listener;
  listener.threads = 2;
  Balancer balancer(listener);
  balancer.start();
  // Health checks pass at once; polls happen when the test moves virtual time on.
  VirtualScheduler scheduler;
  TargetGroupConfig config;
  config.fail_open = false;  // the only target ejected: the balancer answers 503
  TargetGroup group(
      scheduler,
      [](const Endpoint&, const std::string&, Duration, std::function<void(HttpGetResult)> done) {
        HttpGetResult r;
        r.ok = true;
        r.status = 200;
        done(r);
      },
      config);
  TargetGroup::Callbacks callbacks;
  callbacks.publish = [&](std::vector<BalancerTarget> targets) {
    balancer.set_targets(std::move(targets));
  };
  group.set_callbacks(callbacks);
  group.set_load_source([&](const std::string& id) { return balancer.target_load(id); });
  group.register_target("a", fleet.backends[0]->endpoint());
  scheduler.run_for(1500ms);
  REQUIRE(group.counts().healthy == 1);
  wait_routable(balancer);

  TestClient one(balancer.port());
  TestClient two(balancer.port());
  runs_of(one, two, 3, 4);
  scheduler.run_for(config.load_poll_interval);
  CHECK_FALSE(group.target("a")->ejected);

  runs_of(one, two, 3, 5);
  REQUIRE(eventually([&] { return balancer.target_load("a").failure_streaks == 6; }));
  CHECK(balancer.target_load("a").consecutive_failures == 0);  // each run ended in a success
  scheduler.run_for(config.load_poll_interval);
  CHECK(group.target("a")->ejected);
  CHECK(eventually([&] {
    const auto r = TestClient(balancer.port()).get("/");
    return r && r->status == 503;
  }));
}

TEST_CASE("a target with weight 0 gets no new requests") {
  Fleet fleet;
  fleet.add("a");
  fleet.add("b");
  BalancerConfig config;
  config.algorithm = "least_outstanding_requests";
  Balancer balancer(config);
  balancer.start();
  balancer.set_targets({fleet.target(0), fleet.target(1, 0)});
  wait_routable(balancer);
  LoadResult result = run_load(balancer.port(), 2, 100);
  CHECK(result.ok == 100);
  CHECK(result.by_backend["a"] == 100);
  CHECK(fleet.backends[1]->requests() == 0);
}

// ---- routing ----

namespace {

BalancerConfig routed_config() {
  BalancerConfig config;
  config.target_groups = {
      {"api", "least_outstanding_requests"}, {"blue", "round_robin"}, {"green", "round_robin"}};
  auto& rules = config.routing.rules;
  rules.push_back({10,
                   {{ConditionField::kPathPattern, "", {"/api/*"}}},
                   {RuleAction::Type::kForward, {{"api", 1}}, {}}});
  rules.push_back({5,
                   {{ConditionField::kHttpHeader, "X-Canary", {"on"}},
                    {ConditionField::kHttpRequestMethod, "", {"GET"}}},
                   {RuleAction::Type::kForward, {{"green", 1}}, {}}});
  rules.push_back({20,
                   {{ConditionField::kHostHeader, "", {"*.example.com"}}},
                   {RuleAction::Type::kForward, {{"blue", 3}, {"green", 1}}, {}}});
  rules.push_back(
      {30,
       {{ConditionField::kPathPattern, "", {"/maintenance", "/down/*"}}},
       {RuleAction::Type::kFixedResponse, {}, {503, "application/json", "{\"down\":1}"}}});
  config.routing.default_action.type = RuleAction::Type::kFixedResponse;
  config.routing.default_action.fixed_response = {404, "text/plain", "no route"};
  return config;
}

}  // namespace

TEST_CASE("routing: rules by priority to named groups, fixed responses, a default action") {
  Fleet def, api, blue, green;
  def.add("def");
  api.add("api1");
  api.add("api2");
  blue.add("blue");
  green.add("green");
  Balancer balancer(routed_config());
  CHECK(balancer.target_group_names() ==
        std::vector<std::string>{"default", "api", "blue", "green"});
  balancer.start();
  balancer.set_targets(def.targets());
  balancer.set_target_group("api", api.targets());
  balancer.set_target_group("blue", blue.targets());
  balancer.set_target_group("green", green.targets());
  REQUIRE(eventually([&] {
    TestClient client(balancer.port());
    const auto r = client.raw("GET / HTTP/1.1\r\nHost: x.example.com\r\n\r\n");
    const auto g = client.raw("GET / HTTP/1.1\r\nHost: h\r\nX-Canary: on\r\n\r\n");
    const auto a = client.get("/api/x");
    return r && g && a && r->status == 200 && g->status == 200 && a->status == 200;
  }));

  struct Row {
    const char* name;
    std::string raw;
    int status;
    std::string backend;  // X-Backend, or the body of a fixed response
  };
  const std::vector<Row> rows = {
      {"path to api", "GET /api/users HTTP/1.1\r\nHost: h\r\n\r\n", 200, "api"},
      {"query is not part of the path", "GET /api/u?x=/other HTTP/1.1\r\nHost: h\r\n\r\n", 200,
       "api"},
      {"header and method: priority 5 beats the path rule",
       "GET /api/users HTTP/1.1\r\nHost: h\r\nx-canary: ON\r\n\r\n", 200, "green"},
      {"header, but POST: the path rule",
       "POST /api/users HTTP/1.1\r\nHost: h\r\nX-Canary: on\r\nContent-Length: 0\r\n\r\n", 200,
       "api"},
      {"fixed response", "GET /maintenance HTTP/1.1\r\nHost: h\r\n\r\n", 503, "{\"down\":1}"},
      {"fixed response, second value", "GET /down/x HTTP/1.1\r\nHost: h\r\n\r\n", 503,
       "{\"down\":1}"},
      {"no rule: the default action", "GET /other HTTP/1.1\r\nHost: h\r\n\r\n", 404, "no route"},
      {"absolute-form target: its authority is the host",
       "GET http://www.example.com/x HTTP/1.1\r\nHost: h\r\n\r\n", 200, "blue|green"},
  };
  for (const auto& row : rows) {
    CAPTURE(std::string(row.name));
    TestClient client(balancer.port());
    const auto r = client.raw(row.raw);
    REQUIRE(r);
    CHECK(r->status == row.status);
    if (r->status == 200) {
      const std::string backend = r->header("x-backend");
      CHECK(row.backend.find(backend.substr(0, 3)) != std::string::npos);
    } else {
      CHECK(r->body == row.backend);
      CHECK(r->header("connection") == "keep-alive");  // a fixed response keeps the connection
      const auto again = client.raw(row.raw);
      REQUIRE(again);
      CHECK(again->status == row.status);
    }
  }
  const auto stats = balancer.stats();
  CHECK(stats.groups.at("api").requests >= 3);
  CHECK(stats.groups.at("default").requests == 0);
  CHECK(def.backends[0]->requests() == 0);
  CHECK(stats.elb_4xx >= 2);
  CHECK(stats.elb_5xx >= 4);
  CHECK(stats.elb_503 == 0);  // fixed responses are not "no target" errors
}

TEST_CASE("routing: a weighted forward splits requests by weight") {
  Fleet def, blue, green;
  def.add("def");
  blue.add("blue");
  green.add("green");
  Balancer balancer(routed_config());
  balancer.start();
  balancer.set_target_group("blue", blue.targets());
  balancer.set_target_group("green", green.targets());
  REQUIRE(eventually([&] {
    TestClient client(balancer.port());
    const auto b = client.raw("GET / HTTP/1.1\r\nHost: a.example.com\r\n\r\n");
    return b && b->status == 200;
  }));
  const auto blue_before = blue.backends[0]->requests();
  const auto green_before = green.backends[0]->requests();
  TestClient client(balancer.port());
  for (int i = 0; i < 400; ++i) {
    const auto r = client.raw("GET / HTTP/1.1\r\nHost: a.example.com\r\n\r\n");
    REQUIRE(r);
    REQUIRE(r->status == 200);
  }
  const auto to_blue = blue.backends[0]->requests() - blue_before;
  const auto to_green = green.backends[0]->requests() - green_before;
  CHECK(to_blue + to_green == 400);
  // Weights 3:1, so 300:100 on average; a seeded draw of 400 stays well within 240..360.
  CHECK(to_blue > 240);
  CHECK(to_blue < 360);
}

TEST_CASE("routing config errors: unknown groups, duplicate groups, unknown group to set") {
  BalancerConfig unknown;
  unknown.routing.default_action.forward = {{"nowhere", 1}};
  CHECK_THROWS_AS(Balancer{unknown}, UserError);

  BalancerConfig twice;
  twice.target_groups = {{"api"}, {"api"}};
  CHECK_THROWS_AS(Balancer{twice}, UserError);

  BalancerConfig bad_algorithm;
  bad_algorithm.target_groups = {{"api", "fastest"}};
  CHECK_THROWS_AS(Balancer{bad_algorithm}, UserError);

  Balancer balancer(BalancerConfig{});
  CHECK_THROWS_AS(balancer.set_target_group("api", {}), UserError);
}

TEST_CASE("a request header and body arriving in several pieces are forwarded whole") {
  Fleet fleet;
  fleet.add("a");
  const auto owned = start_routable(fleet);
  Balancer& balancer = *owned;
  TestClient client(balancer.port());
  const std::vector<std::string> pieces = {
      "POST /echo HTTP/1.1\r\nHo", "st: h\r\nContent-Le", "ngth: 5\r\n", "\r", "\nhel", "lo"};
  for (const auto& piece : pieces) {
    REQUIRE(client.send(piece));
    std::this_thread::sleep_for(20ms);  // pacing: separate reads on the balancer's side
  }
  const auto r = client.read();
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->body == "hello");
}

TEST_CASE("a removed target is reported while a request is in flight to it, then dropped") {
  Fleet fleet;
  fleet.add("a");
  fleet.add("hang", TestBackend::Mode::kHang);
  Balancer balancer(BalancerConfig{});
  balancer.start();
  balancer.set_targets({fleet.target(1)});
  TestClient stuck(balancer.port());
  REQUIRE(stuck.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n"));
  REQUIRE(eventually([&] { return balancer.target_load("hang").outstanding == 1; }));

  balancer.set_targets({fleet.target(0)});
  wait_routable(balancer);  // the IO thread routes by the new set
  const auto during = balancer.stats();
  REQUIRE(during.targets.count("hang") == 1);
  CHECK(during.targets.at("hang").outstanding == 1);
  CHECK(during.groups.at("default").targets.count("hang") == 1);
  CHECK(balancer.stats().targets.count("hang") == 1);  // reading changed nothing
  CHECK(balancer.target_load("hang").outstanding == 1);
  CHECK(eventually([&] { return balancer.target_load("a") == TargetLoad{}; }));
  CHECK(balancer.target_load("unknown") == TargetLoad{});

  // The target dies holding the request: retried on "a".
  fleet.backends[1]->stop();
  const auto r = stuck.read();
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->header("x-backend") == "a");
  CHECK(eventually([&] { return balancer.target_load("hang") == TargetLoad{}; }));
  CHECK(balancer.stats().targets.count("hang") == 0);

  // The next set change frees its counters: added back, it starts from zero.
  balancer.set_targets({fleet.target(0)});
  balancer.set_targets({fleet.target(0), fleet.target(1)});
  const auto after = balancer.stats();
  REQUIRE(after.targets.count("hang") == 1);
  CHECK(after.targets.at("hang").requests == 0);
  CHECK(after.targets.at("hang").errors == 0);
}

// ---- out of file descriptors ----

TEST_CASE("out of file descriptors, the listener pauses accepting, counts it and then recovers") {
  Fleet fleet;
  fleet.add("a");
  const auto owned = start_routable(fleet);
  Balancer& balancer = *owned;
  const auto pauses_before = balancer.stats().accept_pauses;

  const auto starved = test::accept_without_descriptors(
      balancer.port(), "GET / HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n", 600ms);
  REQUIRE(starved.exhausted);
  // Retrying the accept at once would keep an IO thread busy: even on a shared machine a
  // busy loop gets far more than 5% of a core, and the pauses cost a few milliseconds.
  CHECK(starved.cpu < starved.wall / 20);
  const auto pauses = balancer.stats().accept_pauses - pauses_before;
  const auto most = static_cast<std::uint64_t>(starved.wall / kAcceptPause) + 2;
  CHECK(pauses >= 3);
  CHECK(pauses <= most);
  // With descriptors again, the waiting connection is accepted and served.
  CHECK(starved.response.starts_with("HTTP/1.1 200"));
  CHECK(fleet.requests() >= 2);  // wait_routable's and this one
}
