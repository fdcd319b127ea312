#pragma once
// SimDataPlane: the balancer as the simulated world has it: the DataPlane the target groups and
// the collector talk to (data_plane.h), carrying requests from the simulated traffic to
// simulated workers in virtual time, with the real pickers (picker.h) and the real retry
// decision (retry.h). No socket, no thread, no allocation per request once warm.
//
// What it models: one group ("default") and the listener's algorithm, picking among the
// routable targets by what is in flight to each (one "IO thread"); a request to a worker that
// refuses connections (gone, shutting down) is a connect failure, one lost when its worker is
// killed a dead connection, and both are retried as the balancer retries them (budget
// included); a worker's 503 is passed through; a request with no answer within the response
// timeout (a stopped worker) gets 504, as from the balancer; failures in a row and their
// streaks (data_plane.h) are counted by the balancer's rule, as on one IO thread. What it
// leaves out: the network and the proxy's own time (a request reaches its worker at once) and
// routing rules.
//
// Threading: the simulator's one thread. It takes the VirtualScheduler itself, not the
// Scheduler seam: it exists only in virtual time, and its per-request calls then need no
// virtual dispatch.
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "balancer/data_plane.h"
#include "balancer/picker.h"
#include "balancer/retry.h"
#include "core/virtual_scheduler.h"
#include "sim/sim_fleet.h"

namespace flotilla {

struct SimDataPlaneConfig {
  std::string algorithm = "round_robin";  // a make_picker() name
  std::uint64_t seed = 1;
  RetryPolicy retry;
  // Request sent -> response, then 504 (the balancer's response_timeout). Checked by a sweep,
  // as the balancer checks its deadlines: about every half of it, at most every second.
  Duration response_timeout = std::chrono::seconds(30);
};

class SimDataPlane final : public DataPlane, public SimWorker::Client {
 public:
  // The side that sends requests (the simulated traffic): every submitted request gets exactly
  // one reply, a status (2xx-5xx) from a worker or from the balancer (502, 503).
  class Sender {
   public:
    virtual void on_reply(std::uint64_t token, int status, Time now) = 0;

   protected:
    ~Sender() = default;
  };

  // Unknown algorithm -> UserError (as Balancer).
  SimDataPlane(VirtualScheduler& scheduler, SimFleet& fleet, SimDataPlaneConfig config);
  ~SimDataPlane() override;

  // Where the requests submitted from now on are answered (each request keeps the sender it was
  // submitted under, so an earlier sender still gets its replies).
  void set_sender(Sender& sender) { sender_ = &sender; }
  // A request arrives from a client at now. False after stop_accepting(): the request is
  // refused as a closed port refuses a connection (the client's connect error), counted
  // nowhere here, and gets no reply.
  bool submit(std::uint64_t token);

  void start() override;
  void stop() override;
  // Arrivals from now on are refused (submit()); requests in progress finish, retries included.
  // BalancerStats::active_connections counts the requests in progress.
  void stop_accepting() override;
  // Only "default" exists (UserError otherwise).
  void set_target_group(const std::string& name, std::vector<BalancerTarget> targets) override;
  BalancerStats stats() const override;
  TargetLoad target_load(const std::string& id) const override;

  void on_response(std::uint64_t token, int status, Time now) override;
  void on_lost(std::uint64_t token, Time now) override;

  // Requests in progress now.
  std::size_t in_progress() const { return static_cast<std::size_t>(active_requests_); }

 private:
  struct Target;
  struct Request;

  void attempt(std::uint32_t r);
  void connect_failed(std::uint32_t r);
  void after_failure(std::uint32_t r, AttemptFailure failure);
  void give_up(std::uint32_t r, int status);
  // A target's response to the attempt in progress.
  void finish(std::uint32_t r, int status);
  // The request is answered (`status`) and its slot freed.
  void end_exchange(std::uint32_t r, int status);
  void release_target(Request& request);
  // 504 for every request whose attempt has waited response_timeout.
  void sweep();
  std::uint32_t allocate();
  std::uint64_t token_of(std::uint32_t r) const;
  // The request a worker's token stands for, or nullopt when it was already finished.
  std::optional<std::uint32_t> request_of(std::uint64_t token) const;

  VirtualScheduler& scheduler_;
  SimFleet& fleet_;
  SimDataPlaneConfig config_;
  Sender* sender_ = nullptr;
  std::unique_ptr<Picker> picker_;

  std::vector<Target*> current_;  // the routable set, in publish order
  std::vector<PickCandidate> candidates_;  // parallel to current_
  // Every target ever published, by id. None is freed during a run: a request may still
  // remember one it tried (a few hundred bytes per worker ever launched).
  std::unordered_map<std::string, std::vector<std::unique_ptr<Target>>> targets_;
  std::vector<Request> requests_;
  std::vector<std::uint32_t> free_requests_;

  std::unique_ptr<PeriodicTask> sweep_;
  int active_requests_ = 0;
  int active_retries_ = 0;
  bool accepting_ = true;
  BalancerGroupStats totals_;  // the default group's counters (and so the balancer's)
  std::uint64_t client_requests_ = 0;
  std::uint64_t retry_budget_exhausted_ = 0;
};

}  // namespace flotilla
