#include "orchestrator/balance_command.h"

#include <signal.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <memory>
#include <ostream>

#include "balancer/balancer.h"
#include "balancer/target_group.h"
#include "core/errors.h"
#include "core/live_scheduler.h"

namespace flotilla {

namespace {

// One target group of static targets, health-checked on the control thread, publishing its
// routable set to the balancer's group of the same name.
std::unique_ptr<TargetGroup> make_group(const StaticTargetGroup& config, Scheduler& scheduler,
                                        boost::asio::io_context& io, Balancer& balancer) {
  auto group = std::make_unique<TargetGroup>(scheduler, io, config.config);
  TargetGroup::Callbacks callbacks;
  callbacks.on_state_change = [name = config.name](const std::string& id, TargetState from,
                                                   TargetState to, std::string_view reason) {
    const auto level = to == TargetState::kUnhealthy ? spdlog::level::warn : spdlog::level::info;
    spdlog::log(level, "target group {}: target {} {} -> {}{}{}", name, id, to_string(from),
                to_string(to), reason.empty() ? "" : " ", reason);
  };
  callbacks.on_ejection = [name = config.name](const std::string& id, bool ejected, Time) {
    spdlog::log(ejected ? spdlog::level::warn : spdlog::level::info,
                "target group {}: target {} {}", name, id,
                ejected ? "ejected (outlier detection)" : "back from ejection");
  };
  callbacks.publish = [&balancer, name = config.name](std::vector<BalancerTarget> routable) {
    balancer.set_target_group(name, std::move(routable));
  };
  group->set_callbacks(std::move(callbacks));
  // Outlier detection reads the data plane's per-target failures in a row.
  group->set_load_source([&balancer](const std::string& id) { return balancer.target_load(id); });
  return group;
}

}  // namespace

int run_balance(const BalanceFlags& flags, std::ostream& out) {
  const BalanceConfig config = resolve_balance_config(flags);

  boost::asio::io_context io;
  LiveScheduler scheduler(io);
  // Installed before the IO threads start, so a signal that arrives during start-up is not lost.
  boost::asio::signal_set stop_signals(io, SIGINT, SIGTERM);

  Balancer balancer(config.balancer_config());
  std::vector<std::unique_ptr<TargetGroup>> groups;
  for (const auto& g : config.target_groups)
    groups.push_back(make_group(g, scheduler, io, balancer));

  balancer.start();
  // Targets start in `initial`; with none healthy yet a group fails open and routes to all.
  for (std::size_t i = 0; i < groups.size(); ++i)
    for (const auto& target : config.target_groups[i].targets)
      groups[i]->register_target(target.endpoint.to_string(), target.endpoint, target.weight);

  out << "flotilla balance listening on " << config.balancer.host << ":" << balancer.port()
      << std::endl;

  int received = 0;
  stop_signals.async_wait([&](const boost::system::error_code& ec, int signal_number) {
    if (ec) return;
    received = signal_number;
    io.stop();
  });
  io.run();
  spdlog::info("flotilla balance: signal {}, stopping", received);
  groups.clear();
  balancer.stop();
  return 0;
}

}  // namespace flotilla
