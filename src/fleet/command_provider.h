#pragma once
// CommandProvider: every worker is the user's own server, a command Flotilla did not write
// (`python3 -m http.server {port}`, `./my-server --port {port}`), run as a local child process.
//
// What it adds to the Provider contract:
// - launch() takes the command as LaunchSpec's executable and args, with placeholders: "{port}"
//   a free loopback port picked for this worker, "{host}" the address it should listen on
//   (Options::host), "{id}" the worker's id. spec.seed is ignored: a user's server takes none.
// - on_listening(HOST:PORT) comes on a later turn of the io_context, at once after the start:
//   Flotilla told the server where to listen, so it is a target from the start and takes traffic
//   once its health checks pass (the target group's initial -> healthy).
// - The port is picked by binding HOST:0, reading the port and closing the socket before the
//   command starts. Another program may take the port in between; that race is accepted because
//   the outcome is what a broken instance gives: the command exits or never passes its health
//   check, and the group replaces it with a worker on another port.
// - The process rules are the process provider's, with the same code (child_processes.h): own
//   process group, SIGTERM then SIGKILL on stop(), no orphans (PR_SET_PDEATHSIG), exit codes and
//   signals reported, exit 127 for a command that cannot start, the destructor kills and reaps.
//   stdout and stderr are read and logged at debug level (--log-level debug shows them): a
//   server's request log would otherwise run over flotilla's progress output.
//
// Threading: as Provider (launch() from the long-lived control-plane thread, see
// process_provider.h).
#include <cstdint>
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

class ChildProcesses;

struct CommandProviderOptions {
  ProcessProviderOptions process = {.stderr_to_stdout = true};
  std::string host = "127.0.0.1";  // where the commands listen: loopback
};

// What a command's placeholders stand for.
struct CommandPlaceholders {
  std::string host;
  std::uint16_t port = 0;
  WorkerId id;
};

// `text` with every "{port}", "{host}" and "{id}" replaced; other braces are left as they are.
std::string substitute_placeholders(std::string_view text, const CommandPlaceholders& values);

// A port on `host` that was free a moment ago (bind HOST:0, read it, close); nullopt with `why`
// set when no socket could be bound.
std::optional<std::uint16_t> pick_free_port(const std::string& host, std::string& why);

class CommandProvider final : public Provider {
 public:
  using Options = CommandProviderOptions;

  explicit CommandProvider(boost::asio::io_context& control_io, Options options = {});
  ~CommandProvider() override;
  CommandProvider(const CommandProvider&) = delete;
  CommandProvider& operator=(const CommandProvider&) = delete;

  void set_callbacks(Callbacks callbacks) override;
  WorkerId launch(const LaunchSpec& spec) override;
  void stop(const WorkerId& id, Duration grace) override;
  void signal(const WorkerId& id, int sig) override;
  // The pid until the process has been reaped; then nullopt.
  std::optional<int> pid(const WorkerId& id) const override;
  std::size_t running() const override;

 private:
  std::string host_;
  std::unique_ptr<ChildProcesses> children_;
};

}  // namespace flotilla
