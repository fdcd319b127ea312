// The built-in pickers and the name -> factory table that make_picker() reads.
#include <algorithm>

#include "balancer/picker.h"
#include "core/errors.h"
#include "core/random.h"

namespace flotilla {
namespace {

bool routable(const PickCandidate& c) { return !c.excluded && c.weight > 0; }

// Slow start for the pickers that ignore weight: a candidate at share_percent p is taken on p
// of every 100 picks it wins, by a credit kept per position (p added per win, 100 spent per
// pick taken), so the share is exact over every 100 wins, not drawn at random. Candidates at 100
// cost one comparison and touch no state.
class SlowStartGate {
 public:
  // Whether candidate `index`, which has just won a pick, is taken.
  bool admit(std::size_t index, const PickCandidate& c) {
    if (c.share_percent >= 100) return true;
    if (credit_.size() <= index) credit_.resize(index + 1, 0);  // grows once per new position
    credit_[index] += c.share_percent;
    if (credit_[index] < 100) return false;
    credit_[index] -= 100;
    return true;
  }

 private:
  std::vector<std::uint32_t> credit_;  // by position; below 200 (one win adds at most 99)
};

// Takes candidates in turn, skipping the ones that cannot be used. The cursor is a position in
// the rotation, not a target identity, so a changed set simply continues from the same place.
class RoundRobinPicker final : public Picker {
 public:
  explicit RoundRobinPicker(std::uint64_t seed) : cursor_(seed) {}

  std::optional<std::size_t> pick(std::span<const PickCandidate> candidates) override {
    const std::size_t n = candidates.size();
    if (n == 0) return std::nullopt;
    const std::size_t start = static_cast<std::size_t>(cursor_ % n);
    // A candidate the slow-start gate passes over is still taken when nothing else can be.
    std::optional<std::size_t> refused;
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t index = (start + i) % n;
      if (!routable(candidates[index])) continue;
      if (gate_.admit(index, candidates[index])) return take(index);
      if (!refused) refused = index;
    }
    if (refused) return take(*refused);
    return std::nullopt;
  }

 private:
  std::size_t take(std::size_t index) {
    cursor_ = index + 1;
    return index;
  }

  std::uint64_t cursor_;
  SlowStartGate gate_;
};

// Fewest requests in flight wins; among equals, the first one at or after the rotation cursor,
// so that an idle fleet (all zero) is served round robin instead of always by the first target.
class LeastOutstandingPicker final : public Picker {
 public:
  explicit LeastOutstandingPicker(std::uint64_t seed) : cursor_(seed) {}

  std::optional<std::size_t> pick(std::span<const PickCandidate> candidates) override {
    const std::size_t n = candidates.size();
    if (n == 0) return std::nullopt;
    const std::size_t start = static_cast<std::size_t>(cursor_ % n);
    // One key per candidate, smallest wins: above everything, whether it cannot be used (bit
    // 52); then what is in flight to it; then its place in the rotation from the cursor, so that
    // ties go to the first after the last pick. A plain minimum compiles to conditional moves,
    // with no branch on the data: which candidate wins is unpredictable, and the simulator makes
    // millions of picks a second.
    constexpr int kPositionBits = 20;
    constexpr std::uint64_t kBlocked = std::uint64_t{1} << (32 + kPositionBits);
    std::size_t best = n;
    if (n < (std::size_t{1} << kPositionBits)) {
      auto key_of = [&](std::size_t i, std::size_t position) {
        const PickCandidate& c = candidates[i];
        const std::uint64_t blocked = static_cast<std::uint64_t>(c.excluded | (c.weight == 0));
        return (blocked << (32 + kPositionBits)) | (std::uint64_t{c.outstanding} << kPositionBits) |
               position;
      };
      // Two running minimums, over alternate candidates, so that each step waits on the one
      // before last rather than the last.
      std::uint64_t even = kBlocked, odd = kBlocked;
      auto scan = [&](std::size_t from, std::size_t to, std::size_t position) {
        std::size_t i = from;
        for (; i + 1 < to; i += 2, position += 2) {
          even = std::min(even, key_of(i, position));
          odd = std::min(odd, key_of(i + 1, position + 1));
        }
        if (i < to) even = std::min(even, key_of(i, position));
      };
      scan(start, n, 0);
      scan(0, start, n - start);
      const std::uint64_t best_key = std::min(even, odd);
      if (best_key < kBlocked) {
        const std::size_t position = best_key & ((std::uint64_t{1} << kPositionBits) - 1);
        best = (start + position) % n;
      }
    } else {
      best = least_by_scan(candidates, start, {});
    }
    if (best == n) return std::nullopt;
    if (!gate_.admit(best, candidates[best])) best = least_past_refused(candidates, start, best);
    cursor_ = best + 1;
    return best;
  }

 private:
  // Slow start only: the least busy candidate (ties from `start` on) that the gate admits, now
  // that `refused` was not; `refused` itself when the gate admits no other.
  std::size_t least_past_refused(std::span<const PickCandidate> candidates, std::size_t start,
                                 std::size_t refused) {
    const std::size_t n = candidates.size();
    refused_.assign(n, 0);  // no allocation once it has held n
    refused_[refused] = 1;
    for (;;) {
      const std::size_t best = least_by_scan(candidates, start, refused_);
      if (best == n) return refused;
      if (gate_.admit(best, candidates[best])) return best;
      refused_[best] = 1;
    }
  }

