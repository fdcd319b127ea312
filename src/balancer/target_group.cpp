#include "balancer/target_group.h"

#include <algorithm>
#include <cassert>

namespace flotilla {

std::string_view to_string(TargetState state) {
  switch (state) {
    case TargetState::kInitial:
      return "initial";
    case TargetState::kHealthy:
      return "healthy";
    case TargetState::kUnhealthy:
      return "unhealthy";
    case TargetState::kDraining:
      return "draining";
    case TargetState::kUnused:
      return "unused";
  }
  return "unknown";
}

CheckOutcome classify(const HttpGetResult& result) {
  if (result.ok)
    return result.status == 200 ? CheckOutcome::kPassed : CheckOutcome::kResponseCodeMismatch;
  if (result.error == "timeout") return CheckOutcome::kTimeout;
  return CheckOutcome::kFailed;
}

namespace {

std::string_view failure_reason(CheckOutcome outcome) {
  switch (outcome) {
    case CheckOutcome::kResponseCodeMismatch:
      return target_reason::kResponseCodeMismatch;
    case CheckOutcome::kTimeout:
      return target_reason::kTimeout;
    default:
      return target_reason::kFailedHealthChecks;
  }
}

}  // namespace

HealthStep next_health(TargetState state, std::string_view reason, HealthCounters counters,
                       CheckOutcome outcome, const HealthCheckConfig& config) {
  if (state == TargetState::kDraining || state == TargetState::kUnused) {
    return {state, reason, counters};
  }
  if (outcome == CheckOutcome::kPassed) {
    counters.consecutive_passes += 1;
    counters.consecutive_failures = 0;
    if (state != TargetState::kHealthy && counters.consecutive_passes >= config.healthy_threshold) {
      return {TargetState::kHealthy, target_reason::kNone, counters};
    }
    // An unhealthy target keeps the reason it failed for until it is healthy again.
    if (state == TargetState::kInitial)
      return {state, target_reason::kInitialHealthChecking, counters};
    return {state, reason, counters};
  }
  counters.consecutive_failures += 1;
  counters.consecutive_passes = 0;
  if (state == TargetState::kUnhealthy ||
      counters.consecutive_failures >= config.unhealthy_threshold) {
    return {TargetState::kUnhealthy, failure_reason(outcome), counters};
  }
  if (state == TargetState::kInitial)
    return {state, target_reason::kInitialHealthChecking, counters};
  return {state, reason, counters};
}

struct TargetGroup::Impl {
  struct Target {
    TargetInfo info;
    std::uint64_t serial = 0;  // tells a late check result from a re-registered target's
    std::unique_ptr<PeriodicTask> checks;
    bool check_in_flight = false;
  };

  Impl(Scheduler& s, Probe p, HealthCheckConfig c)
      : scheduler(s), probe(std::move(p)), config(std::move(c)) {
    assert(config.interval > Duration::zero());
    assert(config.healthy_threshold >= 1 && config.unhealthy_threshold >= 1);
  }

  Target* find(const std::string& id) {
    auto it = std::find_if(targets.begin(), targets.end(),
                           [&](const auto& t) { return t->info.id == id; });
    return it == targets.end() ? nullptr : it->get();
  }

  void set_state(Target& t, TargetState state, std::string_view reason) {
    const TargetState old = t.info.state;
    t.info.reason = std::string(reason);
    if (old == state) return;
    t.info.state = state;
    if (callbacks.on_state_change) callbacks.on_state_change(t.info.id, old, state, reason);
  }

  void run_check(Target& t) {
    if (t.check_in_flight) return;  // a slow check (timeout > interval) is not stacked
    t.check_in_flight = true;
    const std::string id = t.info.id;
    const std::uint64_t serial = t.serial;
    probe(t.info.endpoint, config.path, config.timeout,
          [this, alive = alive, id, serial](HttpGetResult result) {
            if (!*alive) return;
            Target* target = find(id);
            if (target == nullptr || target->serial != serial) return;
            on_check(*target, result);
          });
  }

  void on_check(Target& t, const HttpGetResult& result) {
    t.check_in_flight = false;
    if (result.ok) {
      t.info.last_status = result.status;
      t.info.last_error.clear();
    } else {
      t.info.last_status = 0;
      t.info.last_error = result.error;
    }
    const HealthStep step =
        next_health(t.info.state, t.info.reason, t.info.counters, classify(result), config);
    t.info.counters = step.counters;
    set_state(t, step.state, step.reason);
    maybe_publish();
  }

