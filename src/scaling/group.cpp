#include "scaling/group.h"

#include <spdlog/spdlog.h>
#include <signal.h>

#include <algorithm>
#include <cassert>

#include "core/duration.h"

namespace flotilla {

Group::Group(Scheduler& scheduler, Provider& provider, GroupConfig config)
    : scheduler_(scheduler), provider_(provider), config_(std::move(config)) {
  assert(0 <= config_.min && config_.min <= config_.desired && config_.desired <= config_.max);
  if (config_.zones.empty()) {
    zones_.push_back(Zone{});
  } else {
    for (const auto& name : config_.zones) zones_.push_back(Zone{name});
  }
  provider_.set_callbacks({
      [this](const WorkerId& id, const Endpoint& ep) { on_listening(id, ep); },
      [this](const WorkerId& id, const WorkerExit& exit) { on_exit(id, exit); },
  });
}

Group::~Group() {
  provider_.set_callbacks({});
  for (const Worker& w : workers_) {
    if (w.grace_timer) scheduler_.cancel(w.grace_timer);
    if (w.drain_timer) scheduler_.cancel(w.drain_timer);
    if (w.kill_timer) scheduler_.cancel(w.kill_timer);
  }
  if (launch_timer_) scheduler_.cancel(launch_timer_);
}

void Group::set_callbacks(Callbacks callbacks) { callbacks_ = std::move(callbacks); }

void Group::start() {
  record(0, config_.desired,
         "group created with min " + std::to_string(config_.min) + ", max " +
             std::to_string(config_.max) + ", desired " + std::to_string(config_.desired));
  reconcile();
}

Group::Worker* Group::find(const WorkerId& id) {
  auto it =
      std::find_if(workers_.begin(), workers_.end(), [&](const Worker& w) { return w.id == id; });
  return it == workers_.end() ? nullptr : &*it;
}

const Group::Worker* Group::find(const WorkerId& id) const {
  auto it =
      std::find_if(workers_.begin(), workers_.end(), [&](const Worker& w) { return w.id == id; });
  return it == workers_.end() ? nullptr : &*it;
}

std::optional<LifecycleState> Group::worker_state(const WorkerId& id) const {
  if (const Worker* w = find(id)) return w->state;
  return std::nullopt;
}

int Group::active() const {
  int n = 0;
  for (const Worker& w : workers_) {
    if (w.rebalance && w.state == LifecycleState::pending) continue;
    n += (w.state == LifecycleState::pending || w.state == LifecycleState::in_service) ? 1 : 0;
  }
  return n;
}

int Group::in_zone(std::size_t zone, bool in_service_only) const {
  int n = 0;
  for (const Worker& w : workers_) {
    if (w.zone != zone) continue;
    n += (w.state == LifecycleState::in_service ||
          (!in_service_only && w.state == LifecycleState::pending))
             ? 1
             : 0;
  }
  return n;
}

std::optional<std::size_t> Group::launch_zone(Time now) const {
  std::optional<std::size_t> best;
  int fewest = 0;
  for (std::size_t z = 0; z < zones_.size(); ++z) {
    if (now < zones_[z].held_until) continue;
    const int n = in_zone(z, false);
    if (!best || n < fewest) {
      best = z;
      fewest = n;
    }
  }
  return best;
}

int Group::replacements_in_progress() const {
  int n = unassigned_replacements_;
  for (const Worker& w : workers_)
    n += (w.replacement && w.state == LifecycleState::pending) ? 1 : 0;
  return n;
}

int Group::replacement_budget() const {
  return std::max(1, config_.desired * config_.max_replacing_percent / 100);
}

Duration Group::launch_backoff(int failures) const {
  Duration d = config_.launch_backoff_initial;
  for (int i = 1; i < failures && d < config_.launch_backoff_max; ++i) d *= 2;
  return std::min(d, config_.launch_backoff_max);
}

void Group::record(int from, int to, std::string cause, bool failed) {
  if (failed)
    spdlog::warn("group {}: {}", config_.name, cause);
  else
    spdlog::info("group {}: {} -> {}: {}", config_.name, from, to, cause);
  if (from != to) last_desired_change_ = scheduler_.now();
  activities_.push_back({scheduler_.now(), from, to, std::move(cause), failed});
}

void Group::prune_before(Time cutoff) {
  activities_.drop_front_while([cutoff](const Activity& a) { return a.t < cutoff; });
  const auto ended = [cutoff](const WorkerHistory& h) {
    return h.ended_at && *h.ended_at < cutoff;
  };
  if (std::none_of(history_.begin(), history_.end(), ended)) return;
  std::erase_if(history_, ended);
  // Every worker the group still knows has not ended: its entry stayed, at a new index.
  for (Worker& w : workers_) {
    const auto it = std::find_if(history_.begin(), history_.end(),
                                 [&](const WorkerHistory& h) { return h.id == w.id; });
    assert(it != history_.end());
    w.history = static_cast<std::size_t>(it - history_.begin());
  }
}

int Group::set_desired(int desired, const std::string& cause) {
  const int clamped = std::clamp(desired, config_.min, config_.max);
  if (clamped == config_.desired) return clamped;
  std::string text = cause;
  if (clamped != desired) {
    text += " (" + std::to_string(desired) + " clamped to " +
            (desired > config_.max ? "max " : "min ") + std::to_string(clamped) + ")";
  }
  record(config_.desired, clamped, std::move(text));
  config_.desired = clamped;
  reconcile();
  return clamped;
}

void Group::set_limits(int min, int max, const std::string& cause) {
  assert(0 <= min && min <= max);
  config_.min = min;
  config_.max = max;
  set_desired(config_.desired, cause);
}

void Group::go_in_service(Worker& w) {
  assert(w.state == LifecycleState::pending);
  w.state = LifecycleState::in_service;
  w.in_service_since = scheduler_.now();
  history_[w.history].in_service_at = w.in_service_since;
  if (w.rebalance) ++rebalance_removals_;
  if (w.grace_timer) scheduler_.cancel(w.grace_timer);
  w.grace_timer = 0;
  w.replacement = false;
  zones_[w.zone].consecutive_failures = 0;
  // A rebalance launch counts from now on; the reconcile that follows takes one out of the
  // largest zone.
  w.rebalance = false;
}

void Group::shut_down(const std::string& cause) {
  for (Worker& w : workers_) {
    w.protect = false;
    note_end_cause(w, cause);
  }
  config_.new_workers_protected = false;
  set_limits(0, 0, cause);
  reconcile();  // desired may have been 0 already, with protected workers left over
}

void Group::mark_healthy(const WorkerId& id) {
  Worker* w = find(id);
  if (w == nullptr) return;
  if (w->state == LifecycleState::in_service && w->unhealthy) {
    spdlog::info("group {}: worker {} healthy again: its replacement is cancelled", config_.name,
                 id);
    w->unhealthy = false;
    w->unhealthy_cause.clear();
    return;
  }
  if (w->state != LifecycleState::pending) return;
  // A replacement frees its slot; a rebalance launch now counts, and a worker has to go.
  const bool freed_slot = w->replacement || w->rebalance;
  go_in_service(*w);
  if (freed_slot) reconcile();
}

void Group::replace_unhealthy(const WorkerId& id, const std::string& cause) {
  if (config_.health_check_type == HealthCheckType::kEc2) return;
  Worker* w = find(id);
  if (w == nullptr || w->state != LifecycleState::in_service || w->unhealthy) return;
  w->unhealthy = true;
  w->unhealthy_seq = ++unhealthy_reports_;
  w->unhealthy_cause = cause;
  reconcile();
  if (const Worker* waiting = find(id); waiting != nullptr && waiting->unhealthy) {
    spdlog::info("group {}: worker {} unhealthy ({}): waiting, {} of {} replacements in progress",
                 config_.name, id, cause, replacements_in_progress(), replacement_budget());
  }
}

void Group::target_released(const WorkerId& id) {
  Worker* w = find(id);
  if (w == nullptr || w->state != LifecycleState::draining) return;
  if (w->drain_timer) scheduler_.cancel(w->drain_timer);
  w->drain_timer = 0;
  w->state = LifecycleState::terminating;
  terminate(id);
}

bool Group::interrupt(const WorkerId& id, Duration warning, const std::string& cause) {
  Worker* w = find(id);
  if (w == nullptr || w->state != LifecycleState::in_service) return false;
  record(config_.desired, config_.desired,
         "worker " + id + " " + cause + ": draining it, launching a replacement; it is gone in " +
             format_duration(warning));
  w->kill_timer = scheduler_.schedule_after(warning, [this, id] {
    Worker* late = find(id);
    if (late == nullptr) return;
    late->kill_timer = 0;
    provider_.signal(id, SIGKILL);
  });
  // It may drain for as long as the warning lets it, no longer.
  remove(*w, cause);
  if (Worker* draining = find(id); draining != nullptr && draining->drain_timer != 0 &&
                                     config_.drain_delay > warning) {
    scheduler_.cancel(draining->drain_timer);
    draining->drain_timer = scheduler_.schedule_after(warning, [this, id] {
      Worker* drained = find(id);
      if (drained == nullptr) return;
      drained->drain_timer = 0;
      drained->state = LifecycleState::terminating;
      terminate(id);
    });
  }
  reconcile();
  return true;
}

bool Group::set_protected(const WorkerId& id, bool protect) {
  Worker* w = find(id);
  if (w == nullptr) return false;
  w->protect = protect;
  if (!protect) reconcile();
  return true;
}

void Group::reconcile() {
  // Callbacks run inside may call back (set_desired from a handler); loop instead of recursing.
  if (reconciling_) {
    reconcile_again_ = true;
    return;
  }
  reconciling_ = true;
  do {
    reconcile_again_ = false;
    start_replacements();
    // Re-counted each time: a launch can fail inside launch() and hold its zone back.
    while (active() < config_.desired) {
      const auto zone = launch_zone(scheduler_.now());
      if (!zone) break;
      launch_one(*zone);
    }
    int have = active();
    while (have > config_.desired) {
      Worker* victim = scale_in_victim();
      if (victim == nullptr) break;  // the rest is protected: desired holds, they stay
      if (rebalance_removals_ > 0) {
        --rebalance_removals_;
        remove(*victim, "AZRebalance");
      } else {
        remove(*victim, "scale-in to desired " + std::to_string(config_.desired));
      }
      --have;
      // A pending replacement taken out frees its slot for a waiting unhealthy worker.
      reconcile_again_ = true;
    }
    // A slot that no launch took is not needed once the group has its capacity (it shrank).
    if (have >= config_.desired) unassigned_replacements_ = 0;
    if (have == config_.desired) maybe_rebalance();
  } while (reconcile_again_);
  rebalance_removals_ = 0;
  reconciling_ = false;
  arm_launch_timer();
}

void Group::maybe_rebalance() {
  if (zones_.size() < 2) return;
  // Only from a settled group: nothing pending (a launch or a rebalance already under way).
  for (const Worker& w : workers_)
    if (w.state == LifecycleState::pending) return;
  std::size_t smallest = 0, largest = 0;
  for (std::size_t z = 1; z < zones_.size(); ++z) {
    if (in_zone(z, true) < in_zone(smallest, true)) smallest = z;
    if (in_zone(z, true) > in_zone(largest, true)) largest = z;
  }
  if (in_zone(largest, true) - in_zone(smallest, true) < 2) return;
  if (scheduler_.now() < zones_[smallest].held_until) return;  // arm_launch_timer comes back
  std::string counts;
  for (std::size_t z = 0; z < zones_.size(); ++z)
    counts += (z ? ", " : "") + zones_[z].name + " " + std::to_string(in_zone(z, true));
  record(config_.desired, config_.desired,
         "AZRebalance: zones out of balance (" + counts + "): launching a worker in zone " +
             zones_[smallest].name + " before taking one out of zone " + zones_[largest].name);
  launch_one(smallest, /*rebalance=*/true);
}

void Group::arm_launch_timer() {
  if (launch_timer_ != 0) return;
  bool want = active() < config_.desired;
  if (!want && zones_.size() >= 2) {
    // A rebalance waiting for its zone to be launched into again.
    int least = 1 << 30, most = -1;
    for (std::size_t z = 0; z < zones_.size(); ++z) {
      least = std::min(least, in_zone(z, true));
      most = std::max(most, in_zone(z, true));
    }
    want = most - least >= 2;
  }
  if (!want) return;
  const Time now = scheduler_.now();
  std::optional<Time> next;
  for (const Zone& z : zones_)
    if (z.held_until > now && (!next || z.held_until < *next)) next = z.held_until;
  if (!next) return;
  launch_timer_ = scheduler_.schedule_at(*next, [this] {
    launch_timer_ = 0;
    reconcile();
  });
}

void Group::start_replacements() {
  while (replacements_in_progress() < replacement_budget()) {
    Worker* next = nullptr;
    for (Worker& w : workers_) {
      if (w.state == LifecycleState::in_service && w.unhealthy &&
          (next == nullptr || w.unhealthy_seq < next->unhealthy_seq))
        next = &w;
    }
    if (next == nullptr) return;
    record(config_.desired, config_.desired,
           "worker " + next->id + " unhealthy (" + next->unhealthy_cause + "): replacing it");
    ++unassigned_replacements_;
    remove(*next, "replaced unhealthy (" + next->unhealthy_cause + ")");
  }
}

Group::Worker* Group::scale_in_victim() {
  // workers_ is in launch order, so launch times never decrease along it.
  for (auto it = workers_.rbegin(); it != workers_.rend(); ++it)
    if (!it->protect && it->state == LifecycleState::pending) return &*it;
  Worker* victim = nullptr;
  for (Worker& w : workers_) {
    if (!w.protect && w.state == LifecycleState::in_service && w.unhealthy &&
        (victim == nullptr || w.unhealthy_seq < victim->unhealthy_seq))
      victim = &w;
  }
  if (victim != nullptr) return victim;
  // AWS balances zones first: the zone with the most unprotected workers in service gives one.
  std::vector<int> candidates(zones_.size(), 0);
  for (const Worker& w : workers_)
    if (!w.protect && w.state == LifecycleState::in_service) ++candidates[w.zone];
  const std::size_t zone = static_cast<std::size_t>(
      std::max_element(candidates.begin(), candidates.end()) - candidates.begin());
  for (Worker& w : workers_) {
    if (w.protect || w.state != LifecycleState::in_service || w.zone != zone) continue;
    victim = &w;
    if (config_.termination_policy != TerminationPolicy::kNewestInstance) break;
  }
  return victim;
}

void Group::launch_one(std::size_t zone, bool rebalance) {
  LaunchSpec spec = config_.launch;
  spec.zone = zones_[zone].name;
  in_launch_ = true;
  const WorkerId id = provider_.launch(spec);
  in_launch_ = false;
  Worker w;
  w.id = id;
  w.zone = zone;
  w.rebalance = rebalance;
  w.launched_at = scheduler_.now();
  w.protect = config_.new_workers_protected;
  w.history = history_.size();
  history_.push_back({id, zones_[zone].name, w.launched_at, std::nullopt, std::nullopt, ""});
  if (unassigned_replacements_ > 0) {
    w.replacement = true;
    --unassigned_replacements_;
  }
  w.grace_timer = scheduler_.schedule_after(config_.health_check_grace, [this, id] {
    Worker* late = find(id);
    if (late == nullptr) return;
    late->grace_timer = 0;
    if (late->state != LifecycleState::pending) return;
    if (late->replacement) ++unassigned_replacements_;
    const std::string why =
        "not healthy within health_check_grace " + format_duration(config_.health_check_grace);
    record(config_.desired, config_.desired, "worker " + id + " " + why + ": replacing it");
    remove(*late, why);
    reconcile();
  });
  workers_.push_back(std::move(w));
  spdlog::debug("group {}: launched {}", config_.name, id);
  auto early = std::move(early_events_);
  early_events_.clear();
  for (auto& e : early) e();
}

void Group::leave_service(Worker& w) {
  if (!w.announced) return;
  w.announced = false;
  if (callbacks_.on_leaving_service) callbacks_.on_leaving_service(w.id);
}

void Group::note_end_cause(const Worker& w, const std::string& cause) {
  std::string& end = history_[w.history].end_cause;
  if (end.empty()) end = cause;
}

void Group::remove(Worker& w, const std::string& cause) {
  note_end_cause(w, cause);
  if (w.grace_timer) scheduler_.cancel(w.grace_timer);
  w.grace_timer = 0;
  w.unhealthy = false;  // leaving anyway: no replacement to wait for
  const WorkerId id = w.id;
  if (w.state == LifecycleState::pending) {
    w.state = LifecycleState::terminating;
    leave_service(w);
    terminate(id);
    return;
  }
  assert(w.state == LifecycleState::in_service);
  w.state = LifecycleState::draining;
  w.drain_timer = scheduler_.schedule_after(config_.drain_delay, [this, id] {
    Worker* drained = find(id);
    if (drained == nullptr) return;
    drained->drain_timer = 0;
    drained->state = LifecycleState::terminating;
    terminate(id);
  });
  leave_service(w);
}

void Group::terminate(const WorkerId& id) { provider_.stop(id, config_.stop_grace); }

void Group::on_listening(const WorkerId& id, const Endpoint& endpoint) {
  if (in_launch_) {
    early_events_.push_back([this, id, endpoint] { on_listening(id, endpoint); });
    return;
  }
  Worker* w = find(id);
  if (w == nullptr) return;
  w->endpoint = endpoint;
  // A worker already on its way out is not offered as a target.
  if (w->state != LifecycleState::pending && w->state != LifecycleState::in_service) return;
  if (w->announced) return;
  w->announced = true;
  if (callbacks_.on_listening) callbacks_.on_listening(id, endpoint);
  if (config_.health_check_type != HealthCheckType::kEc2) return;
  // EC2 health: a process that listens is up. By id: the callback may have moved the vector.
  Worker* up = find(id);
  if (up == nullptr || up->state != LifecycleState::pending) return;
  const bool freed_slot = up->replacement || up->rebalance;
  go_in_service(*up);
  if (freed_slot) reconcile();
}

void Group::on_exit(const WorkerId& id, const WorkerExit& exit) {
  if (in_launch_) {
    early_events_.push_back([this, id, exit] { on_exit(id, exit); });
    return;
  }
  Worker* w = find(id);
  if (w == nullptr) return;
  const bool boot_failure = w->state == LifecycleState::pending;
  const bool unexpected = boot_failure || w->state == LifecycleState::in_service;
  if (w->grace_timer) scheduler_.cancel(w->grace_timer);
  if (w->drain_timer) scheduler_.cancel(w->drain_timer);
  if (w->kill_timer) scheduler_.cancel(w->kill_timer);
  history_[w->history].ended_at = scheduler_.now();
  note_end_cause(*w, exit.describe() + (boot_failure ? " before becoming healthy" : ""));
  if (boot_failure) {
    Zone& zone = zones_[w->zone];
    ++zone.consecutive_failures;
    const Duration wait = launch_backoff(zone.consecutive_failures);
    zone.held_until = std::max(zone.held_until, scheduler_.now() + wait);
    if (w->replacement) ++unassigned_replacements_;
    const std::string where = zones_.size() > 1 ? " in zone " + zone.name : "";
    record(config_.desired, config_.desired,
           "Launching a new worker failed: worker " + id + where +
               " exited before becoming healthy (" + exit.describe() + "): retrying" + where +
               " in " + format_duration(wait),
           true);
  } else if (unexpected) {
    record(
        config_.desired, config_.desired,
        "worker " + id + " exited unexpectedly (" + exit.describe() + "): launching a replacement");
  }
  leave_service(*w);
  // By id, not through `w`: the callback may have launched workers and moved the vector.
  workers_.erase(
      std::remove_if(workers_.begin(), workers_.end(), [&](const Worker& x) { return x.id == id; }),
      workers_.end());
  spdlog::debug("group {}: {} terminated ({})", config_.name, id, exit.describe());
  if (callbacks_.on_terminated) callbacks_.on_terminated(id);
  if (unexpected) reconcile();
}

GroupState Group::state() const {
  GroupState s;
  s.name = config_.name;
  s.min = config_.min;
  s.max = config_.max;
  s.desired = config_.desired;
  s.last_desired_change = last_desired_change_;
  s.workers.reserve(workers_.size());
  for (const Worker& w : workers_) {
    switch (w.state) {
      case LifecycleState::pending:
        ++s.pending;
        break;
      case LifecycleState::in_service:
        ++s.in_service;
        break;
      case LifecycleState::draining:
        ++s.draining;
        break;
      case LifecycleState::terminating:
        ++s.terminating;
        break;
      case LifecycleState::terminated:
        break;
    }
    s.workers.push_back({w.id, w.state, w.launched_at, w.in_service_since, w.endpoint, w.protect,
                         w.unhealthy, zones_[w.zone].name});
  }
  return s;
}

}  // namespace flotilla
