#pragma once
// Environment: what differs between the live and the simulated world, and only that. The
// assembled system (system.h), `run`, `balance`, `compare` and the coming `serve` take one and
// never ask which world they are in; make_live() and make_simulated() are the only places that
// choose.
//
//                    live (make_live)                      simulated (make_simulated)
//   scheduler        Asio timers on the wall clock         virtual time (an event queue)
//   provider         flotilla-worker child processes,      modelled workers (sim/sim_fleet.h)
//                    the user's command or swarm services
//                    (LiveOptions)
//   data plane       the balancer: an HTTP proxy           requests as events
//   (sim/sim_data_plane.h) health probe     GET /health over TCP                  the modelled
//   worker's answer worker metrics   GET /metrics over TCP; a command's    the modelled worker's
//   numbers
//                    CPU time from /proc
//   worker faults    PUT /flotilla/faults over TCP         the modelled worker takes them
//   traffic          the load generator's HTTP requests    arrivals in virtual time
//   run_until        runs the io_context                   runs the event queue
//
// The group, scaling loop, collector, metric store, alarms, policies, target group and pickers
// are the same objects and code in both.
//
// Threading: the control-plane thread (the one that calls run_until).
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "balancer/balancer.h"
#include "balancer/data_plane.h"
#include "balancer/target_group.h"
#include "core/scheduler.h"
#include "fleet/provider.h"
#include "fleet/swarm_provider.h"
#include "metrics/metric_source.h"
#include "scenario/traffic.h"
#include "worker/faults.h"
#include "worker/profile.h"

namespace boost::asio {
class io_context;
}

namespace flotilla {

inline constexpr std::string_view kModeLive = "live";
inline constexpr std::string_view kModeSimulated = "simulated";

class Environment {
 public:
  virtual ~Environment() = default;

  // kModeLive or kModeSimulated (report.json's "mode").
  virtual std::string_view mode() const = 0;
  virtual Scheduler& scheduler() = 0;
  virtual Provider& provider() = 0;
  virtual DataPlane& data_plane() = 0;
  // The target groups' health checks.
  virtual TargetGroup::Probe health_probe() = 0;
  // The collector's source of one worker's own numbers (AWS/EC2 CPUUtilization ...).
  virtual std::shared_ptr<MetricSource> worker_metrics(const WorkerId& id,
                                                       const Endpoint& endpoint,
                                                       Duration timeout) = 0;
  // Tells a worker which faults to suffer (worker/faults.h): live, through its control
  // interface over HTTP (a failure is logged, not fatal: the worker may have just died);
  // simulated, the modelled worker takes it at once.
  virtual void control_worker(const WorkerId& id, const Endpoint& endpoint,
                              const WorkerFaults& faults) = 0;
  // A load generator whose requests reach this world's data plane (`config.target` is set
  // here). One at a time.
  virtual std::unique_ptr<Traffic> make_traffic(LoadConfig config) = 0;
  // Where clients reach the balancer ("127.0.0.1:8080"; "simulated" when they cannot).
  virtual std::string balancer_address() const = 0;

  // Runs the world until done() holds or `deadline` of the world's own time has passed; true if
  // done() held. Returns false at once when interrupted. done() is asked after every event:
  // keep it cheap.
  bool run_until(const std::function<bool()>& done, Duration deadline) {
    return run_until_signal(done, deadline, 1);
  }
  // As run_until(), but it returns false at once only once `signals` SIGINTs and SIGTERMs (as
  // signals_received() counts them) have arrived: the graceful stop that a first signal began
  // runs the world with 2, so that a second signal cuts it short.
  virtual bool run_until_signal(const std::function<bool()>& done, Duration deadline,
                                int signals) = 0;
  // SIGINTs and SIGTERMs that arrived since the environment was made.
  virtual int signals_received() const = 0;
  bool interrupted() const { return signals_received() > 0; }
};

// What a live worker is: a flotilla-worker (fleet/process_provider.h) or the user's own server
// (fleet/command_provider.h). A command worker's CPUUtilization comes from its processes' CPU
// time (process_cpu_source.h), and it has no control interface (control_worker logs and does
// nothing: its scenario and admin API refuse those faults).
// A swarm worker is a flotilla-worker in a Docker Swarm service (fleet/swarm_provider.h): its
// numbers and faults go over its control interface as a process's do, and a signal for a
// worker on another node goes there too (PUT /flotilla/signal).
enum class LiveProvider { kProcess, kCommand, kSwarm };

struct LiveOptions {
  BalancerConfig balancer;
  LiveProvider provider = LiveProvider::kProcess;
  // The swarm provider's settings (image, constraints); make_live() checks the engine, the
  // swarm and the image before anything starts (UserError) and sweeps what a SIGKILLed
  // flotilla left.
  SwarmProviderOptions swarm;
  // The control plane's io_context, when the caller serves more on it (serve's admin API);
  // it must outlive the environment. Null: the environment has its own.
  boost::asio::io_context* io = nullptr;
};
std::unique_ptr<Environment> make_live(LiveOptions options);

struct SimulatedOptions {
  // The data plane takes the listener's algorithm, seed and retry settings; addresses,
  // threads, timeouts and limits have no meaning without sockets.
  BalancerConfig balancer;
  WorkerProfile profile;  // every simulated worker's
  std::uint64_t seed = 1;
};
std::unique_ptr<Environment> make_simulated(SimulatedOptions options);

}  // namespace flotilla
