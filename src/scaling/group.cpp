#include "scaling/group.h"

#include <spdlog/spdlog.h>
#include <algorithm>
#include <cassert>

#include "core/duration.h"

namespace flotilla {

Group::Group(Scheduler& scheduler, Provider& provider, GroupConfig config)
    : scheduler_(scheduler), provider_(provider), config_(std::move(config)) {
  assert(0 <= config_.min && config_.min <= config_.desired && config_.desired <= config_.max);
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
  }
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
  for (const Worker& w : workers_)
    n += (w.state == LifecycleState::pending || w.state == LifecycleState::in_service) ? 1 : 0;
  return n;
}

void Group::record(int from, int to, std::string cause) {
  spdlog::info("group {}: {} -> {}: {}", config_.name, from, to, cause);
  if (from != to) last_desired_change_ = scheduler_.now();
  activities_.push_back({scheduler_.now(), from, to, std::move(cause)});
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

void Group::mark_healthy(const WorkerId& id) {
  Worker* w = find(id);
  if (w == nullptr || w->state != LifecycleState::pending) return;
  w->state = LifecycleState::in_service;
  w->in_service_since = scheduler_.now();
  if (w->grace_timer) scheduler_.cancel(w->grace_timer);
  w->grace_timer = 0;
}

void Group::replace_unhealthy(const WorkerId& id, const std::string& cause) {
  Worker* w = find(id);
  if (w == nullptr ||
      (w->state != LifecycleState::pending && w->state != LifecycleState::in_service))
    return;
  record(config_.desired, config_.desired,
         "worker " + id + " unhealthy (" + cause + "): replacing it");
  remove(*w);
  reconcile();
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
    int have = active();
    while (have < config_.desired) {
      launch_one();
      ++have;
    }
    while (have > config_.desired) {
      Worker* victim = nullptr;
      for (auto it = workers_.rbegin(); it != workers_.rend() && !victim; ++it)
        if (it->state == LifecycleState::pending) victim = &*it;
      for (auto it = workers_.begin(); it != workers_.end() && !victim; ++it)
        if (it->state == LifecycleState::in_service) victim = &*it;
      assert(victim != nullptr);
      remove(*victim);
      --have;
    }
  } while (reconcile_again_);
  reconciling_ = false;
}

void Group::launch_one() {
  in_launch_ = true;
  const WorkerId id = provider_.launch(config_.launch);
  in_launch_ = false;
  Worker w;
  w.id = id;
  w.launched_at = scheduler_.now();
  w.grace_timer = scheduler_.schedule_after(config_.health_check_grace, [this, id] {
    Worker* late = find(id);
    if (late == nullptr) return;
    late->grace_timer = 0;
    if (late->state != LifecycleState::pending) return;
    record(config_.desired, config_.desired,
           "worker " + id + " not healthy within health_check_grace " +
               format_duration(config_.health_check_grace) + ": replacing it");
    remove(*late);
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

void Group::remove(Worker& w) {
  if (w.grace_timer) scheduler_.cancel(w.grace_timer);
  w.grace_timer = 0;
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
}

void Group::on_exit(const WorkerId& id, const WorkerExit& exit) {
  if (in_launch_) {
    early_events_.push_back([this, id, exit] { on_exit(id, exit); });
    return;
  }
  Worker* w = find(id);
  if (w == nullptr) return;
  const bool unexpected =
      w->state == LifecycleState::pending || w->state == LifecycleState::in_service;
  if (w->grace_timer) scheduler_.cancel(w->grace_timer);
  if (w->drain_timer) scheduler_.cancel(w->drain_timer);
  if (unexpected) {
    record(config_.desired, config_.desired,
           "worker " + id + " exited unexpectedly (" + exit.describe() +
               "): launching a replacement");
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
    s.workers.push_back({w.id, w.state, w.launched_at, w.in_service_since, w.endpoint});
  }
  return s;
}

}  // namespace flotilla
