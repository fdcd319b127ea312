#include "core/histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace flotilla {

std::size_t LatencyHistogram::bucket_of(std::uint64_t micros) {
  constexpr std::uint64_t kLinear = 1ULL << kLinearBits;
  if (micros < kLinear) return static_cast<std::size_t>(micros);
  const int top = std::bit_width(micros) - 1;
  if (top > kTopBit) return kBucketCount - 1;
  const int shift = top - (kLinearBits - 1);                  // >= 1
  const std::uint64_t sub = (micros >> shift) - kSubBuckets;  // in [0, 64)
  return static_cast<std::size_t>(kLinear + (shift - 1) * kSubBuckets + sub);
}

std::uint64_t LatencyHistogram::bucket_lower(std::size_t index) {
  constexpr std::uint64_t kLinear = 1ULL << kLinearBits;
  if (index < kLinear) return index;
  const std::uint64_t rest = index - kLinear;
  const int shift = static_cast<int>(rest / kSubBuckets) + 1;
  const std::uint64_t sub = rest % kSubBuckets + kSubBuckets;
  return sub << shift;
}

std::uint64_t LatencyHistogram::bucket_upper(std::size_t index) {
  constexpr std::uint64_t kLinear = 1ULL << kLinearBits;
  if (index < kLinear) return index + 1;
  const int shift = static_cast<int>((index - kLinear) / kSubBuckets) + 1;
  return bucket_lower(index) + (1ULL << shift);
}

void LatencyHistogram::record(Duration d) { record_n(d, 1); }

void LatencyHistogram::record_n(Duration d, std::uint64_t n) {
  if (n == 0) return;
  if (d < Duration::zero()) d = Duration::zero();
  const auto micros = static_cast<std::uint64_t>(d.count() / 1000);
  counts_[bucket_of(micros)] += n;
  count_ += n;
  min_ = std::min(min_, d);
  max_ = std::max(max_, d);
  sum_ns_ += static_cast<double>(d.count()) * static_cast<double>(n);
}

void LatencyHistogram::merge(const LatencyHistogram& other) {
  if (other.count_ == 0) return;
  for (std::size_t i = 0; i < kBucketCount; ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  sum_ns_ += other.sum_ns_;
}

void LatencyHistogram::reset() { *this = LatencyHistogram(); }

Duration LatencyHistogram::mean() const {
  if (count_ == 0) return Duration::zero();
  return Duration(static_cast<Duration::rep>(std::llround(sum_ns_ / static_cast<double>(count_))));
}

Duration LatencyHistogram::percentile(double p) const {
  if (count_ == 0) return Duration::zero();
  if (!(p >= 0)) p = 0;  // also NaN
  p = std::min(p, 100.0);
  auto rank = static_cast<std::uint64_t>(std::ceil(p / 100.0 * static_cast<double>(count_)));
  rank = std::clamp<std::uint64_t>(rank, 1, count_);
  std::uint64_t seen = 0;
  std::size_t index = 0;
  for (; index < kBucketCount; ++index) {
    seen += counts_[index];
    if (seen >= rank) break;
  }
  // The last bucket is open-ended: report the exact maximum rather than a made-up midpoint.
  if (index >= kBucketCount - 1) return max_;
  const double mid_us =
      (static_cast<double>(bucket_lower(index)) + static_cast<double>(bucket_upper(index))) / 2.0;
  const Duration mid(static_cast<Duration::rep>(mid_us * 1000.0));
  return std::clamp(mid, min_, max_);
}

}  // namespace flotilla
