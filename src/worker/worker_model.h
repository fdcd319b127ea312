#pragma once
// WorkerModel: what a simulated server of limited capacity does with work, apart from any IO. The
// live server (worker/server.h) and a simulator drive the same model:
//
// - `capacity` slots serve at once; with every slot busy work waits in a FIFO queue of at most
//   `queue_limit`; beyond that it is rejected (503).
// - Before `boot_time` has passed since `started` every request is rejected and health is
//   kBooting.
// - begin_shutdown(): health is kShuttingDown and new work is rejected; work in service and
//   queued still finishes. drained() says when nothing is left.
// - Counters: served (finished), rejected (every rejection), errors (answers the errors fault
//   made 500, among the served); busy slot-time, windowed over `cpu_window` (cpu_utilization)
//   and cumulative since `started` (busy_time).
// - Faults (worker/faults.h), set and cleared at any time by apply_faults(), the same rules for
//   the live server and the simulator:
//   - slow: service_time() multiplies the duration the caller drew by `factor`; a request
//     already in service keeps the service time it started with.
//   - errors: complete() answers 500 to a `fraction` of the finished requests, drawn from the
//     model's own seeded stream (one draw per finished request while set), so runs replay and
//     the service-time draws are the same with or without the fault.
//   - crash_after: complete() says `crash` for the request that is the `requests`-th to finish
//     after it was set; the caller exits (kCrashExitCode) once that request's answer is sent,
//     losing what it holds. The fault then reads as cleared.
//   - flap: health() answers kUnhealthy for the first `period` after it was set, kHealthy for
//     the next, and so on (booting and shutting down take precedence). Setting it again starts
//     over.
//   - latency: answer_delay() is how long the caller holds each answer to work (rejections
//     included) and to health checks before sending it: `delay` plus a uniform draw in
//     [-jitter, +jitter] from a second stream of its own. Not /metrics, not control requests.
//
// The model does not own the work: admit() says what the caller does with a request (serve it
// now, put it at the back of the caller's own queue, or reject it and why) and complete() says
// whether the caller starts the front of its queue now. The caller draws service times (e.g. a
// ServiceTimeSampler) and keeps the queue (a live server: its sessions; a simulator: request
// ids); the model only counts it. Nothing is allocated per request once the busy-time window has
// seen its busiest window.
//
// Pure: time is an argument (since the caller's epoch), never read; no IO.
// Threading: one thread. Timestamps passed to it never go backwards.
#include <cstdint>
#include <optional>
#include <string_view>

#include "core/random.h"
#include "core/time.h"
#include "worker/faults.h"
#include "worker/profile.h"
#include "worker/utilization.h"

namespace flotilla {

// What admit() decided. The rejections come last (is_rejected).
enum class Admission : std::uint8_t {
  kServe,   // a slot was free: it is busy from now; serve the request now
  kQueued,  // every slot busy: the request waits at the back of the caller's queue
  // Never the model's answer: a caller's own, when it holds a request outside the model and
  // answers it later (a stopped simulated worker's unread request; a rejection whose answer the
  // latency fault delays).
  kHeld,
  kRejectedBooting,       // before boot_time
  kRejectedQueueFull,     // every slot busy and queue_limit requests waiting
  kRejectedShuttingDown,  // new work after begin_shutdown()
};
inline bool is_rejected(Admission a) { return a >= Admission::kRejectedBooting; }
std::string_view to_string(Admission a);

// Whether a request is new work, or had begun to arrive before begin_shutdown() (a live server
// gives a connection caught mid-request a grace to complete it): such a request is admitted as
// it would have been before the shutdown.
enum class Arrival : std::uint8_t { kNew, kBeforeShutdown };

// Only kHealthy answers health checks with 200.
enum class WorkerHealth : std::uint8_t { kBooting, kHealthy, kShuttingDown, kUnhealthy };
std::string_view to_string(WorkerHealth h);

// One reading of the model: what a worker's /metrics reports.
struct WorkerStatus {
  int in_flight = 0;  // requests in service
  int queued = 0;
  std::uint64_t served = 0;
  std::uint64_t rejected = 0;
  std::uint64_t errors = 0;  // served requests answered 500 by the errors fault
  int capacity = 0;
  bool booted = false;
  double cpu_utilization = 0;  // 0-100, busy slot-time over the last cpu_window / capacity
  Duration busy_time{};        // busy slot-time since started
  Duration uptime{};           // since started
};

// What complete() decided about a request whose service ended.
struct Completion {
  bool starts_next = false;  // a queued request takes the slot now: serve the caller's queue front
  int status = 200;          // of the finished request's answer: 500 under the errors fault
  bool crash = false;        // crash_after ran out: exit once this request's answer is sent
};

class WorkerModel {
 public:
  // What cpu_utilization() covers: the profile's cpu_window (as the live worker reports it), or
  // everything since `started`, which keeps no history per request (a simulator, whose CPU
  // datapoints come from busy_time, the same either way).
  enum class CpuWindow { kProfile, kSinceStart };

