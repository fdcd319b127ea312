#include "balancer/target_group.h"

#include <algorithm>
#include <cassert>
#include <charconv>

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

bool StatusMatcher::matches(int status) const {
  return std::any_of(ranges.begin(), ranges.end(),
                     [&](const auto& r) { return status >= r.first && status <= r.second; });
}

std::string StatusMatcher::to_string() const {
  std::string out;
  for (const auto& [low, high] : ranges) {
    if (!out.empty()) out += ",";
    out += std::to_string(low);
    if (high != low) out += "-" + std::to_string(high);
  }
  return out;
}

namespace {

std::optional<int> parse_code(std::string_view text) {
  int value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  if (value < 200 || value > 499) return std::nullopt;
  return value;
}

}  // namespace

std::optional<StatusMatcher> parse_status_matcher(std::string_view text) {
  StatusMatcher m;
  m.ranges.clear();
  while (true) {
    const auto comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    const auto dash = item.find('-');
    const auto low = parse_code(item.substr(0, dash));
    const auto high = dash == std::string_view::npos ? low : parse_code(item.substr(dash + 1));
    if (!low || !high || *high < *low) return std::nullopt;
    m.ranges.emplace_back(*low, *high);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return m;
}

std::uint32_t slow_start_weight(std::uint32_t full, Duration elapsed, Duration window) {
  if (window <= Duration::zero() || elapsed >= window || full == 0) return full;
  using Wide = __int128;  // full x percent x nanoseconds overflows 64 bits for long windows
  const Wide e = std::max<Wide>(elapsed.count(), 0);
  const Wide w = window.count();
  const Wide percent_x_window = kSlowStartInitialPercent * w + (100 - kSlowStartInitialPercent) * e;
  const auto weight = static_cast<std::uint32_t>(Wide{full} * percent_x_window / (100 * w));
  return std::clamp<std::uint32_t>(weight, 1, full);
}

CheckOutcome classify(const HttpGetResult& result, const StatusMatcher& matcher) {
  if (result.ok)
    return matcher.matches(result.status) ? CheckOutcome::kPassed
                                          : CheckOutcome::kResponseCodeMismatch;
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

namespace {

bool in_group(TargetState s) { return s != TargetState::kDraining && s != TargetState::kUnused; }

TargetGroupConfig with_health(HealthCheckConfig health) {
  TargetGroupConfig c;
  c.health_check = std::move(health);
  return c;
}

// `full` is the target's weight outside slow start; the share is how far its ramp has come.
BalancerTarget balancer_target(const TargetInfo& t, std::uint32_t weight, std::uint32_t full) {
  const std::uint32_t share =
      full == 0 || weight >= full
          ? 100
          : std::max<std::uint32_t>(1,
                                    static_cast<std::uint32_t>(std::uint64_t{weight} * 100 / full));
  return BalancerTarget{t.id, t.endpoint, weight, 0, share};
}

}  // namespace

std::vector<BalancerTarget> routable_targets(const std::vector<TargetInfo>& targets, bool fail_open,
                                             std::uint32_t full_scale) {
  std::vector<BalancerTarget> out;
  for (const auto& t : targets) {
    if (t.state == TargetState::kHealthy && !t.ejected)
      out.push_back(balancer_target(t, t.published_weight, t.weight * full_scale));
  }
  if (!out.empty() || !fail_open) return out;
  for (const auto& t : targets) {
    if (in_group(t.state)) out.push_back(balancer_target(t, t.weight * full_scale, 0));
  }
  return out;
}

TargetHealthCounts count_targets(const std::vector<TargetInfo>& targets) {
  TargetHealthCounts c;
  for (const auto& t : targets) {
    switch (t.state) {
      case TargetState::kHealthy:
        ++c.healthy;
        break;
      case TargetState::kUnhealthy:
        ++c.unhealthy;
        break;
      case TargetState::kInitial:
        ++c.initial;
        break;
      case TargetState::kDraining:
        ++c.draining;
        break;
      case TargetState::kUnused:
        break;
    }
    if (t.ejected) ++c.ejected;
  }
  return c;
}

struct TargetGroup::Impl {
  struct Target {
    TargetInfo info;
    std::uint64_t serial = 0;  // tells a late check result from a re-registered target's
    std::unique_ptr<PeriodicTask> checks;
    bool check_in_flight = false;
    Time draining_since{};
    Scheduler::TimerId release_timer = 0;
  };

  Impl(Scheduler& s, Probe p, TargetGroupConfig c)
      : scheduler(s),
        probe(std::move(p)),
        config(std::move(c)),
        detector(config.outlier_detection),
        ramp(scheduler, config.slow_start_update, [this] { on_ramp_tick(); }) {
    assert(config.health_check.interval > Duration::zero());
    assert(config.health_check.healthy_threshold >= 1);
    assert(config.health_check.unhealthy_threshold >= 1);
    assert(config.load_poll_interval > Duration::zero());
    assert(config.slow_start_update > Duration::zero());
  }

  ~Impl() {
    *alive = false;
    for (auto& t : targets)
      if (t->release_timer) scheduler.cancel(t->release_timer);
  }

  std::uint32_t weight_scale() const {
    return config.slow_start > Duration::zero() ? kSlowStartWeightScale : 1;
  }

  Target* find(const std::string& id) {
    auto it = std::find_if(targets.begin(), targets.end(),
                           [&](const auto& t) { return t->info.id == id; });
    return it == targets.end() ? nullptr : it->get();
  }

  std::unique_ptr<Target> take(const std::string& id) {
    auto it = std::find_if(targets.begin(), targets.end(),
                           [&](const auto& t) { return t->info.id == id; });
    if (it == targets.end()) return nullptr;
    std::unique_ptr<Target> t = std::move(*it);
    targets.erase(it);
    if (t->checks) t->checks->stop();
    if (t->release_timer) scheduler.cancel(t->release_timer);
    t->release_timer = 0;
    detector.forget(id);
    return t;
  }

  void set_state(Target& t, TargetState state, std::string_view reason) {
    const TargetState old = t.info.state;
    t.info.reason = std::string(reason);
    if (old == state) return;
    t.info.state = state;
    if (state == TargetState::kHealthy) {
      maybe_start_slow_start(t);
    } else {
      t.info.slow_start_until.reset();
    }
    if (callbacks.on_state_change) callbacks.on_state_change(t.info.id, old, state, reason);
  }

  // AWS: a target enters slow start when it becomes healthy, unless no other healthy target is
  // out of slow start (a cold group starts at full weight: there is no one to spare).
  void maybe_start_slow_start(Target& t) {
    if (config.slow_start <= Duration::zero()) return;
    const bool others = std::any_of(targets.begin(), targets.end(), [&](const auto& o) {
      return o.get() != &t && o->info.state == TargetState::kHealthy && !o->info.slow_start_until;
    });
    if (!others) return;
    t.info.slow_start_until = scheduler.now() + config.slow_start;
    if (!ramp.running()) ramp.start();
  }

  void on_ramp_tick() {
    maybe_publish();
    const bool ramping = std::any_of(targets.begin(), targets.end(),
                                     [](const auto& t) { return t->info.slow_start_until; });
    if (!ramping) ramp.stop();
  }

  void update_weights() {
    const Time now = scheduler.now();
    for (auto& t : targets) {
      TargetInfo& info = t->info;
      const std::uint32_t full = info.weight * weight_scale();
      if (info.slow_start_until && now >= *info.slow_start_until) info.slow_start_until.reset();
      info.published_weight =
          info.slow_start_until
              ? slow_start_weight(full, now - (*info.slow_start_until - config.slow_start),
                                  config.slow_start)
              : full;
    }
  }

  void run_check(Target& t) {
    if (t.check_in_flight) return;  // a slow check (timeout > interval) is not stacked
    t.check_in_flight = true;
    const std::string id = t.info.id;
    const std::uint64_t serial = t.serial;
    probe(t.info.endpoint, config.health_check.path, config.health_check.timeout,
          [this, alive = alive, id, serial](HttpGetResult result) {
            if (!*alive) return;
            Target* target = find(id);
            if (target == nullptr || target->serial != serial) return;
            on_check(*target, result);
          });
  }

  void on_check(Target& t, const HttpGetResult& result) {
    t.check_in_flight = false;
    if (!in_group(t.info.state)) return;  // deregistered while the check was out
    t.info.last_check_at = scheduler.now();
    if (result.ok) {
      t.info.last_status = result.status;
      t.info.last_error.clear();
    } else {
      t.info.last_status = 0;
      t.info.last_error = result.error;
    }
    const HealthStep step =
        next_health(t.info.state, t.info.reason, t.info.counters,
                    classify(result, config.health_check.matcher), config.health_check);
    t.info.counters = step.counters;
    const TargetState before = t.info.state;
    set_state(t, step.state, step.reason);
    // Only a change of state can change the routable set (weights move on the ramp's ticks).
    if (t.info.state != before) maybe_publish();
  }

  std::vector<TargetInfo> infos() const {
    std::vector<TargetInfo> out;
    out.reserve(targets.size());
    for (const auto& t : targets) out.push_back(t->info);
    return out;
  }

  std::vector<BalancerTarget> routable() const {
    auto out = routable_targets(infos(), config.fail_open, weight_scale());
    // The data plane counts failure streaks of this length for outlier detection.
    for (auto& t : out) t.failure_streak = config.outlier_detection.consecutive_5xx;
    return out;
  }

  void maybe_publish() {
    update_weights();
    auto next = routable();
    if (published && next == last_published) return;
    published = true;
    last_published = next;
    if (callbacks.publish) callbacks.publish(std::move(next));
  }

  // Draining -> unused, dropped, on_released.
  void release(const std::string& id, std::uint64_t serial) {
    Target* t = find(id);
    if (t == nullptr || t->serial != serial || t->info.state != TargetState::kDraining) return;
    std::unique_ptr<Target> gone = take(id);
    set_state(*gone, TargetState::kUnused, target_reason::kNotRegistered);
    if (callbacks.on_released) callbacks.on_released(id);
  }

  void on_load_tick() {
    if (!load_source) return;
    const Time now = scheduler.now();

    // A target deregistered within the last poll may still be picked by an IO thread that has
    // not switched to the new set yet; its in-flight count is trusted one poll later.
    std::vector<std::pair<std::string, std::uint64_t>> idle;
    for (const auto& t : targets) {
      if (t->info.state == TargetState::kDraining &&
          now >= t->draining_since + config.load_poll_interval &&
          load_source(t->info.id).outstanding <= 0)
        idle.emplace_back(t->info.id, t->serial);
    }
    for (const auto& [id, serial] : idle) release(id, serial);

    if (!config.outlier_detection.enabled()) return;
    std::vector<OutlierObservation>& observations = observations_;
    observations.clear();
    for (const auto& t : targets) {
      if (!in_group(t->info.state)) continue;
      observations.push_back({t->info.id, load_source(t->info.id).failure_streaks,
                              t->info.state == TargetState::kHealthy});
    }
    const auto changes = detector.update(now, observations);
    for (auto& t : targets) t->info.ejections = detector.ejections(t->info.id);
    for (const auto& change : changes) {
      Target* t = find(change.id);
      if (t == nullptr) continue;
      t->info.ejected = change.ejected;
      t->info.ejected_until = change.ejected ? change.until : Time{};
    }
    if (changes.empty()) return;
    maybe_publish();
    for (const auto& change : changes)
      if (callbacks.on_ejection) callbacks.on_ejection(change.id, change.ejected, change.until);
  }

  Scheduler& scheduler;
  Probe probe;
  TargetGroupConfig config;
  std::vector<OutlierObservation> observations_;  // on_load_tick's, reused
  Callbacks callbacks;
  LoadSource load_source;
  OutlierDetector detector;
  PeriodicTask ramp;
  std::unique_ptr<PeriodicTask> load_poll;
  std::vector<std::unique_ptr<Target>> targets;
  std::uint64_t next_serial = 1;
  std::vector<BalancerTarget> last_published;
  bool published = false;
  std::shared_ptr<bool> alive = std::make_shared<bool>(true);
};

TargetGroup::TargetGroup(Scheduler& scheduler, boost::asio::io_context& io,
                         TargetGroupConfig config)
    : TargetGroup(
          scheduler,
          [&io](const Endpoint& endpoint, const std::string& path, Duration timeout,
                std::function<void(HttpGetResult)> done) {
            http_get(io, endpoint, path, timeout, std::move(done));
          },
          std::move(config)) {}

TargetGroup::TargetGroup(Scheduler& scheduler, boost::asio::io_context& io,
                         HealthCheckConfig health)
    : TargetGroup(scheduler, io, with_health(std::move(health))) {}

TargetGroup::TargetGroup(Scheduler& scheduler, Probe probe, TargetGroupConfig config)
    : impl_(std::make_unique<Impl>(scheduler, std::move(probe), std::move(config))) {}

TargetGroup::TargetGroup(Scheduler& scheduler, Probe probe, HealthCheckConfig health)
    : TargetGroup(scheduler, std::move(probe), with_health(std::move(health))) {}

TargetGroup::~TargetGroup() = default;

void TargetGroup::set_callbacks(Callbacks callbacks) { impl_->callbacks = std::move(callbacks); }

void TargetGroup::set_load_source(LoadSource source) {
  Impl& m = *impl_;
  m.load_source = std::move(source);
  if (!m.load_poll) {
    m.load_poll = std::make_unique<PeriodicTask>(m.scheduler, m.config.load_poll_interval,
                                                 [&m] { m.on_load_tick(); });
    m.load_poll->start();
  }
}

void TargetGroup::register_target(const std::string& id, const Endpoint& endpoint,
                                  std::uint32_t weight) {
  Impl& m = *impl_;
  if (Impl::Target* existing = m.find(id)) {
    if (existing->info.endpoint == endpoint && existing->info.state != TargetState::kDraining) {
      existing->info.weight = weight;
      m.maybe_publish();
      return;
    }
    std::unique_ptr<Impl::Target> old = m.take(id);
    m.set_state(*old, TargetState::kDraining, target_reason::kDeregistrationInProgress);
    m.set_state(*old, TargetState::kUnused, target_reason::kNotRegistered);
  }
  auto t = std::make_unique<Impl::Target>();
  t->info.id = id;
  t->info.endpoint = endpoint;
  t->info.state = TargetState::kUnused;
  t->info.weight = weight;
  t->serial = m.next_serial++;
  Impl::Target& target = *t;
  m.targets.push_back(std::move(t));
  m.set_state(target, TargetState::kInitial, target_reason::kRegistrationInProgress);
  target.checks = std::make_unique<PeriodicTask>(m.scheduler, m.config.health_check.interval,
                                                 [&m, &target] { m.run_check(target); });
  target.checks->start(m.scheduler.now());
  m.maybe_publish();
}

void TargetGroup::deregister_target(const std::string& id) {
  Impl& m = *impl_;
  Impl::Target* t = m.find(id);
  if (t == nullptr || t->info.state == TargetState::kDraining) return;
  t->checks->stop();
  t->check_in_flight = false;
  m.detector.forget(id);
  t->info.ejected = false;
  t->info.ejected_until = Time{};
  t->draining_since = m.scheduler.now();
  t->info.release_by = t->draining_since + m.config.deregistration_delay;
  const std::uint64_t serial = t->serial;
  m.set_state(*t, TargetState::kDraining, target_reason::kDeregistrationInProgress);
  m.maybe_publish();
  if (m.config.deregistration_delay <= Duration::zero()) {
    m.release(id, serial);
    return;
  }
  // `t` may be gone: the callbacks above may have changed the group.
  if (Impl::Target* still = m.find(id); still != nullptr && still->serial == serial) {
    still->release_timer = m.scheduler.schedule_after(
        m.config.deregistration_delay, [&m, alive = m.alive, id, serial] {
          if (!*alive) return;
          if (Impl::Target* d = m.find(id); d != nullptr && d->serial == serial)
            d->release_timer = 0;
          m.release(id, serial);
        });
  }
}

std::vector<TargetInfo> TargetGroup::targets() const { return impl_->infos(); }

std::optional<TargetInfo> TargetGroup::target(const std::string& id) const {
  for (const auto& t : impl_->targets) {
    if (t->info.id == id) return t->info;
  }
  return std::nullopt;
}

std::vector<BalancerTarget> TargetGroup::routable() const { return impl_->routable(); }

TargetHealthCounts TargetGroup::counts() const { return count_targets(impl_->infos()); }

std::size_t TargetGroup::healthy_host_count() const { return counts().healthy; }

std::size_t TargetGroup::unhealthy_host_count() const { return counts().unhealthy; }

const HealthCheckConfig& TargetGroup::config() const { return impl_->config.health_check; }

const TargetGroupConfig& TargetGroup::group_config() const { return impl_->config; }

}  // namespace flotilla
