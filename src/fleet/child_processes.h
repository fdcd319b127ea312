#pragma once
// ChildProcesses: what every provider of local processes shares (process_provider.h,
// command_provider.h): spawning, reading stdout, reaping, signalling, stopping and the guarantee
// against orphans. The providers differ only in how a worker's endpoint becomes known: a
// flotilla-worker announces it on stdout, a user's command is told it. Private to src/fleet:
// include it from .cpp files only.
//
// The guarantees of process_provider.h's header hold for both, except the announce line, which
// is the line handler's business: every stdout line goes to it, and it calls announce() when it
// learns the endpoint, unless launch() was given the endpoint. Either way on_listening comes at
// most once per worker, and never after its on_exit.
//
// Threading: as Provider; the line handler runs on the control-plane thread.
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "fleet/process_provider.h"
#include "fleet/provider.h"

namespace boost::asio {
class io_context;
}

namespace flotilla {

class ChildProcesses {
 public:
  using Options = ProcessProviderOptions;
  // One stdout line of a worker, without its line end.
  using LineHandler = std::function<void(const WorkerId&, std::string_view line)>;

  ChildProcesses(boost::asio::io_context& control_io, Options options, LineHandler on_line);
  // SIGKILLs and reaps every child that still runs, without callbacks.
  ~ChildProcesses();
  ChildProcesses(const ChildProcesses&) = delete;
  ChildProcesses& operator=(const ChildProcesses&) = delete;

  void set_callbacks(Provider::Callbacks callbacks);
  // The id the next launch() returns.
  WorkerId next_id() const;
  // Starts spec.executable with spec.args (and `--seed N` when spec.seed is set). With an
  // `endpoint` (the worker was told where to listen), on_listening for it comes on a later
  // turn, before anything the process does can be reported. A non-empty `refused` starts
  // nothing: the launch fails with that reason as one whose exec failed does (exit 127,
  // reported on a later turn).
  WorkerId launch(const LaunchSpec& spec, const std::optional<Endpoint>& endpoint = std::nullopt,
                  const std::string& refused = "");
  // Delivers on_listening(id, endpoint) unless the worker announced already or its exit was
  // reported; true if it did.
  bool announce(const WorkerId& id, const Endpoint& endpoint);
  void stop(const WorkerId& id, Duration grace);
  void signal(const WorkerId& id, int sig);
  std::optional<int> pid(const WorkerId& id) const;
  std::size_t running() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;  // shared so that queued Asio handlers can detect its end
};

}  // namespace flotilla
