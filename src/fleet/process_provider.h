#pragma once
// ProcessProvider: workers are local child processes (fork + exec through Boost.Process); the
// process rules below are shared with the command provider (child_processes.h).
//
// What it adds to the Provider contract:
// - The child's stdout is read through a pipe until EOF; the first line that ends in
//   "listening on HOST:PORT" (flotilla-worker prints "flotilla-worker listening on
//   127.0.0.1:PORT" once bound) triggers on_listening. Other lines are logged at debug level.
//   stdin is /dev/null; stderr is inherited.
// - on_exit follows on_listening when both happen: after the process is reaped the provider
//   waits up to Options::exit_drain for stdout to reach EOF, so an announce written just before
//   exiting is not lost.
// - A launch that fails (no such executable, not executable) returns an id as usual and reports
//   on_exit{exit_code 127} from a later turn of the io_context, never from inside launch().
// - Ids are "i-" followed by 17 hex digits, sequential per provider: i-00000000000000001, ...
// - Each child runs in its own process group (Options::own_process_group), so a Ctrl-C in the
//   terminal reaches flotilla only, and stop(), signal() and the destructor signal the whole
//   group (a worker wrapped in a shell takes its children along).
// - No orphans: the child asks the kernel for SIGKILL when its parent dies
//   (PR_SET_PDEATHSIG) and exits at once if flotilla died between fork and that request. The
//   kernel sends it when the *thread* that forked exits, so launch() must be called from the
//   long-lived control-plane thread, never from a short-lived helper thread.
// - The destructor SIGKILLs and reaps every child that still runs, and delivers no callbacks.
//   The provider must be destroyed before its io_context, and not from inside its callbacks.
//
// SIGCHLD: the provider registers an asio::signal_set for SIGCHLD on the control io_context
// and reaps only the pids it launched (waitpid(pid, WNOHANG)), so other code may spawn and
// wait for its own children (std::system, Boost.Process) in the same process. It must not
// install a raw SIGCHLD handler (sigaction/signal), set SIGCHLD to SIG_IGN, or call
// waitpid(-1, ...): that steals the provider's exits (an exit stolen that way is reported with
// exit_code -1). While registered, SIGCHLD's disposition carries SA_RESTART | SA_NOCLDSTOP so
// blocking system calls in other threads are not interrupted by worker exits.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "fleet/provider.h"

namespace boost::asio {
class io_context;
}

namespace flotilla {

class ChildProcesses;

struct ProcessProviderOptions {
  std::string id_prefix = "i-";
  std::uint64_t first_id = 1;  // the 17 hex digits of the first worker's id
  bool own_process_group = true;
  // The child's stderr goes into its stdout pipe too, so that it is logged at debug level
  // rather than written over flotilla's own output (a user's server logs every request there).
  bool stderr_to_stdout = false;
  // After a child is reaped, how long to wait for its stdout to close before reporting on_exit
  // anyway (a grandchild may hold the pipe open).
  Duration exit_drain = std::chrono::milliseconds(250);
};

// Parses an announce line: "... listening on HOST:PORT" (trailing whitespace ignored; "listening"
// starts the line or follows a space; PORT is 1..65535). Exposed for tests.
std::optional<Endpoint> parse_announce(std::string_view line);

class ProcessProvider final : public Provider {
 public:
  using Options = ProcessProviderOptions;

  // `control_io` is the control plane's io_context; every callback runs on it.
  explicit ProcessProvider(boost::asio::io_context& control_io, Options options = {});
  ~ProcessProvider() override;
  ProcessProvider(const ProcessProvider&) = delete;
  ProcessProvider& operator=(const ProcessProvider&) = delete;

  void set_callbacks(Callbacks callbacks) override;
  WorkerId launch(const LaunchSpec& spec) override;
  void stop(const WorkerId& id, Duration grace) override;
  void signal(const WorkerId& id, int sig) override;
  // The pid until the process has been reaped (so it is always safe to signal); then nullopt.
  std::optional<int> pid(const WorkerId& id) const override;
  std::size_t running() const override;

 private:
  std::unique_ptr<ChildProcesses> children_;
};

}  // namespace flotilla
