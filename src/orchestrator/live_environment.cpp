// make_live(): the real world. The only place that builds a LiveScheduler, a ProcessProvider,
// CommandProvider or SwarmProvider, and the Balancer for the assembled system.
#include <signal.h>

#include <memory>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <spdlog/spdlog.h>

#include "balancer/http_client.h"
#include "core/live_scheduler.h"
#include "fleet/command_provider.h"
#include "fleet/process_provider.h"
#include "fleet/swarm_provider.h"
#include "orchestrator/environment.h"
#include "orchestrator/process_cpu_source.h"
#include "orchestrator/worker_metrics_source.h"
#include "scenario/load_generator.h"
#include "worker/control.h"

namespace flotilla {

namespace {

// A worker answers its control interface at once; longer means it is stopped or gone.
constexpr Duration kControlTimeout = std::chrono::seconds(2);

class LiveEnvironment final : public Environment {
 public:
  explicit LiveEnvironment(LiveOptions options)
      : own_io_(options.io ? nullptr : std::make_unique<boost::asio::io_context>()),
        io_(options.io ? *options.io : *own_io_),
        scheduler_(io_),
        kind_(options.provider),
        provider_(make_provider(io_, kind_, std::move(options.swarm))),
        host_(options.balancer.host),
        balancer_(std::move(options.balancer)),
        signals_(io_, SIGINT, SIGTERM) {
    // Installed before anything starts, so a signal during start-up is not lost.
    await_signal();
  }

  ~LiveEnvironment() override {
    boost::system::error_code ignored;
    signals_.cancel(ignored);
    balancer_.stop();
  }

  std::string_view mode() const override { return kModeLive; }
  Scheduler& scheduler() override { return scheduler_; }
  Provider& provider() override { return *provider_; }
  DataPlane& data_plane() override { return balancer_; }

  TargetGroup::Probe health_probe() override {
    return [this](const Endpoint& endpoint, const std::string& path, Duration timeout,
                  std::function<void(HttpGetResult)> done) {
      http_get(io_, endpoint, path, timeout, std::move(done));
    };
  }

  std::shared_ptr<MetricSource> worker_metrics(const WorkerId& id, const Endpoint& endpoint,
                                               Duration timeout) override {
    if (kind_ == LiveProvider::kCommand)
      return std::make_shared<ProcessCpuSource>(id, [this, id] { return provider_->pid(id); });
    return std::make_shared<WorkerMetricsSource>(io_, id, endpoint, timeout);
  }

  void control_worker(const WorkerId& id, const Endpoint& endpoint,
                      const WorkerFaults& faults) override {
    // The scenario parser and the admin API refuse these faults for a user's server.
    if (kind_ == LiveProvider::kCommand) {
      spdlog::warn("worker {}: a command worker has no control interface; faults not sent", id);
      return;
    }
    send_worker_faults(io_, endpoint, faults, kControlTimeout, [id](HttpGetResult result) {
      if (!result.ok || result.status != 200)
        spdlog::warn("worker {}: its control interface did not take the faults ({})", id,
                     result.ok ? "status " + std::to_string(result.status) + ": " + result.body
                               : result.error);
    });
  }

  std::unique_ptr<Traffic> make_traffic(LoadConfig config) override {
    config.target = Endpoint{host_, balancer_.port()};
    return std::make_unique<LoadGenerator>(std::move(config));
  }

  std::string balancer_address() const override {
    return host_ + ":" + std::to_string(balancer_.port());
  }

  bool run_until_signal(const std::function<bool()>& done, Duration deadline,
                        int signals) override {
    const Time end = scheduler_.now() + deadline;
    while (!done()) {
      if (signals_received_ >= signals || scheduler_.now() >= end) return false;
      io_.restart();
      io_.run_one_for(std::chrono::milliseconds(20));
    }
    return true;
  }

  int signals_received() const override { return signals_received_; }

 private:
  static std::unique_ptr<Provider> make_provider(boost::asio::io_context& io, LiveProvider kind,
                                                 SwarmProviderOptions swarm) {
    if (kind == LiveProvider::kCommand) return std::make_unique<CommandProvider>(io);
    if (kind == LiveProvider::kSwarm) {
      swarm.remote_signal = [&io](const WorkerId& id, const Endpoint& endpoint, int sig,
                                  Duration stop_for) {
        send_self_signal(io, id, endpoint, sig, stop_for);
      };
      return SwarmProvider::make_checked(io, std::move(swarm));
    }
    return std::make_unique<ProcessProvider>(io);
  }

  // A worker whose process flotilla cannot signal signals itself (worker/control.h).
  static void send_self_signal(boost::asio::io_context& io, const WorkerId& id,
                               const Endpoint& endpoint, int sig, Duration stop_for) {
    const SelfSignal s{sig, stop_for};
    HttpRequest request{"PUT", std::string(kSignalPath), self_signal_json(s), "application/json"};
    http_request(io, endpoint, std::move(request), kControlTimeout, [id](HttpGetResult result) {
      if (!result.ok || result.status != 200)
        spdlog::warn("worker {}: its control interface did not take the signal ({})", id,
                     result.ok ? "status " + std::to_string(result.status) + ": " + result.body
                               : result.error);
    });
  }

  void await_signal() {
    signals_.async_wait([this](const boost::system::error_code& ec, int) {
      if (ec) return;
      ++signals_received_;
      await_signal();
    });
  }

  // Order matters: the provider and the balancer go before the io_context they use.
  std::unique_ptr<boost::asio::io_context> own_io_;
  boost::asio::io_context& io_;
  LiveScheduler scheduler_;
  LiveProvider kind_;
  std::unique_ptr<Provider> provider_;
  std::string host_;
  Balancer balancer_;
  boost::asio::signal_set signals_;
  int signals_received_ = 0;
};

}  // namespace

std::unique_ptr<Environment> make_live(LiveOptions options) {
  return std::make_unique<LiveEnvironment>(std::move(options));
}

}  // namespace flotilla
