#pragma once
// The integration tests' processes: the flotilla and flotilla-worker binaries, and a worker
// started on an OS-chosen port.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "support/paths.h"
#include "support/subprocess.h"

namespace flotilla::test {

inline const std::string kWorker = std::string(FLOTILLA_BIN_DIR) + "/flotilla-worker";

// flotilla COMMAND EXTRA...
inline std::vector<std::string> flotilla_argv(const std::string& command,
                                              const std::vector<std::string>& extra) {
  std::vector<std::string> argv = {kFlotilla, command};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return argv;
}

// The port in "... listening on 127.0.0.1:PORT\n" once the line is complete.
inline std::optional<std::uint16_t> listening_port(const std::string& out) {
  return printed_port(out, "listening on ");
}

// Starts `argv` and waits for its "listening on" line; REQUIREs it.
inline std::uint16_t wait_listening(Subprocess& p) {
  p.wait_for_output([&] { return listening_port(p.out()).has_value(); },
                    std::chrono::milliseconds(20000));
  INFO(p.out(), p.err());
  REQUIRE(listening_port(p.out()).has_value());
  return *listening_port(p.out());
}

struct Worker {
  explicit Worker(const std::string& id, const std::string& service_time = "1ms")
      : process({kWorker, "--port", "0", "--id", id, "--distribution", "constant",
                 "--service-time-mean", service_time, "--capacity", "16", "--boot-time", "0s"}) {
    port = wait_listening(process);
  }
  Subprocess process;
  std::uint16_t port = 0;
  std::string target() const { return "127.0.0.1:" + std::to_string(port); }
};

}  // namespace flotilla::test
