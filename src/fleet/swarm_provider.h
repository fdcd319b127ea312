#pragma once
// SwarmProvider: every worker is a Docker Swarm service of one replica running flotilla-worker
// from an image (`make image`), driven over the Engine API on a manager's unix socket
// (docker_engine.h). The group, not Swarm, replaces a dead worker and picks which to terminate:
// a service's RestartPolicy is "none".
//
// What it adds to the Provider contract:
// - launch() creates the service (POST /services/create) and returns at once; the request and
//   everything after it run on the io_context. The service: one replica, host network, no
//   published port, the image's entrypoint with spec.args, where "--profile FILE" becomes
//   "--profile-json TEXT" (the file's content: a node needs no copy of it), then
//   "--bind Options::bind --id ID" and "--seed N" (worker_seed, as for processes);
//   Options::constraints as its placement constraints; Init (the engine's tini as pid 1, so that
//   the worker can signal itself); StopGracePeriod Options::stop_grace; labels kLabelRun (this
//   provider's run id), kLabelOwner (owner_label(): host, pid and the pid's start time) and
//   kLabelWorker (the WorkerId).
// - on_listening: the worker's announce line ("listening on HOST:PORT", parse_announce), read
//   from the service's log stream (GET /services/{id}/logs?follow=1, which the managers serve
//   for a task on any node), followed once a poll sees the task running (before, the engine
//   ends the stream at once). A HOST of 0.0.0.0 (a worker told to --bind 0.0.0.0) is replaced by
//   the address of the node the task runs on (GET /nodes/{id}: Status.Addr).
// - on_exit: from the task states (GET /tasks, all of this provider's services in one request,
//   every Options::poll_interval): a task in a final state (complete, failed, shutdown,
//   rejected, orphaned) ends the worker with its container's exit code. An exit code 128+N
//   (N 1..64) is reported as signal N: the worker runs under an init that exits so for a child
//   killed by signal N, and flotilla-worker's own exit codes are 0, 1 and 2. A task that never
//   ran (rejected: no such image on the node, no node meets the constraints) reports exit 127,
//   as a process that cannot start does, and logs the engine's reason. Then the service is
//   removed. A service or task that vanished (someone removed it) ends the worker with exit
//   status unknown.
// - stop(): the service is scaled to 0 replicas with StopGracePeriod = grace, so the engine
//   sends SIGTERM and, after grace, SIGKILL wherever the task runs; once its task is final the
//   exit is reported and the service removed. Should the task not end within grace + 10 s, the
//   service is removed anyway and the exit is unknown.
// - signal(): SIGKILL, SIGSTOP and SIGCONT. On this node (the task's NodeID is the engine's
//   own): POST /containers/{id}/kill?signal=SIGKILL, and /pause, /unpause for SIGSTOP and
//   SIGCONT (the cgroup freezer stops every process of the container, where a SIGSTOP would
//   stop its init only). On another node, through the worker's control interface
//   (worker/control.h, PUT /flotilla/signal): SIGKILL, or a stop that ends on its own after
//   Options::remote_stop_limit, since a stopped worker cannot take the request that continues
//   it; a SIGCONT then finds it continued already or continues it on time. Other signals and a
//   worker whose task is not known yet are logged and ignored.
// - pid(): always nullopt (no local process of this provider).
// - Leftovers: the destructor removes every service this provider made (blocking, a request
//   each), without callbacks. A SIGKILLed flotilla cannot do that: sweep() removes the services
//   whose kLabelOwner names this host and a process that is gone (no such pid, or a pid whose
//   start time differs: the pid was reused), never a live owner's. make_checked() sweeps.
//
// Threading: as Provider. make_checked() and the destructor block on the engine (before and
// after the run, never during it).
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fleet/provider.h"

namespace boost::asio {
class io_context;
}

namespace flotilla {

inline constexpr std::string_view kLabelRun = "flotilla.run";
inline constexpr std::string_view kLabelOwner = "flotilla.owner";
inline constexpr std::string_view kLabelWorker = "flotilla.worker";
inline constexpr std::string_view kDefaultWorkerImage = "flotilla-worker:latest";

struct SwarmProviderOptions {
  std::string socket_path;  // empty: docker_socket_path(getenv("DOCKER_HOST"))
  std::string image = std::string(kDefaultWorkerImage);
  std::vector<std::string> constraints;  // "node.role==manager", as Swarm spells them
  // The worker's --bind: the address it listens on and announces. 127.0.0.1 on one machine;
  // 0.0.0.0 on a many-node swarm (the endpoint is then the node's address).
  std::string bind = "127.0.0.1";
  std::string id_prefix = "i-";
  std::uint64_t first_id = 1;
  // The services' StopGracePeriod until stop() sets its own: what a worker gets when its service
  // is removed without stop() (the destructor, the sweep).
  Duration stop_grace = std::chrono::seconds(5);
  Duration poll_interval = std::chrono::milliseconds(250);
  Duration remote_stop_limit = std::chrono::seconds(60);
  std::string run_id;  // empty: made up at random (kLabelRun)
  // How a signal reaches a worker on another node: a request to its control interface
  // (worker/control.h), which the live environment sends (src/fleet has no HTTP client for
  // workers). Unset: such a signal is logged and not sent.
  std::function<void(const WorkerId&, const Endpoint&, int sig, Duration stop_for)> remote_signal;
};

// "HOST/PID/START": this host's name, `pid` and its start time in clock ticks since boot
// (/proc/PID/stat field 22); nullopt when `pid` runs no process.
std::optional<std::string> owner_label(int pid);
// Whether the owner named by `label` still runs: false only for a label naming this host whose
// process is gone or has another start time. A label of another host (or a malformed one)
// counts as alive: this host cannot tell.
bool owner_alive(std::string_view label);

class SwarmProvider final : public Provider {
 public:
  using Options = SwarmProviderOptions;

  // Checks what a user can get wrong before a run begins, each a UserError naming what to fix:
  // no engine on the socket (its path), the engine not in a swarm or not a manager (the engine's
  // answer), the image missing (its name). Then sweeps, logging what it removed.
  static std::unique_ptr<SwarmProvider> make_checked(boost::asio::io_context& control_io,
                                                     Options options);

  SwarmProvider(boost::asio::io_context& control_io, Options options);
  ~SwarmProvider() override;
  SwarmProvider(const SwarmProvider&) = delete;
  SwarmProvider& operator=(const SwarmProvider&) = delete;

  void set_callbacks(Callbacks callbacks) override;
  WorkerId launch(const LaunchSpec& spec) override;
  void stop(const WorkerId& id, Duration grace) override;
  void signal(const WorkerId& id, int sig) override;
  std::optional<int> pid(const WorkerId& id) const override;
  std::size_t running() const override;

  // Removes the services of owners that are gone (owner_alive); returns how many. Blocking.
  std::size_t sweep();
  const std::string& run_id() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;  // shared so that queued handlers can detect its end
};

}  // namespace flotilla
