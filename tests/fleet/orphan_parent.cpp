// Test helper: launches three announcing workers, prints "pids P1 P2 P3" once all announced,
// then runs until killed. The orphan test SIGKILLs it and checks the workers die too.
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/require.hpp>
#include <cstdio>
#include <vector>

#include "fleet/process_provider.h"

int main() {
  using namespace flotilla;
  constexpr int kWorkers = 3;
  boost::asio::io_context io;
  ProcessProvider provider(io);
  std::vector<WorkerId> ids;
  int announced = 0;
  provider.set_callbacks({
      .on_listening =
          [&](const WorkerId&, const Endpoint&) {
            if (++announced != kWorkers) return;
            std::printf("pids");
            for (const auto& id : ids) std::printf(" %d", provider.pid(id).value_or(-1));
            std::printf("\n");
            std::fflush(stdout);
          },
      .on_exit =
          [](const WorkerId& id, const WorkerExit& exit) {
            std::fprintf(stderr, "fleet_orphan_parent: %s ended early: %s\n", id.c_str(),
                         exit.describe().c_str());
          },
  });
  for (int i = 0; i < kWorkers; ++i) {
    ids.push_back(provider.launch(
        {"/bin/sh",
         {"-c", "echo 'flotilla-worker listening on 127.0.0.1:4242'; exec sleep 60"},
         "",
         std::nullopt}));
  }
  const auto work =
      boost::asio::require(io.get_executor(), boost::asio::execution::outstanding_work.tracked);
  io.run();
}
