// Measures launch-to-healthy: from Provider::launch() to the first 200 from the worker's
// /health (polled every 2 ms once on_listening gave its endpoint), for the process and the
// swarm provider, one worker at a time. Not a test: run it by hand on a quiet machine.
//   fleet_launch_to_healthy process|swarm RUNS PROFILE WORKER
#include <boost/asio/io_context.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fleet/process_provider.h"
#include "fleet/swarm_provider.h"
#include "worker/http_client.h"

int main(int argc, char** argv) {
  using namespace flotilla;
  using Clock = std::chrono::steady_clock;
  if (argc != 5) {
    std::fprintf(stderr, "usage: %s process|swarm RUNS PROFILE WORKER\n", argv[0]);
    return 2;
  }
  const std::string kind = argv[1];
  const int runs = std::stoi(argv[2]);
  boost::asio::io_context io;
  std::unique_ptr<Provider> provider;
  if (kind == "swarm") {
    provider = SwarmProvider::make_checked(io, {});
  } else {
    provider = std::make_unique<ProcessProvider>(io);
  }
  std::optional<Endpoint> endpoint;
  bool exited = false;
  provider->set_callbacks({.on_listening = [&](const WorkerId&, const Endpoint& e) { endpoint = e; },
                           .on_exit = [&](const WorkerId&, const WorkerExit&) { exited = true; }});
  std::vector<double> ms;
  for (int i = 0; i < runs; ++i) {
    endpoint.reset();
    exited = false;
    const auto start = Clock::now();
    const WorkerId id =
        provider->launch({argv[4], {"--profile", argv[3], "--port", "0"}, "", std::nullopt});
    bool healthy = false;
    while (!healthy && Clock::now() - start < std::chrono::seconds(60)) {
      io.restart();
      io.run_for(std::chrono::milliseconds(2));
      if (!endpoint) continue;
      try {
        healthy = test::http_get(endpoint->port, "/health").status == 200;
      } catch (const std::exception&) {
      }
    }
    const double took = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    std::printf("%s run %d: %s %.0f ms\n", kind.c_str(), i + 1, healthy ? "healthy" : "NOT healthy",
                took);
    if (healthy) ms.push_back(took);
    provider->stop(id, std::chrono::seconds(2));
    while (!exited) {
      io.restart();
      io.run_for(std::chrono::milliseconds(10));
    }
  }
  std::sort(ms.begin(), ms.end());
  if (!ms.empty())
    std::printf("%s: median %.0f ms, min %.0f, max %.0f over %zu runs\n", kind.c_str(),
                ms[ms.size() / 2], ms.front(), ms.back(), ms.size());
}
