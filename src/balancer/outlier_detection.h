#pragma once
// Passive health checking (Envoy's outlier detection, consecutive-5xx flavour): a target whose
// proxied requests fail in a row is ejected (taken out of routing) for a while, although its
// active health checks may still pass.
//
// - The data plane counts, per target, requests that failed in a row (connect errors, resets,
//   5xx responses; a success resets the count). OutlierDetector::update() is shown those counts
//   every poll (the target group polls every ~250 ms).
// - A routable target whose count grew by consecutive_5xx or more since it was last ejected (or
//   since it last became routable) is ejected for base_ejection_time x the number of times it
//   has been ejected, at most max(max_ejection_time, base_ejection_time); it returns on the
//   first update() at or after that time.
// - Each `interval` that a returned target spends without being ejected again takes one off its
//   ejection count, so a target that failed once long ago starts again from base_ejection_time
//   (Envoy does the same).
// - At most max_ejection_percent of the group is ejected at once, counted as Envoy counts it:
//   a target is ejected only if (ejected + 1) <= max_ejection_percent% of the group. With
//   always_eject_one_host, one target may be ejected whatever the percentage. Envoy's default
//   for that is false; Flotilla's is true, because typical groups are small (10% of 4 workers
//   is less than one, which would make ejection never happen).
// - Envoy also un-ejects a target when an active health check passes
//   (successful_active_health_check_uneject_host); Flotilla does not: a target that passes its
//   /health check while its real requests fail is exactly what ejection is for.
//
// The data plane's counts are not reset by an ejection (the count of an ejected target stays
// where it was, since it gets no requests), so the detector keeps a baseline per target: the
// count when it was ejected or last seen unroutable, lowered whenever the data plane's count
// drops (a success reset it). Only failures beyond the baseline count.
//
// Threading: a plain value; the target group uses it on the control-plane thread.
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/time.h"

namespace flotilla {

// Envoy's names and defaults, except always_eject_one_host (see above).
struct OutlierDetectionConfig {
  std::uint32_t consecutive_5xx = 5;  // 0 turns outlier detection off
  Duration interval = std::chrono::seconds(10);
  Duration base_ejection_time = std::chrono::seconds(30);
  Duration max_ejection_time = std::chrono::seconds(300);
  int max_ejection_percent = 10;  // 0..100
  bool always_eject_one_host = true;

  bool enabled() const { return consecutive_5xx > 0; }
  bool operator==(const OutlierDetectionConfig&) const = default;
};

struct OutlierObservation {
  std::string_view id;  // the caller's string, alive for the call
  // Failures in a row that the data plane counted for this target (max over IO threads).
  std::uint64_t consecutive_failures = 0;
  // Taking traffic by health (healthy, not draining); others are never ejected and their
  // failures so far are forgiven (they become the baseline).
  bool routable = true;
};

// What changed in one update().
struct OutlierChange {
  std::string id;
  bool ejected = false;  // true: ejected now; false: returned now
  Time until{};          // when ejected: the time it returns
  int ejections = 0;     // times ejected so far, after this change
  bool operator==(const OutlierChange&) const = default;
};

// The ejection time for the n-th ejection (n >= 1): base x n, capped.
Duration ejection_duration(const OutlierDetectionConfig& config, int ejections);

class OutlierDetector {
 public:
  explicit OutlierDetector(OutlierDetectionConfig config = {});

  // One poll at `now`. `targets` are all the group's targets that are not draining (the
  // percentage is counted over them); a target missing from `targets` is forgotten. First the
  // ejections that expired end, then targets are considered for ejection in the order given.
  std::vector<OutlierChange> update(Time now, const std::vector<OutlierObservation>& targets);

  bool ejected(const std::string& id) const;
  std::optional<Time> ejected_until(const std::string& id) const;
  int ejections(const std::string& id) const;  // the current multiplier
  std::size_t ejected_count() const;
  void forget(const std::string& id);
  const OutlierDetectionConfig& config() const { return config_; }

 private:
  struct State {
    std::uint64_t baseline = 0;
    int ejections = 0;
    std::optional<Time> ejected_until;
    Time
        quiet_since{};  // last ejection or return or decrement: when the next decrement counts from
    std::uint64_t seen = 0;  // the last update() that listed it
  };

  bool may_eject(std::size_t group_size) const;

  OutlierDetectionConfig config_;
  // Looked up by string_view (std::less<>): a poll copies no id.
  std::map<std::string, State, std::less<>> states_;
  std::uint64_t updates_ = 0;
  std::vector<State*> listed_;  // update()'s, reused
  std::size_t ejected_ = 0;     // states with ejected_until
};

}  // namespace flotilla
