#pragma once
// SimWorker: one worker in virtual time. The same WorkerModel that the live flotilla-worker
// runs (slots, bounded queue, boot time, graceful shutdown, CPU utilization, and the faults of
// worker/faults.h) with its profile's service-time distribution; no process and no socket.
//
// Requests are opaque tokens of its Client (the simulated data plane): deliver() admits one the
// way the live server admits a request on an open connection; a request in service gets its
// response (200, or 500 under the errors fault) from Client::on_response when its service time
// has passed; a rejected one is answered at once by the caller (503, as the live server
// answers). A worker that is killed loses what it held: Client::on_lost for every request in
// service, queued, held or waiting for its answer, as the balancer sees its connections reset.
//
// Faults, as the live worker applies them (apply_faults(), the same message as PUT
// /flotilla/faults): slow service times; errors; crash_after (once the last answer is sent the
// worker loses what it holds, as with kill(), and ends with kCrashExitCode); flap (health checks
// answer 503 "unhealthy" in alternate periods); latency (each answer to work, rejections
// included, and to a health check is sent after the delay: a rejection's 503 then also comes
// through Client::on_response, and deliver() says kHeld). As in the live worker, the delay is
// spent inside the worker after the answer is ready (its slot is free meanwhile), so an answer
// still waiting is lost by a kill and frozen by a stop.
//
// Signals (SimFleet::signal), as Linux treats a process:
// - SIGSTOP (stop()): the worker is frozen. Nothing it holds progresses: services in progress
//   and answers waiting out a latency pause, and resume() continues them where they were (the
//   closer model of a frozen process, whose work is CPU time that does not pass while stopped;
//   the live worker's service times are timers on the steady clock, so there work whose time ran
//   out during the stop is answered right at SIGCONT instead). It still accepts connections
//   (the kernel's backlog): requests, health checks and control messages that arrive are held
//   unread and taken in arrival order at SIGCONT. Health checks get no answer: the probe's
//   result is "timeout" once its timeout passes. Boot time and a flap's periods run on (they are
//   clock time).
// - SIGCONT (resume()): the above resumes at the current time; a SIGTERM received meanwhile then
//   takes effect, after the held requests were admitted.
// - SIGTERM (begin_shutdown()): no new connections; what is held finishes; exits 0 once nothing
//   is left (while stopped: from SIGCONT on).
// - SIGKILL (kill()): gone at once, stopped or not.
// A worker accepts connections while it runs and is not shutting down (a shutting-down worker
// has closed its listener), stopped or not.
//
// Threading: the simulator's one thread. It takes the VirtualScheduler itself, not the
// Scheduler seam: it exists only in virtual time, and its per-request calls then need no
// virtual dispatch.
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "balancer/http_client.h"
#include "core/endpoint.h"
#include "core/virtual_scheduler.h"
#include "fleet/provider.h"
#include "worker/faults.h"
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
  using HealthDone = std::function<void(HttpGetResult)>;

  // `on_exit`: called once when the worker ends by itself, with its exit code: 0 once a
  // shutting-down worker has nothing left, kCrashExitCode when crash_after ran out (after what
  // it held was lost). Not called for kill().
  SimWorker(VirtualScheduler& scheduler, const WorkerProfile& profile, WorkerId id,
            Endpoint endpoint, std::uint64_t seed, Client& client,
            std::function<void(int exit_code)> on_exit);

  const WorkerId& id() const { return id_; }
  const Endpoint& endpoint() const { return endpoint_; }
  const WorkerProfile& profile() const { return profile_; }
  bool exited() const { return exited_; }
  bool stopped() const { return stopped_; }
  bool shutting_down() const { return model_.shutting_down(); }
  // SIGTERM was received: shutting down, or about to once SIGCONT comes.
  bool terminating() const { return model_.shutting_down() || term_pending_; }
  // A connection can be opened: running (stopped or not) and not shutting down.
  bool accepting() const { return !exited_ && !model_.shutting_down(); }

  // A request on an open connection (accepting() must hold). kServe, kQueued and kHeld: the
  // answer comes later through the Client; a rejection is the caller's to answer (503), now.
  Admission deliver(std::uint64_t token, Time now);
  // GET /health with the prober's `timeout`: `done` gets 200 "ok\n" or 503 with the reason,
  // after the latency fault's delay, or "timeout" when no answer came within `timeout`. Without
  // a delay the answer is given inline.
  void health_check(Time now, Duration timeout, HealthDone done);
  // What GET /health answers at `now`: 200 when healthy, else 503.
  int health_status(Time now) const;
  WorkerStatus status(Time now) const { return model_.status(now); }

  // The control message of PUT /flotilla/faults. While stopped it waits, unread, for SIGCONT.
  void apply_faults(const WorkerFaults& change, Time now);
  WorkerFaults faults() const { return model_.faults(); }

  // SIGTERM.
  void begin_shutdown(Time now);
  // SIGKILL: everything held is lost (Client::on_lost; health checks: "connection closed"), and
  // the worker is gone.
  void kill(Time now);
  // SIGSTOP and SIGCONT.
  void stop(Time now);
  void resume(Time now);
  // The process is gone (after kill(), or once drained and exited).
  void mark_exited() { exited_ = true; }

  void on_event(std::uint64_t arg) override;  // a service time ended, or an answer is due

 private:
  struct HealthCall;
  // An answer waiting out the latency fault: to work (token) or to a health check.
  struct HeldAnswer {
    Time due{};  // while stopped: the time still to wait
    int status = 0;
    std::uint64_t token = 0;
    bool crash = false;
    std::shared_ptr<HealthCall> health;
    WorkerHealth health_state = WorkerHealth::kHealthy;
    bool in_use = false;
  };
  // What arrived while stopped, unread until SIGCONT.
  struct Unread {
    enum class Kind : std::uint8_t { kWork, kHealth, kControl } kind;
    std::uint64_t token = 0;
    std::shared_ptr<HealthCall> health;
    WorkerFaults faults;
  };

  // deliver() on a running worker (also the held requests at SIGCONT).
  Admission take(std::uint64_t token, Time now);
  void serve(std::uint64_t token, Time now);
  void end_service(std::uint32_t slot, Time now);
  // Sends an answer to work now, or holds it for the latency fault's delay.
  void answer(std::uint64_t token, int status, bool crash, Time now);
  void answer_health(const std::shared_ptr<HealthCall>& call, Time now);
  // Holds an answer (to work: `token`; to a health check: `health`) until `due`.
  void hold(Time due, int status, std::uint64_t token, bool crash_after,
            std::shared_ptr<HealthCall> health = nullptr,
            WorkerHealth health_state = WorkerHealth::kHealthy);
  void send_held(std::uint32_t index, Time now);
  void crash(Time now);
  // Everything held is lost: the worker is gone (exited_ is set).
  void lose_everything(Time now);
  std::vector<std::uint32_t> busy_slots() const;
  std::uint64_t event_arg(bool answer, std::uint32_t index) const;
  void drained_check();

  VirtualScheduler& scheduler_;
  const WorkerProfile& profile_;
  WorkerId id_;
  Endpoint endpoint_;
  Client& client_;
  std::function<void(int)> on_exit_;
  WorkerModel model_;
  ServiceTimeSampler sampler_;
  // Requests in service by slot (capacity of them), when each one's service ends, and the free
  // slots; the queue is a ring of queue_limit tokens. Sized once: nothing is allocated per
  // request.
  std::vector<std::uint64_t> in_service_;
  std::vector<Time> service_due_;  // while stopped: the service time still to go
  std::vector<std::uint32_t> free_slots_;
  std::vector<std::uint64_t> queue_;
  std::size_t queue_head_ = 0;
  std::size_t queue_size_ = 0;
  // Answers waiting out the latency fault; grows to the most held at once, then reused.
  std::vector<HeldAnswer> held_;
  std::vector<std::uint32_t> free_held_;
  std::vector<Unread> unread_;
  // Bumped by every SIGSTOP: events posted before it are stale (resume() posts them again).
  std::uint32_t epoch_ = 0;
  bool stopped_ = false;
  bool term_pending_ = false;
  bool exited_ = false;
  bool drained_reported_ = false;
};

}  // namespace flotilla
