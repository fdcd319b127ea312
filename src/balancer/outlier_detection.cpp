#include "balancer/outlier_detection.h"

#include <algorithm>
#include <cassert>

namespace flotilla {

Duration ejection_duration(const OutlierDetectionConfig& config, int ejections) {
  assert(ejections >= 1);
  const Duration cap = std::max(config.max_ejection_time, config.base_ejection_time);
  // Compared before multiplying so that a long history cannot overflow.
  if (config.base_ejection_time.count() > 0 &&
      ejections >= cap.count() / config.base_ejection_time.count())
    return cap;
  return config.base_ejection_time * ejections;
}

OutlierDetector::OutlierDetector(OutlierDetectionConfig config) : config_(config) {
  assert(config_.max_ejection_percent >= 0 && config_.max_ejection_percent <= 100);
  assert(config_.interval > Duration::zero());
}

bool OutlierDetector::may_eject(std::size_t group_size) const {
  const std::size_t ejected = ejected_count();
  if (config_.always_eject_one_host && ejected == 0) return true;
  return 100 * (ejected + 1) <= static_cast<std::size_t>(config_.max_ejection_percent) * group_size;
}

std::vector<OutlierChange> OutlierDetector::update(Time now,
                                                   const std::vector<OutlierObservation>& targets) {
  // Mark what is listed, then forget the rest.
  const std::uint64_t update = ++updates_;
  listed_.clear();
  for (const auto& t : targets) {
    auto it = states_.find(t.id);
    if (it == states_.end()) it = states_.emplace(std::string(t.id), State{}).first;
    it->second.seen = update;
    listed_.push_back(&it->second);
  }
  for (auto it = states_.begin(); it != states_.end();) {
    if (it->second.seen == update) {
      ++it;
      continue;
    }
    if (it->second.ejected_until) --ejected_;
    it = states_.erase(it);
  }

  std::vector<OutlierChange> changes;
  for (std::size_t i = 0; i < targets.size(); ++i) {
    State& s = *listed_[i];
    if (s.ejected_until && now >= *s.ejected_until) {
      s.ejected_until.reset();
      --ejected_;
      s.quiet_since = now;
      // Until this poll it was out of routing: what it failed meanwhile is forgiven.
      s.baseline = targets[i].failure_streaks;
      changes.push_back({std::string(targets[i].id), false, Time{}, s.ejections});
    }
    if (!s.ejected_until) {
      while (s.ejections > 0 && now >= s.quiet_since + config_.interval) {
        --s.ejections;
        s.quiet_since += config_.interval;
      }
    }
  }

  for (std::size_t i = 0; i < targets.size(); ++i) {
    const OutlierObservation& t = targets[i];
    State& s = *listed_[i];
    const std::uint64_t streaks = t.failure_streaks;
    const bool counts = t.routable && !s.ejected_until && config_.enabled();
    // Forgiven (see the header), or no new streak; a drop (the data plane forgot the target and
    // counts from zero again) lowers the baseline.
    if (!counts || streaks <= s.baseline) {
      s.baseline = streaks;
      continue;
    }
    s.baseline = streaks;
    // No room: the streak is dropped; a later one may eject the target.
    if (!may_eject(targets.size())) continue;
    s.ejections += 1;
    s.ejected_until = now + ejection_duration(config_, s.ejections);
    ++ejected_;
    s.quiet_since = now;
    changes.push_back({std::string(t.id), true, *s.ejected_until, s.ejections});
  }
  return changes;
}

bool OutlierDetector::ejected(const std::string& id) const { return ejected_until(id).has_value(); }

std::optional<Time> OutlierDetector::ejected_until(const std::string& id) const {
  auto it = states_.find(id);
  if (it == states_.end()) return std::nullopt;
  return it->second.ejected_until;
}

int OutlierDetector::ejections(const std::string& id) const {
  auto it = states_.find(id);
  return it == states_.end() ? 0 : it->second.ejections;
}

std::size_t OutlierDetector::ejected_count() const { return ejected_; }

void OutlierDetector::forget(const std::string& id) {
  auto it = states_.find(id);
  if (it == states_.end()) return;
  if (it->second.ejected_until) --ejected_;
  states_.erase(it);
}

}  // namespace flotilla
