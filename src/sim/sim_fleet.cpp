#include "sim/sim_fleet.h"

#include <signal.h>
#include <spdlog/spdlog.h>

#include <cassert>

namespace flotilla {

SimFleet::SimFleet(VirtualScheduler& scheduler, WorkerProfile profile, std::uint64_t seed)
    : scheduler_(scheduler), profile_(std::move(profile)), seed_(seed) {}

SimFleet::~SimFleet() { *alive_ = false; }

WorkerId SimFleet::launch(const LaunchSpec&) {
  assert(client_ != nullptr);
  const std::uint64_t sequence = next_sequence_++;
  const WorkerId id = format_worker_id("i-", sequence);
  // Ports cycle through 1..65535 over a long run; a port is reused only once its worker exited.
  std::uint16_t port = static_cast<std::uint16_t>(1 + (sequence - 1) % 65535);
  while (by_port_.count(port) != 0) port = static_cast<std::uint16_t>(port % 65535 + 1);
  const Endpoint endpoint{kSimHost, port};
  auto worker =
      std::make_unique<SimWorker>(scheduler_, profile_, id, endpoint, worker_seed(seed_, sequence),
                                  *client_, [this, id](int exit_code) {
                                    if (SimWorker* w = find(id)) exit(*w, WorkerExit{exit_code, 0});
                                  });
  by_port_[port] = worker.get();
  workers_[id] = std::move(worker);
  ++running_;
  scheduler_.schedule_at(scheduler_.now(), [this, alive = alive_, id, endpoint] {
    if (!*alive) return;
    const SimWorker* w = find(id);
    if (w == nullptr || w->exited()) return;
    if (callbacks_.on_listening) callbacks_.on_listening(id, endpoint);
  });
  return id;
}

SimWorker* SimFleet::find(const WorkerId& id) const {
  auto it = workers_.find(id);
  return it == workers_.end() ? nullptr : it->second.get();
}

SimWorker* SimFleet::at(const Endpoint& endpoint) const {
  if (endpoint.host != kSimHost) return nullptr;
  auto it = by_port_.find(endpoint.port);
  return it == by_port_.end() ? nullptr : it->second;
}

void SimFleet::exit(SimWorker& worker, WorkerExit how) {
  // Once only: an exited worker's port is no longer its own.
  auto it = by_port_.find(worker.endpoint().port);
  if (it == by_port_.end() || it->second != &worker) return;
  worker.mark_exited();
  by_port_.erase(it);
  --running_;
  scheduler_.schedule_at(scheduler_.now(), [this, alive = alive_, id = worker.id(), how] {
    if (!*alive) return;
    if (callbacks_.on_exit) callbacks_.on_exit(id, how);
  });
}

void SimFleet::stop(const WorkerId& id, Duration grace) {
  SimWorker* w = find(id);
  if (w == nullptr || w->exited()) return;
  if (w->terminating()) return;  // stop() again does nothing
  w->begin_shutdown(scheduler_.now());
  if (w->exited()) return;  // drained at once
  scheduler_.schedule_after(grace, [this, alive = alive_, id] {
    if (!*alive) return;
    signal(id, SIGKILL);
  });
}

void SimFleet::signal(const WorkerId& id, int sig) {
  SimWorker* w = find(id);
  if (w == nullptr || w->exited()) return;
  switch (sig) {
    case SIGKILL:
      w->kill(scheduler_.now());
      exit(*w, WorkerExit{-1, SIGKILL});
      return;
    case SIGTERM:
      w->begin_shutdown(scheduler_.now());
      return;
    case SIGSTOP:
      w->stop(scheduler_.now());
      return;
    case SIGCONT:
      w->resume(scheduler_.now());
      return;
    default:
      spdlog::warn("simulated worker {}: signal {} is not modelled; ignored", id, sig);
      return;
  }
}

bool SimFleet::set_faults(const WorkerId& id, const WorkerFaults& change) {
  SimWorker* w = find(id);
  if (w == nullptr || w->exited()) return false;
  w->apply_faults(change, scheduler_.now());
  return true;
}

void SimFleet::probe(const Endpoint& endpoint, const std::string&, Duration timeout,
                     std::function<void(HttpGetResult)> done) {
  SimWorker* w = at(endpoint);
  if (w == nullptr || !w->accepting()) {
    HttpGetResult result;
    result.error = "connection refused";
    return done(std::move(result));
  }
  w->health_check(scheduler_.now(), timeout, std::move(done));
}

}  // namespace flotilla
