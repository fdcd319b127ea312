#pragma once
// SimFleet: the simulated world's workers and the Provider that launches them (AWS: the EC2
// side of the Auto Scaling group, in virtual time). It also answers the target group's health
// checks, the way the live workers answer GET /health.
//
// What it adds to the Provider contract (provider.h):
// - Every worker runs the fleet's profile; a LaunchSpec's executable and arguments are not
//   used. A worker's service times are drawn from a stream of its own (the run's seed and the
//   worker's launch number), so runs replay exactly.
// - Ids are those of the process provider ("i-" and 17 hex digits, sequential); a worker's
//   endpoint is {"sim", N}: no socket is ever opened. pid() is always nullopt (no process).
// - on_listening comes right after launch (in the next event, never inside launch()); on_exit
//   right after the worker ends: exit 0 once a stopped worker has drained, kCrashExitCode when
//   crash_after ended it, signal 9 when it is killed (also by stop()'s grace running out).
// - signal(): SIGKILL kills, SIGTERM shuts down gracefully, SIGSTOP freezes and SIGCONT
//   resumes (sim_worker.h: a SIGTERM to a stopped worker takes effect at SIGCONT, and stop()'s
//   SIGKILL still comes after its grace); other signals are not modelled (logged and ignored).
// - set_faults(): the control interface (worker/faults.h), as PUT /flotilla/faults reaches a
//   live worker.
//
// Health checks (probe()): a worker that is gone or shutting down refuses the connection (as a
// closed listener does), a booting one answers 503 "booting", a flapping one 503 "unhealthy" in
// alternate periods, a booted one 200; inline unless the latency fault delays the answer. A
// stopped worker does not answer, nor one whose delay is not shorter than the timeout: the
// result is "timeout" when `timeout` has passed.
//
// Threading: the simulator's one thread. It takes the VirtualScheduler itself, not the
// Scheduler seam: it exists only in virtual time, and its per-request calls then need no
// virtual dispatch.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "balancer/http_client.h"
#include "core/virtual_scheduler.h"
#include "fleet/provider.h"
#include "sim/sim_worker.h"
#include "worker/profile.h"

namespace flotilla {

// The host of every simulated endpoint.
inline constexpr const char* kSimHost = "sim";

class SimFleet final : public Provider {
 public:
  SimFleet(VirtualScheduler& scheduler, WorkerProfile profile, std::uint64_t seed);
  ~SimFleet() override;
  SimFleet(const SimFleet&) = delete;
  SimFleet& operator=(const SimFleet&) = delete;

  // Where workers send their responses (the simulated data plane). Set before the first launch.
  void set_worker_client(SimWorker::Client& client) { client_ = &client; }

  void set_callbacks(Callbacks callbacks) override { callbacks_ = std::move(callbacks); }
  WorkerId launch(const LaunchSpec& spec) override;
  void stop(const WorkerId& id, Duration grace) override;
  void signal(const WorkerId& id, int sig) override;
  std::optional<int> pid(const WorkerId&) const override { return std::nullopt; }
  std::size_t running() const override { return running_; }

  // The live worker at `endpoint`, or null (unknown, or exited).
  SimWorker* at(const Endpoint& endpoint) const;
  SimWorker* find(const WorkerId& id) const;
  // GET `path` on the worker at `endpoint` (a TargetGroup::Probe).
  void probe(const Endpoint& endpoint, const std::string& path, Duration timeout,
             std::function<void(HttpGetResult)> done);
  // Sends the worker a control message (PUT /flotilla/faults in the live world); false when it
  // is unknown or gone. A stopped worker takes it at SIGCONT.
  bool set_faults(const WorkerId& id, const WorkerFaults& change);
  const WorkerProfile& profile() const { return profile_; }
  // Workers launched so far.
  std::uint64_t launched() const { return next_sequence_ - 1; }

 private:
  void exit(SimWorker& worker, WorkerExit how);

  VirtualScheduler& scheduler_;
  const WorkerProfile profile_;
  const std::uint64_t seed_;
  SimWorker::Client* client_ = nullptr;
  Callbacks callbacks_;
  std::uint64_t next_sequence_ = 1;
  std::size_t running_ = 0;
  // Every worker launched, alive or not, by id; exited ones stay for late lookups (their
  // pending service events still point at them).
  std::map<WorkerId, std::unique_ptr<SimWorker>> workers_;
  std::unordered_map<std::uint16_t, SimWorker*> by_port_;  // alive workers
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace flotilla
