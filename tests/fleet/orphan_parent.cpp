// Test helper: launches three workers, prints "pids P1 P2 P3" once all announced, then runs
// until killed. The orphan test SIGKILLs it and checks the workers die too.
//   fleet_orphan_parent               ProcessProvider, announcing shell workers
//   fleet_orphan_parent command ARGV  CommandProvider running ARGV ({port} substituted)
//   fleet_orphan_parent swarm PROFILE SwarmProvider running flotilla-worker services; prints
//                                     "run RUN_ID" instead of pids
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/require.hpp>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "fleet/command_provider.h"
#include "fleet/process_provider.h"
#include "fleet/swarm_provider.h"

int main(int argc, char** argv) {
  using namespace flotilla;
  constexpr int kWorkers = 3;
  boost::asio::io_context io;
  const bool command = argc > 2 && std::string(argv[1]) == "command";
  const bool swarm = argc > 2 && std::string(argv[1]) == "swarm";
  std::unique_ptr<Provider> provider;
  std::string run_id;
  LaunchSpec spec;
  if (swarm) {
    auto swarm_provider = SwarmProvider::make_checked(io, {});
    run_id = swarm_provider->run_id();
    provider = std::move(swarm_provider);
    spec = {"", {"--profile", argv[2], "--port", "0"}, "", std::nullopt};
  } else if (command) {
    provider = std::make_unique<CommandProvider>(io);
    spec.executable = argv[2];
    for (int i = 3; i < argc; ++i) spec.args.push_back(argv[i]);
  } else {
    provider = std::make_unique<ProcessProvider>(io);
    spec = {"/bin/sh",
            {"-c", "echo 'flotilla-worker listening on 127.0.0.1:4242'; exec sleep 60"},
            "",
            std::nullopt};
  }
  std::vector<WorkerId> ids;
  int announced = 0;
  provider->set_callbacks({
      .on_listening =
          [&](const WorkerId&, const Endpoint&) {
            if (++announced != kWorkers) return;
            if (swarm) {
              std::printf("run %s\n", run_id.c_str());
              std::fflush(stdout);
              return;
            }
            std::printf("pids");
            for (const auto& id : ids) std::printf(" %d", provider->pid(id).value_or(-1));
            std::printf("\n");
            std::fflush(stdout);
          },
      .on_exit =
          [](const WorkerId& id, const WorkerExit& exit) {
            std::fprintf(stderr, "fleet_orphan_parent: %s ended early: %s\n", id.c_str(),
                         exit.describe().c_str());
          },
  });
  for (int i = 0; i < kWorkers; ++i) ids.push_back(provider->launch(spec));
  const auto work =
      boost::asio::require(io.get_executor(), boost::asio::execution::outstanding_work.tracked);
  io.run();
}
