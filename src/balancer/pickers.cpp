// The built-in pickers and the name -> factory table that make_picker() reads.
#include <algorithm>
#include <limits>

#include "balancer/picker.h"
#include "core/errors.h"

namespace flotilla {
namespace {

bool routable(const PickCandidate& c) { return !c.excluded && c.weight > 0; }

// Takes candidates in turn, skipping the ones that cannot be used. The cursor is a position in
// the rotation, not a target identity, so a changed set simply continues from the same place.
class RoundRobinPicker final : public Picker {
 public:
  explicit RoundRobinPicker(std::uint64_t seed) : cursor_(seed) {}

  std::optional<std::size_t> pick(std::span<const PickCandidate> candidates) override {
    const std::size_t n = candidates.size();
    if (n == 0) return std::nullopt;
    const std::size_t start = static_cast<std::size_t>(cursor_ % n);
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t index = (start + i) % n;
      if (routable(candidates[index])) {
        cursor_ = index + 1;
        return index;
      }
    }
    return std::nullopt;
  }

 private:
  std::uint64_t cursor_;
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
    std::optional<std::size_t> best;
    std::uint32_t best_outstanding = std::numeric_limits<std::uint32_t>::max();
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t index = (start + i) % n;
      const PickCandidate& c = candidates[index];
      if (!routable(c)) continue;
      if (!best || c.outstanding < best_outstanding) {
        best = index;
        best_outstanding = c.outstanding;
      }
    }
    if (best) cursor_ = *best + 1;
    return best;
  }

 private:
  std::uint64_t cursor_;
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
    {"round_robin",
     [](std::uint64_t seed) -> std::unique_ptr<Picker> {
       return std::make_unique<RoundRobinPicker>(seed);
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
