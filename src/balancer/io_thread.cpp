#include "balancer/io_thread.h"

#include <algorithm>

#include "balancer/proxy_session.h"

namespace flotilla::proxy {

IoThread::IoThread(int index_, const BalancerConfig& config_, const RouteTable& routes_,
                   const std::vector<std::string>& algorithms, std::uint64_t seed)
    : index(index_),
      config(config_),
      routes(routes_),
      retry_policy{.max_retries = config_.max_retries,
                   .budget_percent = config_.retry_budget_percent,
                   .budget_min_concurrency = config_.retry_budget_min_concurrency},
      io(1),
      random(seed),
      groups(algorithms.size()),
      sweep_timer(io) {
  for (std::size_t g = 0; g < algorithms.size(); ++g) {
    groups[g].picker = make_picker(algorithms[g], random.next_u64());
  }
}

void IoThread::apply(std::size_t group_index, std::shared_ptr<const TargetSnapshot> snapshot) {
  LocalGroup& group = groups[group_index];
  auto& targets = group.targets;
  std::vector<std::shared_ptr<LocalTarget>> next;
  next.reserve(snapshot->targets.size());
  for (const auto& spec : snapshot->targets) {
    auto it = std::find_if(targets.begin(), targets.end(), [&](const auto& t) {
      return t && t->id == spec.id && t->address == spec.address;
    });
    if (it != targets.end()) {
      (*it)->weight = spec.weight;
      (*it)->failure_streak = spec.failure_streak;
      (*it)->share_percent = spec.share_percent;
      next.push_back(std::move(*it));
      continue;
    }
    auto target = std::make_shared<LocalTarget>();
    target->id = spec.id;
    target->address = spec.address;
    target->weight = spec.weight;
    target->counters = spec.counters;
    target->failure_streak = spec.failure_streak;
    target->share_percent = spec.share_percent;
    next.push_back(std::move(target));
  }
  for (auto& old : targets) {
    if (!old) continue;
    // Requests in flight keep their own reference and finish; nothing new goes there.
    old->removed = true;
    old->idle.close_all();
  }
  targets = std::move(next);
  std::size_t most = 0;
  for (const auto& g : groups) most = std::max(most, g.targets.size());
  candidates.reserve(most);
  applied_serial.store(snapshot->serial, std::memory_order_release);
}

void IoThread::start_sweep(Duration period) {
  sweep_period = period;
  sweep_timer.expires_after(sweep_period);
  sweep_timer.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopping) return;
    sweep();
    start_sweep(sweep_period);
  });
}

void IoThread::sweep() {
  const auto now = SteadyClock::now();
  // A deadline check never destroys a session synchronously (a pending operation of its own
  // holds it in every phase that check_deadline() closes; one awaiting its target only has its
  // socket closed), so the list does not change under this loop.
  for (std::size_t i = 0; i < sessions.size(); ++i) check_session_deadline(*sessions[i], now);
  for (auto& group : groups) {
    for (auto& target : group.targets) target->idle.sweep(now);
  }
}

void IoThread::stop_accepting() {
  draining = true;
  // Closing an idle session never destroys it synchronously (its pending read holds it), so the
  // list does not change under this loop.
  for (std::size_t i = 0; i < sessions.size(); ++i) close_session_if_idle(*sessions[i]);
}

void IoThread::shutdown() {
  stopping = true;
  boost::system::error_code ignored;
  sweep_timer.cancel(ignored);
  const std::vector<Session*> open = sessions;
  for (Session* s : open) close_session(*s);
  for (auto& group : groups) {
    for (auto& target : group.targets) target->idle.close_all();
  }
}

}  // namespace flotilla::proxy