  // The least busy routable candidate not marked in `skip` (empty: none skipped), the first
  // from `start` on among equals; candidates.size() when there is none.
  static std::size_t least_by_scan(std::span<const PickCandidate> candidates, std::size_t start,
                                   std::span<const std::uint8_t> skip) {
    const std::size_t n = candidates.size();
    std::size_t best = n;
    for (std::size_t k = 0; k < n; ++k) {
      const std::size_t i = (start + k) % n;
      if (routable(candidates[i]) && (skip.empty() || !skip[i]) &&
          (best == n || candidates[i].outstanding < candidates[best].outstanding))
        best = i;
    }
    return best;
  }

  std::uint64_t cursor_;
  SlowStartGate gate_;
  std::vector<std::uint8_t> refused_;  // by position, for least_past_refused
};

// Smooth weighted round robin (nginx's ngx_http_upstream_get_peer): each pick raises every
// routable candidate's current weight by its weight, takes the largest (the first in rotation
// order from the seed's position on a tie) and lowers it by the sum of the weights. Over any
// cycle of sum-of-weights picks each candidate is taken exactly weight times, interleaved.
// Unroutable candidates keep their current weight, so a retry's exclusion does not reset them.
class WeightedRoundRobinPicker final : public Picker {
 public:
  explicit WeightedRoundRobinPicker(std::uint64_t seed) : offset_(seed) {}

  std::optional<std::size_t> pick(std::span<const PickCandidate> candidates) override {
    const std::size_t n = candidates.size();
    if (n == 0) return std::nullopt;
    current_.resize(n, 0);
    const std::size_t start = static_cast<std::size_t>(offset_ % n);
    std::int64_t total = 0;
    std::optional<std::size_t> best;
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t index = (start + i) % n;
      const PickCandidate& c = candidates[index];
      if (!routable(c)) continue;
      current_[index] += c.weight;
      total += c.weight;
      if (!best || current_[index] > current_[*best]) best = index;
    }
    if (best) current_[*best] -= total;
    return best;
  }

 private:
  std::uint64_t offset_;
  std::vector<std::int64_t> current_;  // by position
};

// Power of two choices (Mitzenmacher): two distinct routable candidates drawn with probability
// proportional to weight, without replacement; the one with fewer requests outstanding wins,
// the first drawn on a tie. One routable candidate is taken without drawing.
class PowerOfTwoChoicesPicker final : public Picker {
 public:
  explicit PowerOfTwoChoicesPicker(std::uint64_t seed) : random_(seed) {}

  std::optional<std::size_t> pick(std::span<const PickCandidate> candidates) override {
    std::uint64_t total = 0;
    std::size_t count = 0;
    std::size_t only = 0;
    for (std::size_t i = 0; i < candidates.size(); ++i) {
      if (!routable(candidates[i])) continue;
      total += candidates[i].weight;
      ++count;
      only = i;
    }
    if (count == 0) return std::nullopt;
    if (count == 1) return only;
    const std::size_t first = draw(candidates, total, candidates.size());
    const std::size_t second = draw(candidates, total - candidates[first].weight, first);
    return candidates[second].outstanding < candidates[first].outstanding ? second : first;
  }

 private:
  // A routable candidate other than `skip`, by weight; `total` is the weight of those eligible.
  std::size_t draw(std::span<const PickCandidate> candidates, std::uint64_t total,
                   std::size_t skip) {
    std::uint64_t r = random_.below(total);
    std::size_t last = 0;
    for (std::size_t i = 0; i < candidates.size(); ++i) {
      if (i == skip || !routable(candidates[i])) continue;
      if (r < candidates[i].weight) return i;
      r -= candidates[i].weight;
      last = i;
    }
    return last;  // unreachable while `total` is the eligible weight
  }

  SeededRandom random_;
};

struct Registration {
  std::string_view name;
  std::unique_ptr<Picker> (*make)(std::uint64_t seed);
};

// Adding an algorithm: implement Picker above and add its row (keep the rows sorted).
constexpr Registration kRegistry[] = {
    {"least_outstanding_requests",
     [](std::uint64_t seed) -> std::unique_ptr<Picker> {
       return std::make_unique<LeastOutstandingPicker>(seed);
     }},
    {"power_of_two_choices",
     [](std::uint64_t seed) -> std::unique_ptr<Picker> {
       return std::make_unique<PowerOfTwoChoicesPicker>(seed);
     }},
    {"round_robin",
     [](std::uint64_t seed) -> std::unique_ptr<Picker> {
       return std::make_unique<RoundRobinPicker>(seed);
     }},
    {"weighted_round_robin",
     [](std::uint64_t seed) -> std::unique_ptr<Picker> {
       return std::make_unique<WeightedRoundRobinPicker>(seed);
     }},
};

}  // namespace

std::unique_ptr<Picker> make_picker(std::string_view algorithm, std::uint64_t seed) {
  for (const auto& r : kRegistry) {
    if (r.name == algorithm) return r.make(seed);
  }
  std::string known;
  for (const auto& name : picker_names()) known += (known.empty() ? "" : ", ") + name;
  throw UserError("balancer: unknown algorithm \"" + std::string(algorithm) +
                  "\"; expected one of " + known);
}

std::vector<std::string> picker_names() {
  std::vector<std::string> names;
  for (const auto& r : kRegistry) names.emplace_back(r.name);
  return names;
}

}  // namespace flotilla
