#pragma once
// SimWorker: one worker in virtual time. The same WorkerModel that the live flotilla-worker
// runs (slots, bounded queue, boot time, graceful shutdown, CPU utilization) with its profile's
// service-time distribution; no process and no socket.
//
// Requests are opaque tokens of its Client (the simulated data plane): deliver() admits one the
// way the live server admits a request on an open connection; a request in service gets its
// response (200) from Client::on_response when its service time has passed; a rejected one is
// answered at once by the caller (503, as the live server answers). A worker that is killed
// loses what it held: Client::on_lost for every request in service or queued, as the balancer
// sees its connections reset.
//
// States: running (booting until boot_time, then serving), shutting down (SIGTERM: accepts no
// new connection, finishes what it holds, then exits 0), exited. A worker accepts connections
// only while running (a shutting-down worker has closed its listener).
//
// Threading: the simulator's one thread. It takes the VirtualScheduler itself, not the
// Scheduler seam: it exists only in virtual time, and its per-request calls then need no
// virtual dispatch.
#include <cstdint>
#include <functional>
#include <vector>

#include "core/endpoint.h"
#include "core/virtual_scheduler.h"
#include "fleet/provider.h"
#include "worker/profile.h"
#include "worker/worker_model.h"

namespace flotilla {

class SimWorker final : public EventHandler {
 public:
  class Client {
   public:
    virtual void on_response(std::uint64_t token, int status, Time now) = 0;
    virtual void on_lost(std::uint64_t token, Time now) = 0;

   protected:
    ~Client() = default;
  };

  // `on_drained`: called once when a shutting-down worker has nothing left (it may exit now).
  SimWorker(VirtualScheduler& scheduler, const WorkerProfile& profile, WorkerId id, Endpoint endpoint,
            std::uint64_t seed, Client& client, std::function<void()> on_drained);

  const WorkerId& id() const { return id_; }
  const Endpoint& endpoint() const { return endpoint_; }
  const WorkerProfile& profile() const { return profile_; }
  bool exited() const { return exited_; }
  bool shutting_down() const { return model_.shutting_down(); }
  // A connection can be opened: running and not shutting down.
  bool accepting() const { return !exited_ && !model_.shutting_down(); }

  // A request on an open connection (accepting() must hold). kServe and kQueued: the answer
  // comes later through the Client; a rejection is the caller's to answer (503).
  Admission deliver(std::uint64_t token, Time now);
  // GET /health as the live server answers it: 200 once booted, 503 before.
  int health_status(Time now) const;
  WorkerStatus status(Time now) const { return model_.status(now); }

  // SIGTERM: no new connections; what is held finishes; on_drained once nothing is left.
  void begin_shutdown(Time now);
  // SIGKILL: everything held is lost (Client::on_lost), and the worker is gone.
  void kill(Time now);
  // The process is gone (after kill(), or once drained and exited).
  void mark_exited() { exited_ = true; }

  void on_event(std::uint64_t slot) override;  // a service time ended

 private:
  void serve(std::uint64_t token, Time now);
  void drained_check();

  VirtualScheduler& scheduler_;
  const WorkerProfile& profile_;
  WorkerId id_;
  Endpoint endpoint_;
  Client& client_;
  std::function<void()> on_drained_;
  WorkerModel model_;
  ServiceTimeSampler sampler_;
  // Requests in service by slot (capacity of them) and the free slots; the queue is a ring of
  // queue_limit tokens. Sized once: nothing is allocated per request.
  std::vector<std::uint64_t> in_service_;
  std::vector<std::uint32_t> free_slots_;
  std::vector<std::uint64_t> queue_;
  std::size_t queue_head_ = 0;
  std::size_t queue_size_ = 0;
  bool exited_ = false;
  bool drained_reported_ = false;
};

}  // namespace flotilla
