#pragma once
// Provider: launches and stops workers and reports what happens to them (AWS: the EC2 side of an
// Auto Scaling group). Implementations: flotilla-worker processes (process_provider.h), the
// user's own server as a command (command_provider.h), flotilla-worker as Docker Swarm services
// (swarm_provider.h), modelled workers (sim/sim_fleet.h).
//
// Contract, for every provider:
// - launch() returns the new worker's id at once; the worker then reports on_listening once,
//   with the endpoint where its target is reached, and on_exit exactly once, whatever happens
//   (also when it could not be started: then on_exit comes without on_listening). Neither is
//   called from inside launch().
// - stop() asks the worker to end (SIGTERM or its equivalent) and, if it still runs after
//   `grace`, ends it (SIGKILL). Calling it again or for an exited worker does nothing.
// - No worker outlives the provider; a provider also says how none outlives a flotilla that was
//   SIGKILLed (see the table).
// - Nothing else may be assumed by the group, the collector or the admin API: a worker need not
//   be a local process (pid() may be nullopt), and its endpoint need not be 127.0.0.1.
//
// What holds per provider:
//                  local process   endpoint            after a SIGKILLed flotilla
//   process        yes (pid)       its announce line   PR_SET_PDEATHSIG kills it
//   command        yes (pid)       HOST:{port} chosen  PR_SET_PDEATHSIG kills it
//   swarm          no (nullopt)    its announce line   the next start's sweep removes its
//                                  (the node's address  services (their labels name the
//                                  for 0.0.0.0)         owner's host, pid and start time)
//   simulated      no (nullopt)    a made-up address   nothing runs outside flotilla
//
// Threading: every method is called on the control-plane thread, and every callback is
// delivered on it (the io_context that the provider was built with).
#include <string.h>  // sigabbrev_np (GNU)

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/endpoint.h"
#include "core/time.h"

namespace flotilla {

// AWS-style instance id: "i-" and 17 hex digits, "i-00000000000000001".
using WorkerId = std::string;

// Formats a worker id: prefix + `sequence` as 17 zero-padded lowercase hex digits. Every provider
// numbers its workers this way, so ids read alike live and simulated.
WorkerId format_worker_id(std::string_view prefix, std::uint64_t sequence);

struct LaunchSpec {
  std::string executable;         // e.g. build/bin/flotilla-worker
  std::vector<std::string> args;  // e.g. --profile fleet/standard.json --port 0
  // The Availability Zone the group places the worker in ("" without zones). A provider on one
  // machine has nothing to do with it; a fault that takes a zone down does.
  std::string zone;
  // The run's seed, when the worker takes one. The provider gives each worker its own
  // (worker_seed of the run's seed and the worker's launch number), so that no two workers of a
  // run draw the same service times; a process worker gets it as `--seed N` after `args`.
  std::optional<std::uint64_t> seed;
};

// A worker's own seed from the run's seed and its launch number (splitmix64), the same in
// every provider, so that a live and a simulated run give worker N the same seed.
std::uint64_t worker_seed(std::uint64_t run_seed, std::uint64_t sequence);

struct WorkerExit {
  int exit_code = -1;  // the process's exit status when signal == 0
  int signal = 0;      // the signal that ended it, or 0
  // "exit 0", "exit 3", "signal 9 (SIGKILL)"; "exit status unknown" when the status was never
  // observed (another part of the process reaped the child first).
  std::string describe() const {
    if (signal != 0) {
      const char* abbrev = ::sigabbrev_np(signal);
      std::string text = "signal " + std::to_string(signal);
      if (abbrev != nullptr) text += std::string(" (SIG") + abbrev + ")";
      return text;
    }
    if (exit_code < 0) return "exit status unknown";
    return "exit " + std::to_string(exit_code);
  }
  bool clean() const { return signal == 0 && exit_code == 0; }
};

class Provider {
 public:
  struct Callbacks {
    std::function<void(const WorkerId&, const Endpoint&)> on_listening;
    std::function<void(const WorkerId&, const WorkerExit&)> on_exit;
  };

  virtual ~Provider() = default;

  virtual void set_callbacks(Callbacks callbacks) = 0;
  virtual WorkerId launch(const LaunchSpec& spec) = 0;
  virtual void stop(const WorkerId& id, Duration grace) = 0;
  // Sends `sig` at once (fault injection: SIGKILL, SIGSTOP, SIGCONT). No-op once exited.
  virtual void signal(const WorkerId& id, int sig) = 0;
  // The worker's local process id while it runs and may be signalled, for people (serve's
  // admin API) and for measuring it (CPU time); nullopt when it has exited, or when the provider
  // has no local process for it. Callers must cope with nullopt.
  virtual std::optional<int> pid(const WorkerId& id) const = 0;
  // Workers launched and not yet reported by on_exit.
  virtual std::size_t running() const = 0;
};

}  // namespace flotilla