  std::vector<BalancerTarget> routable() const {
    std::vector<BalancerTarget> out;
    for (const auto& t : targets) {
      if (t->info.state == TargetState::kHealthy) out.push_back({t->info.id, t->info.endpoint});
    }
    if (!out.empty()) return out;
    for (const auto& t : targets) {
      const auto s = t->info.state;
      if (s != TargetState::kDraining && s != TargetState::kUnused) {
        out.push_back({t->info.id, t->info.endpoint});
      }
    }
    return out;
  }

  void maybe_publish() {
    auto next = routable();
    if (published && next == last_published) return;
    published = true;
    last_published = next;
    if (callbacks.publish) callbacks.publish(std::move(next));
  }

  Scheduler& scheduler;
  Probe probe;
  HealthCheckConfig config;
  Callbacks callbacks;
  std::vector<std::unique_ptr<Target>> targets;
  std::uint64_t next_serial = 1;
  std::vector<BalancerTarget> last_published;
  bool published = false;
  std::shared_ptr<bool> alive = std::make_shared<bool>(true);
};

TargetGroup::TargetGroup(Scheduler& scheduler, boost::asio::io_context& io,
                         HealthCheckConfig config)
    : TargetGroup(
          scheduler,
          [&io](const Endpoint& endpoint, const std::string& path, Duration timeout,
                std::function<void(HttpGetResult)> done) {
            http_get(io, endpoint, path, timeout, std::move(done));
          },
          std::move(config)) {}

TargetGroup::TargetGroup(Scheduler& scheduler, Probe probe, HealthCheckConfig config)
    : impl_(std::make_unique<Impl>(scheduler, std::move(probe), std::move(config))) {}

TargetGroup::~TargetGroup() { *impl_->alive = false; }

void TargetGroup::set_callbacks(Callbacks callbacks) { impl_->callbacks = std::move(callbacks); }

void TargetGroup::register_target(const std::string& id, const Endpoint& endpoint) {
  Impl& m = *impl_;
  if (Impl::Target* existing = m.find(id)) {
    if (existing->info.endpoint == endpoint) return;
    deregister_target(id);
  }
  auto t = std::make_unique<Impl::Target>();
  t->info.id = id;
  t->info.endpoint = endpoint;
  t->info.state = TargetState::kUnused;
  t->serial = m.next_serial++;
  Impl::Target& target = *t;
  m.targets.push_back(std::move(t));
  m.set_state(target, TargetState::kInitial, target_reason::kRegistrationInProgress);
  target.checks = std::make_unique<PeriodicTask>(m.scheduler, m.config.interval,
                                                 [&m, &target] { m.run_check(target); });
  target.checks->start(m.scheduler.now());
  m.maybe_publish();
}

void TargetGroup::deregister_target(const std::string& id) {
  Impl& m = *impl_;
  auto it = std::find_if(m.targets.begin(), m.targets.end(),
                         [&](const auto& t) { return t->info.id == id; });
  if (it == m.targets.end()) return;
  std::unique_ptr<Impl::Target> t = std::move(*it);
  m.targets.erase(it);
  t->checks->stop();
  m.set_state(*t, TargetState::kDraining, target_reason::kDeregistrationInProgress);
  m.set_state(*t, TargetState::kUnused, target_reason::kNotRegistered);
  m.maybe_publish();
}

std::vector<TargetInfo> TargetGroup::targets() const {
  std::vector<TargetInfo> out;
  for (const auto& t : impl_->targets) out.push_back(t->info);
  return out;
}

std::optional<TargetInfo> TargetGroup::target(const std::string& id) const {
  for (const auto& t : impl_->targets) {
    if (t->info.id == id) return t->info;
  }
  return std::nullopt;
}

std::vector<BalancerTarget> TargetGroup::routable() const { return impl_->routable(); }

std::size_t TargetGroup::healthy_host_count() const {
  return std::count_if(impl_->targets.begin(), impl_->targets.end(),
                       [](const auto& t) { return t->info.state == TargetState::kHealthy; });
}

std::size_t TargetGroup::unhealthy_host_count() const {
  return std::count_if(impl_->targets.begin(), impl_->targets.end(),
                       [](const auto& t) { return t->info.state == TargetState::kUnhealthy; });
}

const HealthCheckConfig& TargetGroup::config() const { return impl_->config; }

}  // namespace flotilla
