#pragma once
// Passive health checking (Envoy's outlier detection, consecutive-5xx flavour): a target whose
// proxied requests fail in a row is ejected (taken out of routing) for a while, although its
// active health checks may still pass.
//
// - What counts: a streak, consecutive_5xx failed requests in a row to one target (connect
//   errors, resets, timeouts, bad responses, 5xx; any other response ends the run). The data
//   plane counts streaks per target as they happen (data_plane.h: failure_makes_streak(), with
//   the threshold the target group publishes with each target), into a number that only grows;
//   OutlierDetector::update() is shown that number every poll (the target group polls every
//   load_poll_interval, 250 ms by default).
// - When: a routable target that made a streak since the previous poll is ejected at this poll,
//   so within one load_poll_interval of its consecutive_5xx-th failure in a row, whatever came
//   after it. It is ejected for base_ejection_time x the number of times it has been ejected,
//   at most max(max_ejection_time, base_ejection_time); it returns on the first update() at or
//   after that time.
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
// Why a count of streaks, not the current run: a run that reached the threshold and was broken
// by a success between two polls would leave nothing to see at the next poll, and at 50% errors
// that is most of them. A count that only grows keeps the data plane's reads free of side
// effects (nothing is reset by reading) and makes the rule exact: the detector keeps a baseline
// per target, the count it last saw, and only streaks beyond it count. The baseline follows the
// count while the target is unroutable or ejected, up to the poll that lets it back (those
// streaks are forgiven: an ejected target fails the requests it still had in flight, and with
// fail_open it may carry traffic), when it is ejected, when a streak finds no room
// under max_ejection_percent (as in Envoy, that streak is dropped; the next one may eject), and
// when the count drops (the data plane forgot the target and counts again from zero). A run of
// k x consecutive_5xx failures makes k streaks, so a target that still fails when it returns is
// ejected again after consecutive_5xx more failures.
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
  // Streaks of consecutive_5xx failures in a row that the data plane counted for this target so
  // far (TargetLoad::failure_streaks).
  std::uint64_t failure_streaks = 0;
  // Taking traffic by health (healthy, not draining); others are never ejected and their
  // streaks so far are forgiven (they become the baseline).
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
    std::uint64_t baseline = 0;  // failure_streaks already accounted for
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
