// The live path a scenario's traffic takes, in one process: the load generator, the balancer and
// a worker server on loopback. Every method of a request mix, with and without a body, reaches
// the worker through the balancer and is answered, on kept-alive connections or one per request.
#include <doctest/doctest.h>

#include "balancer/balancer.h"
#include "scenario/load_generator.h"
#include "worker/server.h"

namespace flotilla {
namespace {

WorkerProfile quick_profile() {
  WorkerProfile p;
  p.name = "quick";
  p.capacity = 16;
  p.service_time = ServiceTime{ServiceDistribution::kConstant, std::chrono::milliseconds(1), {}};
  p.queue_limit = 100;
  p.boot_time = Duration::zero();
  return p;
}

}  // namespace

TEST_CASE("traffic: every method of a mix, bodies included, through the balancer to a worker") {
  for (const Connections connections : {Connections::kKeepAlive, Connections::kNew}) {
    const bool fresh = connections == Connections::kNew;
    CAPTURE(fresh);
    WorkerServer worker(quick_profile(), "w-mix", 1);
    worker.start_in_thread();
    Balancer balancer(BalancerConfig{});
    balancer.start();
    balancer.set_targets({{"w-mix", Endpoint{"127.0.0.1", worker.port()}}});

    LoadConfig c;
    c.target = Endpoint{"127.0.0.1", balancer.port()};
    c.schedule = RateSchedule(300, {{std::chrono::seconds(1), 300}});
    c.request_timeout = std::chrono::seconds(5);
    c.connections = connections;
    c.requests = {{"GET", "/items?page=2", 1, 0},    {"POST", "/orders", 1, 2048},
                  {"PUT", "/orders/7", 1, 100},      {"DELETE", "/orders/7", 1, 0},
                  {"PATCH", "/orders/7", 1, 64000},  {"HEAD", "/items", 1, 0}};
    LoadGenerator load(c);
    load.start();
    REQUIRE(load.wait_for(std::chrono::seconds(10)));
    const LoadSnapshot s = load.snapshot();
    CHECK(s.sent == 300);
    CHECK(s.ok == 300);
    CHECK(s.errors == 0);
    REQUIRE(s.requests.size() == 6);
    for (std::size_t i = 0; i < 6; ++i) {
      CAPTURE(c.requests[i].method);
      CHECK(s.requests[i].sent > 20);  // each of the six about 50
      CHECK(s.requests[i].ok == s.requests[i].sent);
    }

    const BalancerStats b = balancer.stats();
    CHECK(b.requests == 300);
    REQUIRE(b.targets.count("w-mix") == 1);
    CHECK(b.targets.at("w-mix").requests == 300);
    CHECK(b.targets.at("w-mix").responses_2xx == 300);
    // One client connection per request, or a few reused ones.
    if (fresh) {
      CHECK(b.new_connections == 300);
    } else {
      CHECK(b.new_connections < 50);
    }
    balancer.stop();
    worker.begin_shutdown();
    worker.join();
  }
}

}  // namespace flotilla
