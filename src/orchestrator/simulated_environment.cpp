// make_simulated(): the simulated world. The only place that builds a VirtualScheduler and the
// modelled fleet, data plane and traffic for the assembled system. No process is started and no
// socket is opened.
#include "core/signal_counter.h"
#include "core/virtual_scheduler.h"
#include "orchestrator/environment.h"
#include "orchestrator/worker_metrics_source.h"
#include "sim/sim_data_plane.h"
#include "sim/sim_fleet.h"
#include "sim/sim_traffic.h"

namespace flotilla {

namespace {

// A worker's own numbers straight from its model, published as the live worker's /metrics are.
class SimWorkerMetrics final : public MetricSource {
 public:
  SimWorkerMetrics(SimFleet& fleet, WorkerId id) : fleet_(fleet), id_(std::move(id)) {}
  void collect(Time now, Done done) override {
    const SimWorker* w = fleet_.find(id_);
    if (w == nullptr || w->exited()) return done({});
    done(worker_samples(id_, worker_reading(w->status(now)), baseline_));
  }

 private:
  SimFleet& fleet_;
  WorkerId id_;
  WorkerBaseline baseline_;
};

SimDataPlaneConfig data_plane_config(const BalancerConfig& b) {
  SimDataPlaneConfig c;
  c.algorithm = b.algorithm;
  c.seed = b.seed;
  c.retry.max_retries = b.max_retries;
  c.retry.budget_percent = b.retry_budget_percent;
  c.retry.budget_min_concurrency = b.retry_budget_min_concurrency;
  c.response_timeout = b.response_timeout;
  return c;
}

class SimulatedEnvironment final : public Environment {
 public:
  explicit SimulatedEnvironment(SimulatedOptions options)
      : fleet_(scheduler_, std::move(options.profile), options.seed),
        data_plane_(scheduler_, fleet_, data_plane_config(options.balancer)) {
    fleet_.set_worker_client(data_plane_);
  }

  std::string_view mode() const override { return kModeSimulated; }
  Scheduler& scheduler() override { return scheduler_; }
  Provider& provider() override { return fleet_; }
  DataPlane& data_plane() override { return data_plane_; }

  TargetGroup::Probe health_probe() override {
    return [this](const Endpoint& endpoint, const std::string& path, Duration timeout,
                  std::function<void(HttpGetResult)> done) {
      fleet_.probe(endpoint, path, timeout, done);
    };
  }

  std::shared_ptr<MetricSource> worker_metrics(const WorkerId& id, const Endpoint&,
                                               Duration) override {
    return std::make_shared<SimWorkerMetrics>(fleet_, id);
  }

  void control_worker(const WorkerId& id, const Endpoint&, const WorkerFaults& faults) override {
    fleet_.set_faults(id, faults);
  }

  // The traffic the caller gets is a handle: the SimTraffic itself stays here until the world
  // ends, because its next arrival is an event in the queue and its requests in flight are
  // answered to it (the data plane keeps each request's sender). Dropping the handle stops it.
  std::unique_ptr<Traffic> make_traffic(LoadConfig config) override {
    traffics_.push_back(std::make_unique<SimTraffic>(scheduler_, data_plane_, std::move(config)));
    return std::make_unique<TrafficHandle>(*traffics_.back());
  }

  std::string balancer_address() const override { return std::string(kModeSimulated); }

  bool run_until_signal(const std::function<bool()>& done, Duration deadline,
                        int signals) override {
    const Time end = scheduler_.now() + deadline;
    while (!done()) {
      if (signals_.count() >= signals) return false;
      if (!scheduler_.step(end)) {
        // Nothing more happens before the deadline.
        scheduler_.run_until(end);
        return done();
      }
    }
    return true;
  }

  int signals_received() const override { return signals_.count(); }

 private:
  class TrafficHandle final : public Traffic {
   public:
    explicit TrafficHandle(SimTraffic& traffic) : traffic_(traffic) {}
    ~TrafficHandle() override { traffic_.stop(); }
    void start() override { traffic_.start(); }
    void stop() override { traffic_.stop(); }
    LoadSnapshot snapshot(std::optional<std::size_t> recent_seconds) const override {
      return traffic_.snapshot(recent_seconds);
    }

   private:
    SimTraffic& traffic_;
  };

  SignalCounter signals_;
  VirtualScheduler scheduler_;
  SimFleet fleet_;
  SimDataPlane data_plane_;
  std::vector<std::unique_ptr<SimTraffic>> traffics_;  // after what they use
};

}  // namespace

std::unique_ptr<Environment> make_simulated(SimulatedOptions options) {
  return std::make_unique<SimulatedEnvironment>(std::move(options));
}

}  // namespace flotilla
