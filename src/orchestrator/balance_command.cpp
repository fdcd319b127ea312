#include "orchestrator/balance_command.h"

#include <spdlog/spdlog.h>

#include <limits>
#include <memory>
#include <ostream>

#include "balancer/target_group.h"
#include "core/duration.h"
#include "core/errors.h"
#include "orchestrator/drain.h"
#include "orchestrator/environment.h"

namespace flotilla {

namespace {

// One target group of static targets, health-checked on the control thread, publishing its
// routable set to the data plane's group of the same name.
std::unique_ptr<TargetGroup> make_group(const StaticTargetGroup& config, Environment& env) {
  auto group =
      std::make_unique<TargetGroup>(env.scheduler(), env.health_probe(), config.config);
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
  DataPlane& plane = env.data_plane();
  callbacks.publish = [&plane, name = config.name](std::vector<BalancerTarget> routable) {
    plane.set_target_group(name, std::move(routable));
  };
  group->set_callbacks(std::move(callbacks));
  // Draining (what is still in flight) and outlier detection (failure streaks that reached the
  // group's consecutive_5xx) read the data plane's per-target load.
  group->set_load_source([&plane](const std::string& id) { return plane.target_load(id); });
  return group;
}

}  // namespace

int run_balance(const BalanceFlags& flags, std::ostream& out) {
  const BalanceConfig config = resolve_balance_config(flags);
  LiveOptions options;
  options.balancer = config.balancer_config();
  std::unique_ptr<Environment> env = make_live(std::move(options));

  std::vector<std::unique_ptr<TargetGroup>> groups;
  for (const auto& g : config.target_groups) groups.push_back(make_group(g, *env));

  env->data_plane().start();
  // Targets start in `initial`; with none healthy yet a group fails open and routes to all.
  for (std::size_t i = 0; i < groups.size(); ++i)
    for (const auto& target : config.target_groups[i].targets)
      groups[i]->register_target(target.endpoint.to_string(), target.endpoint, target.weight);

  out << "flotilla balance listening on " << env->balancer_address() << std::endl;

  // Until SIGINT or SIGTERM; the health checks go on while what is in flight finishes, since
  // a retry may still need a target.
  env->run_until([] { return false; }, Duration::max() / 2);
  spdlog::info("flotilla balance: signal received, draining (at most {})",
               format_duration(config.drain_timeout));
  const DrainResult drained = drain_data_plane(*env, config.drain_timeout);
  if (drained.outcome != DrainOutcome::kDrained)
    spdlog::warn("flotilla balance: {}, {} client connection(s) closed unfinished",
                 drained.outcome == DrainOutcome::kTimedOut ? "drain timeout" : "second signal",
                 drained.open_connections);
  groups.clear();
  return 0;
}

}  // namespace flotilla
