#include "balancer/counters.h"

#include <algorithm>

namespace flotilla::proxy {

void ThreadCounters::count_own_response(int status) {
  switch (status / 100) {
    case 2:
      bump(elb_2xx);
      break;
    case 3:
      bump(elb_3xx);
      break;
    case 4:
      bump(elb_4xx);
      break;
    default:
      bump(elb_5xx);
      break;
  }
}

void ThreadCounters::count_error(int status) {
  switch (status) {
    case 400:
      bump(elb_400);
      break;
    case 408:
      bump(elb_408);
      break;
    case 413:
      bump(elb_413);
      break;
    case 431:
      bump(elb_431);
      break;
    case 502:
      bump(elb_502);
      break;
    case 503:
      bump(elb_503);
      break;
    case 504:
      bump(elb_504);
      break;
    default:
      break;
  }
}

namespace {

// The counters a group has as well as the balancer (same names in counters and stats).
template <typename Counters, typename Stats>
void add_group_fields(const Counters& c, Stats& s) {
  s.requests += read(c.requests);
  c.responses.add_to(s);
  s.elb_502 += read(c.elb_502);
  s.elb_503 += read(c.elb_503);
  s.elb_504 += read(c.elb_504);
  s.target_connection_errors += read(c.target_connection_errors);
  s.retries += read(c.retries);
}

}  // namespace

void ThreadCounters::add_to(BalancerStats& s) const {
  add_group_fields(*this, s);
  s.elb_2xx += read(elb_2xx);
  s.elb_3xx += read(elb_3xx);
  s.elb_4xx += read(elb_4xx);
  s.elb_5xx += read(elb_5xx);
  s.elb_400 += read(elb_400);
  s.elb_408 += read(elb_408);
  s.elb_413 += read(elb_413);
  s.elb_431 += read(elb_431);
  s.retry_budget_exhausted += read(retry_budget_exhausted);
  s.active_connections += read(active_connections);
  s.new_connections += read(new_connections);
  s.accept_pauses += read(accept_pauses);
}

void GroupCounters::add_to(BalancerGroupStats& s) const { add_group_fields(*this, s); }

BalancerTargetStats TargetCounters::read_stats() const {
  BalancerTargetStats ts;
  for (int i = 0; i < threads; ++i) {
    const Slot& slot = slots[i];
    BalancerTargetStats one;
    one.requests = read(slot.requests);
    one.outstanding = read(slot.outstanding);
    one.errors = read(slot.errors);
    slot.responses.add_to(one);
    one.target_connection_errors = read(slot.target_connection_errors);
    one.retries = read(slot.retries);
    one.consecutive_failures = read(slot.consecutive_failures);
    one.response_time_sum = Duration(static_cast<Duration::rep>(read(slot.response_time_ns)));
    one.response_time_count = read(slot.response_time_count);
    add_target_stats(ts, one);
  }
  return ts;
}

TargetLoad TargetCounters::read_load() const {
  TargetLoad load;
  for (int i = 0; i < threads; ++i) {
    load.outstanding += read(slots[i].outstanding);
    load.consecutive_failures =
        std::max(load.consecutive_failures, read(slots[i].consecutive_failures));
    load.failure_streaks += read(slots[i].failure_streaks);
  }
  return load;
}

TargetCounterRegistry::Published TargetCounterRegistry::publish(std::size_t group,
                                                                const std::vector<std::string>& ids,
                                                                std::uint64_t applied) {
  std::lock_guard lock(mu_);
  const std::uint64_t serial = ++serial_;
  Published out;
  out.serial = serial;
  out.counters.reserve(ids.size());
  for (const auto& id : ids) {
    auto& entries = ids_[id];
    auto it = std::find_if(entries.begin(), entries.end(),
                           [&](const Entry& e) { return e.group == group; });
    if (it == entries.end()) {
      entries.push_back(Entry{group, std::make_shared<TargetCounters>(threads_), 0});
      it = std::prev(entries.end());
    }
    it->removed_by = 0;  // a removed target named again keeps its counters
    out.counters.push_back(it->counters);
  }
  for (auto it = ids_.begin(); it != ids_.end();) {
    auto& entries = it->second;
    for (auto& e : entries) {
      if (e.group == group && e.removed_by == 0 &&
          std::find(ids.begin(), ids.end(), it->first) == ids.end()) {
        e.removed_by = serial;
      }
    }
    // `applied` < `serial`: what this publication removes is not freed by it.
    std::erase_if(entries, [&](const Entry& e) {
      return e.removed_by != 0 && e.removed_by <= applied &&
             e.counters->read_load().outstanding == 0;
    });
    it = entries.empty() ? ids_.erase(it) : std::next(it);
  }
  return out;
}

void TargetCounterRegistry::add_to(BalancerStats& s,
                                   const std::vector<std::string>& group_names) const {
  std::lock_guard lock(mu_);
  for (const auto& [id, entries] : ids_) {
    for (const auto& e : entries) {
      const BalancerTargetStats ts = e.counters->read_stats();
      if (!reported(e, ts.outstanding)) continue;
      s.groups[group_names[e.group]].targets.emplace(id, ts);
      add_target_stats(s.targets[id], ts);
    }
  }
}

TargetLoad TargetCounterRegistry::load(const std::string& id) const {
  std::lock_guard lock(mu_);
  TargetLoad total;
  const auto it = ids_.find(id);
  if (it == ids_.end()) return total;
  for (const auto& e : it->second) {
    const TargetLoad one = e.counters->read_load();
    if (!reported(e, one.outstanding)) continue;
    total.outstanding += one.outstanding;
    total.consecutive_failures = std::max(total.consecutive_failures, one.consecutive_failures);
    total.failure_streaks += one.failure_streaks;
  }
  return total;
}

}  // namespace flotilla::proxy