  // Uses the profile's capacity, queue_limit, boot_time and cpu_window (the service time is the
  // caller's). `profile` must be valid (as parse_worker_profile returns it). `fault_seed` seeds
  // the errors and latency draws (give the worker's seed: the streams are derived from it and
  // differ from a ServiceTimeSampler's on the same seed).
  explicit WorkerModel(const WorkerProfile& profile, Time started = Time::zero(),
                       CpuWindow cpu_window = CpuWindow::kProfile, std::uint64_t fault_seed = 1);

  // A request arrives at `now`.
  Admission admit(Time now, Arrival arrival = Arrival::kNew);
  // A request in service finishes at `now`: whether a queued request takes its slot, and what
  // the faults make of its answer.
  Completion complete(Time now);
  // complete(now).starts_next: true when a queued request takes the slot at `now`, and the
  // caller then serves the front of its queue.
  bool finish(Time now) { return complete(now).starts_next; }
  // Idempotent.
  void begin_shutdown() { shutting_down_ = true; }

  // Kinds given in `change` are set or cleared as of `now`; the others stay.
  void apply_faults(const WorkerFaults& change, Time now);
  // What is set: every kind kSet or kClear; crash_after gives the requests still to go.
  WorkerFaults faults() const;
  // A service time the caller drew, under the slow fault.
  Duration service_time(Duration drawn) const {
    return slow_ ? std::chrono::duration_cast<Duration>(drawn * slow_->factor) : drawn;
  }
  // How long to hold the next answer (zero without the latency fault; draws with it).
  Duration answer_delay();

  bool booted(Time now) const { return now >= boot_at_; }
  bool shutting_down() const { return shutting_down_; }
  WorkerHealth health(Time now) const;
  // Shutting down with nothing in service or queued: a worker may exit.
  bool drained() const { return shutting_down_ && in_flight_ == 0 && queued_ == 0; }

  int capacity() const { return capacity_; }
  int in_flight() const { return in_flight_; }
  int queued() const { return queued_; }
  std::uint64_t served() const { return served_; }
  std::uint64_t rejected() const { return rejected_; }
  std::uint64_t errors() const { return errors_; }
  double cpu_utilization(Time now) const;
  Duration busy_time(Time now) const { return utilization_.total_busy_time(now); }
  WorkerStatus status(Time now) const;

 private:
  Admission reject(Admission why);

  const int capacity_;
  const int queue_limit_;
  const Time started_;
  const Time boot_at_;
  UtilizationWindow utilization_;
  const bool since_start_;
  bool shutting_down_ = false;
  int in_flight_ = 0;
  int queued_ = 0;
  std::uint64_t served_ = 0;
  std::uint64_t rejected_ = 0;
  std::uint64_t errors_ = 0;

  std::optional<SlowFault> slow_;
  std::optional<ErrorsFault> errors_fault_;
  std::optional<CrashAfterFault> crash_after_;  // `requests`: those still to go
  std::optional<FlapFault> flap_;
  Time flap_since_{};
  std::optional<LatencyFault> latency_;
  SeededRandom errors_random_;
  SeededRandom latency_random_;
};

}  // namespace flotilla
