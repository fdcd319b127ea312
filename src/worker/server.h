#pragma once
// WorkerServer: the simulated server behind flotilla-worker. An HTTP/1.1 keep-alive server that
// behaves like a machine of limited capacity, as its WorkerModel (worker/worker_model.h) decides:
//
// - GET /health: 200 "ok" once booted (boot_time after construction), 503 before, once
//   shutting down and in the unhealthy half of a flap.
// - GET /metrics: JSON {"worker_id", "in_flight", "queued", "served", "rejected",
//   "cpu_utilization" (0-100, busy slot-time over the last cpu_window / (capacity * window)),
//   "capacity", "booted", "uptime_seconds", "busy_seconds" (busy slot-seconds since start)}
//   (worker/status_json.h).
// - Any other path is work: it holds one of `capacity` slots for a service time drawn from the
//   profile's distribution (a timer, not a CPU burn); with every slot busy it waits in a FIFO
//   queue of at most queue_limit; beyond that, and before boot, it is answered 503 at once and
//   counted in "rejected". Served work is answered 200 (500 under the errors fault).
// - /flotilla/...: the control interface (worker/control.h): GET and PUT /flotilla/faults read
//   and set the faults (worker/faults.h) that the model applies (worker/worker_model.h): slow,
//   errors, crash_after, flap, latency. Latency holds answers to work and to /health (not
//   /metrics, not control) after they are ready; the slot is free meanwhile.
// Every response carries `X-Flotilla-Worker: <worker_id>`. Request bodies are read and discarded,
// except a control request's.
//
// crash_after: once the answer to the last request is written, every connection is dropped
// unanswered, the listener closes and run() returns with crashed() true (the binary then exits
// kCrashExitCode). SIGSTOP and SIGCONT need nothing here: the kernel freezes the process, and
// timers whose time passed meanwhile fire at SIGCONT.
//
// Graceful shutdown (what SIGTERM does): stop accepting connections, close idle keep-alive
// connections, finish requests in service and in the queue and answer them with
// `Connection: close`; then run() returns. A connection caught mid-request is given
// kShutdownReadGrace to complete its request before it is closed.
//
// Threading: run() serves on the calling thread with its own io_context. begin_shutdown() and
// port() may be called from any thread; the rest from the owning thread.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "worker/profile.h"

namespace flotilla {

class WorkerServer {
 public:
  static constexpr std::chrono::seconds kShutdownReadGrace{5};

  // Binds and listens at once (port 0: the OS picks). UserError when the address is in use
  // ("127.0.0.1:PORT is already in use") or `host` is not an IP address. The boot clock starts
  // here. `profile` must be valid (as parse_worker_profile returns it).
  WorkerServer(WorkerProfile profile, std::string worker_id, std::uint64_t seed,
               std::string host = "127.0.0.1", std::uint16_t port = 0);
  // Shuts down and joins a thread started by start_in_thread().
  ~WorkerServer();

  WorkerServer(const WorkerServer&) = delete;
  WorkerServer& operator=(const WorkerServer&) = delete;

  // The bound port.
  std::uint16_t port() const;
  const std::string& host() const;

  // SIGTERM and SIGINT start a graceful shutdown; a second one has its default effect.
  // Call before run().
  void shutdown_on_signals();

  // Serves until a shutdown completes or crash_after ends the server. Call once.
  void run();
  // After run() returned: it was crash_after, not a shutdown.
  bool crashed() const;
  // run() on a new thread, for in-process use; join() waits for it to return.
  void start_in_thread();
  void join();

  // Thread-safe; idempotent.
  void begin_shutdown();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace flotilla
