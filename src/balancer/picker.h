#pragma once
// Picker: the balancing algorithm (AWS: the target group's load_balancing.algorithm.type).
// It chooses one target from a snapshot of candidate states; it opens no sockets and reads no
// clock, so its behaviour is a pure function of its own state and the candidates it is shown.
//
// Contract:
// - pick() returns the index of a candidate that is not excluded and has weight > 0, or nullopt
//   when there is none (no candidates, or every one excluded).
// - The candidate set may change between calls (targets come and go); a picker must cope with
//   any size, including one that shrank below an index it remembered.
// - Ties are broken so that load spreads: equal candidates are taken in rotation.
// - Weighted pickers (weighted_round_robin, power_of_two_choices) give a candidate a share of
//   the picks proportional to its weight; the others only tell weight 0 from the rest.
// - Slow start acts under every algorithm: a candidate with share_percent p < 100 gets p% of
//   the picks it would get at 100. Weighted pickers see the ramp in `weight` already (the
//   target group publishes ramped weights) and ignore share_percent; round_robin and
//   least_outstanding_requests take such a candidate only on p of every 100 picks it would win,
//   passing the others on as if it were excluded.
// - State a picker keeps per candidate is kept by position: when the set changes, a position
//   may now hold another target, which only perturbs the next few picks.
//
// Threading: not thread-safe. The balancer gives each IO thread its own instance.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace flotilla {

struct PickCandidate {
  std::uint32_t outstanding = 0;  // requests in flight to this target (from this IO thread)
  std::uint32_t weight = 1;       // 0 = not routable; the share for weighted pickers
  bool excluded = false;          // already tried by this request
  // Slow start: the percent (1..100) of a full share this candidate is to get now; see below.
  std::uint8_t share_percent = 100;
};

class Picker {
 public:
  virtual ~Picker() = default;
  virtual std::optional<std::size_t> pick(std::span<const PickCandidate> candidates) = 0;
};

// Creates the picker registered under `algorithm`:
// - "round_robin": candidates in turn (weights other than 0 ignored, share_percent obeyed);
// - "least_outstanding_requests": fewest in flight, ties in rotation (weights other than 0
//   ignored, share_percent obeyed);
// - "weighted_round_robin": smooth weighted round robin (nginx): every pick adds each routable
//   candidate's weight to its current weight, takes the largest and subtracts the sum of the
//   weights from it, so weights 5:1:1 give a a b a c a a, exactly in proportion every cycle;
// - "power_of_two_choices": two distinct candidates drawn at random with probability
//   proportional to weight; the one with fewer requests outstanding wins (the first drawn on a
//   tie).
// `seed` sets where rotation starts (and seeds the random draws), so that IO threads given
// different seeds do not all begin on the same target. Unknown name -> UserError naming the
// known ones.
std::unique_ptr<Picker> make_picker(std::string_view algorithm, std::uint64_t seed);

// The registered names, sorted (for config validation and error messages).
std::vector<std::string> picker_names();

}  // namespace flotilla
