// The swarm provider against a real engine (make swarm-up, make image). A test that finds no
// engine, no swarm or no image prints why and exits 77, which ctest reports as skipped. Each
// service start costs seconds: a few tests, each doing several things.
#include <doctest/doctest.h>
#include <signal.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "core/errors.h"
#include "fleet/docker_engine.h"
#include "fleet/swarm_provider.h"
#include "provider_harness.h"
#include "support/paths.h"
#include "worker/http_client.h"

namespace flotilla {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;
using Harness = test::ProviderHarness<SwarmProvider>;

// A service takes a few seconds to start, more when tests run at once.
constexpr Duration kServiceStart = 60s;

// Exits 77 (skipped) with the reason unless the provider's start-up checks pass.
void require_swarm() {
  boost::asio::io_context io;
  try {
    SwarmProvider::make_checked(io, {});
  } catch (const UserError& e) {
    std::printf("SKIP: no swarm to test with (make swarm-up, make image): %s\n", e.what());
    std::fflush(stdout);
    std::_Exit(77);
  }
}

LaunchSpec worker_spec() {
  return {"",
          {"--profile", (test::kSource / "fleet/standard.json").string(), "--port", "0"},
          "",
          std::uint64_t{7}};
}

bool loopback(const Endpoint& e) {
  in_addr address{};
  return ::inet_pton(AF_INET, e.host.c_str(), &address) == 1 &&
         (ntohl(address.s_addr) >> 24) == 127;
}

// The ids of the services of run `run` (kLabelRun), and of its worker `worker` when given:
// worker ids repeat across runs (every provider counts from 1), run ids do not.
std::vector<std::string> services_of_run(const std::string& run, const WorkerId& worker = "") {
  boost::asio::io_context io;
  DockerEngine engine(io, docker_socket_path(std::getenv("DOCKER_HOST")));
  json filter = {{"label", {std::string(kLabelRun) + "=" + run}}};
  if (!worker.empty()) filter["label"].push_back(std::string(kLabelWorker) + "=" + worker);
  const auto r = engine.request_now(
      "GET", std::string(kDockerApi) + "/services?filters=" + url_encode(filter.dump()));
  REQUIRE(r.ok);
  REQUIRE(r.status == 200);
  std::vector<std::string> ids;
  for (const auto& s : json::parse(r.body)) ids.push_back(s["ID"].get<std::string>());
  return ids;
}

}  // namespace

TEST_CASE("swarm provider: owner_alive tells a gone or reused pid from a live owner") {
  const std::string me = *owner_label(static_cast<int>(::getpid()));
  const std::string host = me.substr(0, me.find('/'));
  struct Row {
    const char* what;
    std::string label;
    bool alive;
  };
  const Row rows[] = {
      {"this process", me, true},
      {"this pid, another start time (the pid was reused)",
       host + "/" + std::to_string(::getpid()) + "/1", false},
      {"a pid that runs nothing", host + "/999999999/1", false},
      {"another host's owner (cannot be told)", "another-host/1/1", true},
      {"a malformed label", "nonsense", true},
  };
  for (const Row& row : rows) {
    CAPTURE(row.what);
    CHECK(owner_alive(row.label) == row.alive);
  }
  CHECK_FALSE(owner_label(999999999).has_value());
}

TEST_CASE("swarm provider: user mistakes are UserErrors naming the socket and the image") {
  boost::asio::io_context io;
  SwarmProviderOptions no_socket;
  no_socket.socket_path = "/nonexistent/flotilla-test/docker.sock";
  try {
    SwarmProvider::make_checked(io, no_socket);
    FAIL("no error for a missing socket");
  } catch (const UserError& e) {
    CHECK(std::string(e.what()).find("/nonexistent/flotilla-test/docker.sock") !=
          std::string::npos);
    CHECK(std::string(e.what()).find("no Docker engine") != std::string::npos);
  }
  CHECK_THROWS_AS(docker_socket_path("tcp://10.0.0.1:2375"), UserError);
  CHECK(docker_socket_path("unix:///run/x.sock") == "/run/x.sock");
  CHECK(docker_socket_path(nullptr) == kDefaultDockerSocket);

  require_swarm();
  SwarmProviderOptions no_image;
  no_image.image = "flotilla-no-such-image:never";
  try {
    SwarmProvider::make_checked(io, no_image);
    FAIL("no error for a missing image");
  } catch (const UserError& e) {
    CHECK(std::string(e.what()).find("flotilla-no-such-image:never") != std::string::npos);
    CHECK(std::string(e.what()).find("make image") != std::string::npos);
  }
}

