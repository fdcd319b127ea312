// `flotilla run` with the swarm provider as a user runs it: scenarios/swarm-flash-sale.json on
// the one-node swarm of `make swarm-up` with the image of `make image`. Without an engine, a
// swarm or the image, flotilla's own start-up check says so (exit 2) and the test exits 77:
// skipped, with the reason on its output.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>

#include "fleet/docker_engine.h"
#include "fleet/swarm_provider.h"
#include "support/files.h"
#include "support/paths.h"
#include "support/subprocess.h"

using namespace flotilla::test;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

bool engine_missing(const ProcessResult& r) {
  return r.exit_code == 2 && (r.err.find("no Docker engine") != std::string::npos ||
                              r.err.find("not a swarm manager") != std::string::npos ||
                              r.err.find("has no image") != std::string::npos);
}

// The services whose owner label names process `pid` of this host.
std::size_t services_of(int pid) {
  boost::asio::io_context io;
  flotilla::DockerEngine engine(io, flotilla::docker_socket_path(std::getenv("DOCKER_HOST")));
  const auto r = engine.request_now("GET", std::string(flotilla::kDockerApi) + "/services");
  REQUIRE(r.ok);
  REQUIRE(r.status == 200);
  std::size_t n = 0;
  const std::string me = *flotilla::owner_label(static_cast<int>(::getpid()));
  const std::string prefix = me.substr(0, me.find('/')) + "/" + std::to_string(pid) + "/";
  for (const auto& s : nlohmann::json::parse(r.body)) {
    const auto& labels = s["Spec"]["Labels"];
    const auto owner = labels.value(std::string(flotilla::kLabelOwner), "");
    if (owner.starts_with(prefix)) ++n;
  }
  return n;
}

}  // namespace

TEST_CASE("swarm: no engine on DOCKER_HOST is a user mistake naming the socket, exit 2") {
  const auto out = fresh_temp_dir("swarm-no-engine");
  const auto r =
      run_process({kFlotilla, "run", (kSource / "scenarios/swarm-flash-sale.json").string(),
                   "--quiet", "--out", out.string()},
                  30s, {"DOCKER_HOST=unix:///nonexistent/flotilla/docker.sock"});
  INFO(r.out, r.err);
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("/nonexistent/flotilla/docker.sock") != std::string::npos);
  CHECK(r.err.find("make swarm-up") != std::string::npos);
  fs::remove_all(out);
}

TEST_CASE("swarm: swarm-flash-sale scales services out and in, replaces a kill, loses nothing") {
  const auto out = fresh_temp_dir("swarm-flash-sale");
  Subprocess flotilla({kFlotilla, "--log-level", "debug", "run",
                       (kSource / "scenarios/swarm-flash-sale.json").string(), "--out",
                       out.string()});
  const int pid = flotilla.pid();
  const auto r = flotilla.finish(240s);
  if (engine_missing(r)) {
    std::printf("SKIP: no swarm to run on (make swarm-up, make image): %s\n", r.err.c_str());
    std::fflush(stdout);
    std::_Exit(77);
  }
  INFO(r.out.substr(0, 4000));
  CHECK(r.exit_code == 0);
  const auto report = nlohmann::json::parse(read_file(out / "report.json"));
  CHECK(report["passed"] == true);
  CHECK(report["requests"]["errors"].get<long>() == 0);
  CHECK(report["requests"]["sent"].get<long>() > 0);

  // Every target the balancer was given is on loopback.
  const std::regex listening(R"(service \S+ listening on ([0-9.]+):([0-9]+))");
  int targets = 0;
  for (auto it = std::sregex_iterator(r.err.begin(), r.err.end(), listening);
       it != std::sregex_iterator(); ++it) {
    ++targets;
    in_addr address{};
    const std::string host = (*it)[1];
    CAPTURE(host);
    REQUIRE(::inet_pton(AF_INET, host.c_str(), &address) == 1);
    CHECK((ntohl(address.s_addr) >> 24) == 127);
  }
  CHECK(targets >= 4);  // two at the start, at least one more for the peak, one replacement
  CHECK(services_of(pid) == 0);  // none outlives flotilla
  fs::remove_all(out);
}
