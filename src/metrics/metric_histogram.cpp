#include "metrics/metric_histogram.h"

#include <algorithm>
#include <cmath>

namespace flotilla {

namespace {

constexpr double kGamma =
    (1 + MetricHistogram::kRelativeError) / (1 - MetricHistogram::kRelativeError);
constexpr double kSmallest = 1e-9;
constexpr double kLargest = 1e18;

const double kLogGamma = std::log(kGamma);
const auto kMinIndex = static_cast<std::int32_t>(std::ceil(std::log(kSmallest) / kLogGamma));

}  // namespace

std::int32_t MetricHistogram::key_of(double v) {
  const double magnitude = std::fabs(v);
  if (magnitude < kSmallest) return 0;
  const double clamped = std::min(magnitude, kLargest);
  const auto index = static_cast<std::int32_t>(std::ceil(std::log(clamped) / kLogGamma));
  const std::int32_t key = std::max(index, kMinIndex) - kMinIndex + 1;
  return v < 0 ? -key : key;
}

double MetricHistogram::value_of(std::int32_t key) {
  if (key == 0) return 0;
  const std::int32_t index = std::abs(key) - 1 + kMinIndex;
  const double magnitude = 2 * std::pow(kGamma, index) / (kGamma + 1);
  return key < 0 ? -magnitude : magnitude;
}

void MetricHistogram::record(double v, std::uint64_t n) {
  if (n == 0 || std::isnan(v)) return;
  const std::int32_t key = key_of(v);
  auto it = std::lower_bound(buckets_.begin(), buckets_.end(), key,
                             [](const auto& b, std::int32_t k) { return b.first < k; });
  if (it != buckets_.end() && it->first == key)
    it->second += n;
  else
    buckets_.insert(it, {key, n});
  min_ = count_ == 0 ? v : std::min(min_, v);
  max_ = count_ == 0 ? v : std::max(max_, v);
  count_ += n;
  sum_ += v * static_cast<double>(n);
}

void MetricHistogram::merge(const MetricHistogram& other) {
  if (other.count_ == 0) return;
  std::vector<std::pair<std::int32_t, std::uint64_t>> merged;
  merged.reserve(buckets_.size() + other.buckets_.size());
  auto a = buckets_.begin();
  auto b = other.buckets_.begin();
  while (a != buckets_.end() || b != other.buckets_.end()) {
    if (b == other.buckets_.end() || (a != buckets_.end() && a->first < b->first)) {
      merged.push_back(*a++);
    } else if (a == buckets_.end() || b->first < a->first) {
      merged.push_back(*b++);
    } else {
      merged.emplace_back(a->first, a->second + b->second);
      ++a;
      ++b;
    }
  }
  buckets_ = std::move(merged);
  min_ = count_ == 0 ? other.min_ : std::min(min_, other.min_);
  max_ = count_ == 0 ? other.max_ : std::max(max_, other.max_);
  count_ += other.count_;
  sum_ += other.sum_;
}

double MetricHistogram::percentile(double p) const {
  if (count_ == 0) return 0;
  if (!(p >= 0)) p = 0;  // also NaN
  p = std::min(p, 100.0);
  auto rank = static_cast<std::uint64_t>(std::ceil(p / 100.0 * static_cast<double>(count_)));
  rank = std::clamp<std::uint64_t>(rank, 1, count_);
  // The extremes are known exactly.
  if (rank == 1) return min_;
  if (rank == count_) return max_;
  std::uint64_t seen = 0;
  for (const auto& [key, n] : buckets_) {
    seen += n;
    if (seen >= rank) return std::clamp(value_of(key), min_, max_);
  }
  return max_;
}

}  // namespace flotilla
