#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "balancer/balancer.h"
#include "core/errors.h"
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
};

// set_targets() is applied by the IO threads asynchronously; a request shows when it landed.
void wait_routable(Balancer& balancer) {
  REQUIRE(eventually([&] {
    TestClient client(balancer.port());
    const auto r = client.get("/");
    return r && r->status == 200;
  }));
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
  Balancer balancer(BalancerConfig{});
  balancer.start();
  balancer.set_targets(fleet.targets());
  wait_routable(balancer);
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
  Balancer balancer(config);
  balancer.start();
  balancer.set_targets(fleet.targets());
  wait_routable(balancer);

  LoadResult result = run_load(balancer.port(), 4, 400);
  CHECK(result.failures.empty());
  CHECK(result.ok == 400);
  CHECK(result.by_backend["a"] > 50);
  CHECK(result.by_backend["b"] > 50);
}

TEST_CASE("a POST body, a large streamed body and a chunked response pass through intact") {
  Fleet fleet;
  fleet.add("a");
  Balancer balancer(BalancerConfig{});
  balancer.start();
  balancer.set_targets(fleet.targets());
  wait_routable(balancer);
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
  Balancer balancer(BalancerConfig{});
  balancer.start();
  balancer.set_targets(fleet.targets());
  wait_routable(balancer);
  TestClient client(balancer.port());

  const auto r = client.get("/", {{"X-Forwarded-For", "1.2.3.4"},
                                  {"Connection", "keep-alive, X-Hop"},
                                  {"X-Hop", "secret"},
                                  {"Keep-Alive", "timeout=5"}});
  REQUIRE(r);
  CHECK(r->header("x-seen-xff") == "1.2.3.4, 127.0.0.1");
  CHECK(r->header("x-seen-proto") == "http");
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
  Balancer balancer(BalancerConfig{});
  balancer.start();
  balancer.set_targets(fleet.targets());
  wait_routable(balancer);

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
  Balancer balancer(BalancerConfig{});
  balancer.start();
  balancer.set_targets(fleet.targets());
  wait_routable(balancer);
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
  Balancer balancer(BalancerConfig{});
  balancer.start();
  balancer.set_targets(fleet.targets());
  wait_routable(balancer);
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
  Balancer balancer(BalancerConfig{});
  balancer.start();
  balancer.set_targets(fleet.targets());
  wait_routable(balancer);
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
  Balancer balancer(BalancerConfig{});
  balancer.start();
  balancer.set_targets(fleet.targets());
  wait_routable(balancer);

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
  Balancer balancer(BalancerConfig{});
  balancer.start();
  balancer.set_targets(fleet.targets());
  wait_routable(balancer);

  std::uint64_t b_at_stop = 0;
  LoadResult result = run_load(balancer.port(), 4, 600, [&](int completed) {
    if (completed == 150) {
      fleet.backends[1]->stop();
      b_at_stop = fleet.backends[1]->requests();
    }
  });
  CHECK(result.failures.empty());
  CHECK(result.ok == 600);
  CHECK(b_at_stop > 0);
  CHECK(fleet.backends[1]->requests() == b_at_stop);
  CHECK(result.by_backend["a"] + result.by_backend["c"] > 450);
  const auto stats = balancer.stats();
  CHECK(stats.target_connection_errors > 0);  // "b" is still in the set, refusing
  CHECK(stats.elb_502 + stats.elb_503 + stats.elb_504 == 0);
}

TEST_CASE("response timeout: 504; garbage response: 502; neither names the target") {
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
  Balancer balancer(BalancerConfig{});
  balancer.start();
  balancer.set_targets(fleet.targets());
  wait_routable(balancer);
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

TEST_CASE("start: a port in use is a user error; stop is idempotent") {
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

  Balancer ok(BalancerConfig{});
  ok.start();
  CHECK(ok.port() != 0);
  ok.stop();
  ok.stop();

  BalancerConfig bad;
  bad.algorithm = "fastest";
  CHECK_THROWS_AS(Balancer{bad}, UserError);
}