TEST_CASE(
    "swarm provider: launch, the announced port answers, stop and cont, kill ends it, stop removes "
    "it") {
  require_swarm();
  Harness h;
  const WorkerId killed = h.provider->launch(worker_spec());
  const WorkerId stopped = h.provider->launch(worker_spec());
  CHECK(h.provider->running() == 2);
  CHECK_FALSE(h.provider->pid(killed).has_value());
  REQUIRE(h.run_until([&] { return h.listened(killed) && h.listened(stopped); }, kServiceStart));
  for (const auto& [id, endpoints] : h.listening) {
    CAPTURE(id);
    REQUIRE(endpoints.size() == 1);
    CHECK(loopback(endpoints.front()));
  }
  for (const WorkerId& id : {killed, stopped}) {
    const auto port = h.listening[id].front().port;
    const bool healthy = test::wait_until(
        [&] {
          try {
            return test::http_get(port, "/health").status == 200;
          } catch (const std::exception&) {
            return false;
          }
        },
        10s);
    CHECK(healthy);
    CHECK(test::http_get(port, "/").worker == id);
  }

  // SIGSTOP on this node freezes the container (it stops answering), SIGCONT thaws it.
  const auto killed_port = h.listening[killed].front().port;
  auto answers = [&] {
    try {
      test::HttpClient client(killed_port, 300ms);
      return client.request("GET", "/health").status == 200;
    } catch (const std::exception&) {
      return false;
    }
  };
  h.provider->signal(killed, SIGSTOP);
  CHECK(h.run_until([&] { return !answers(); }, 10s));
  h.provider->signal(killed, SIGCONT);
  CHECK(h.run_until(answers, 10s));
  CHECK_FALSE(h.exited(killed));

  h.provider->signal(killed, SIGKILL);
  REQUIRE(h.run_until([&] { return h.exited(killed); }, 20s));
  CHECK(h.exits[killed].front().signal == SIGKILL);
  h.provider->stop(stopped, 2s);
  REQUIRE(h.run_until([&] { return h.exited(stopped); }, 30s));
  CHECK(h.exits[stopped].front().clean());  // SIGTERM: flotilla-worker drains and exits 0
  CHECK(h.provider->running() == 0);
  CHECK(h.run_until(
      [&] {
        return services_of_run(h.provider->run_id(), killed).empty() &&
               services_of_run(h.provider->run_id(), stopped).empty();
      },
      20s));
  REQUIRE(h.events.size() == 4);  // the two announces in either order, then the two exits
  CHECK(h.events[2] == "exit " + killed);
  CHECK(h.events[3] == "exit " + stopped);
}

TEST_CASE(
    "swarm provider: a SIGKILLed flotilla's services are swept at the next start, a live "
    "owner's are not") {
  require_swarm();
  Harness live;  // this process: a live owner
  const WorkerId mine = live.provider->launch(worker_spec());
  REQUIRE(live.run_until([&] { return live.listened(mine); }, kServiceStart));

  const auto parent = test::run_and_kill_orphan_parent(
      {"swarm", (test::kSource / "fleet/standard.json").string()}, kServiceStart);
  REQUIRE(parent.line.starts_with("run "));
  const std::string run = parent.line.substr(4);
  CHECK(services_of_run(run).size() == 3);  // nothing removed them

  boost::asio::io_context io;
  SwarmProvider next(io, {});
  CHECK(next.sweep() >= 3);
  CHECK(services_of_run(run).empty());
  CHECK(services_of_run(live.provider->run_id(), mine).size() == 1);
  CHECK_FALSE(live.exited(mine));
}

}  // namespace flotilla
