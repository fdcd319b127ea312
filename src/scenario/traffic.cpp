#include "scenario/traffic.h"

#include <algorithm>
#include <cassert>

#include "core/random.h"

namespace flotilla {

std::string_view to_string(LoadErrorKind kind) {
  switch (kind) {
    case LoadErrorKind::kHttp5xx:
      return "http_5xx";
    case LoadErrorKind::kHttp4xx:
      return "http_4xx";
    case LoadErrorKind::kConnectError:
      return "connect_error";
    case LoadErrorKind::kReset:
      return "reset";
    case LoadErrorKind::kTimeout:
      return "timeout";
    case LoadErrorKind::kOverload:
      return "overload";
  }
  return "unknown";
}

std::uint64_t ErrorCounts::total() const {
  std::uint64_t sum = 0;
  for (auto c : counts) sum += c;
  return sum;
}

void ErrorCounts::add(const ErrorCounts& other) {
  for (std::size_t i = 0; i < kLoadErrorKindCount; ++i) counts[i] += other.counts[i];
}

RequestMix::RequestMix(const std::vector<RequestSpec>& mix, std::uint64_t seed)
    // A stream apart from the arrivals' own draws, which take the seed as it is.
    : seed_(mix64(seed ^ 0x6d69782d70696b65ULL)) {
  assert(!mix.empty());
  double total = 0;
  for (const auto& r : mix) {
    assert(r.weight > 0);
    total += r.weight;
    cumulative_.push_back(total);
  }
  for (double& c : cumulative_) c /= total;
}

std::size_t RequestMix::pick(std::uint64_t n) const {
  if (cumulative_.size() == 1) return 0;
  const double u = static_cast<double>(mix64(seed_ + n) >> 11) * 0x1.0p-53;
  const auto it = std::upper_bound(cumulative_.begin(), cumulative_.end(), u);
  // Rounding may leave the last running total a hair below 1.
  return std::min<std::size_t>(static_cast<std::size_t>(it - cumulative_.begin()),
                               cumulative_.size() - 1);
}

SecondLatency summarize(const LatencyHistogram& h) {
  SecondLatency s;
  s.count = h.count();
  if (s.count == 0) return s;
  s.min = h.min();
  s.p50 = h.percentile(50);
  s.p90 = h.percentile(90);
  s.p99 = h.percentile(99);
  s.max = h.max();
  return s;
}

}  // namespace flotilla
