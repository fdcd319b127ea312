#pragma once
// LatencyHistogram: a mergeable log-linear histogram of durations (in the manner of HdrHistogram).
//
// Resolution is one microsecond. Values below 128 us have buckets one microsecond wide; above,
// every power of two is split into 64 equal buckets, so a bucket is at most 1/64 (1.6 %) of its
// values wide and the midpoint that percentile() returns is within 0.8 % (or 0.5 us) of any value
// in it. Values from 2^36 us (about 19 hours) up share the last bucket; min(), max() and mean()
// are exact whatever the value. Negative durations count as zero.
//
// The bucket array is fixed (about 16 KB), so record() never allocates. merge() of two
// histograms equals recording both sets of values into one.
//
// Threading: none; an instance is used by one thread at a time (merge per-thread copies).
#include <array>
#include <cstddef>
#include <cstdint>

#include "core/time.h"

namespace flotilla {

class LatencyHistogram {
 public:
  // Buckets 0..127 are 1 us wide; then 64 buckets for each power of two from 2^7 to 2^35 us.
  static constexpr int kLinearBits = 7;
  static constexpr std::uint64_t kSubBuckets = 1ULL << (kLinearBits - 1);  // 64 per octave
  static constexpr int kTopBit = 35;
  static constexpr std::size_t kBucketCount =
      (1ULL << kLinearBits) + (kTopBit - kLinearBits + 1) * kSubBuckets;

  void record(Duration d);
  // Records `d` n times.
  void record_n(Duration d, std::uint64_t n);
  void merge(const LatencyHistogram& other);
  void reset();

  std::uint64_t count() const { return count_; }
  // p in [0, 100] (clamped). The value at rank ceil(p/100 * count) (at least 1), reported as the
  // midpoint of its bucket clamped to [min(), max()]: so percentile(0) == min() and
  // percentile(100) == max(). Zero when empty.
  Duration percentile(double p) const;
  // Exact; zero when empty.
  Duration min() const { return count_ == 0 ? Duration::zero() : min_; }
  Duration max() const { return count_ == 0 ? Duration::zero() : max_; }
  Duration mean() const;

  // How many values fell in bucket `index` (< kBucketCount): lets a reader subtract two
  // snapshots of a cumulative histogram bucket by bucket.
  std::uint64_t bucket_count(std::size_t index) const { return counts_[index]; }

  // Bucket arithmetic, exposed for tests: the bucket of a value in microseconds, and the
  // [lower, upper) microsecond range that a bucket covers.
  static std::size_t bucket_of(std::uint64_t micros);
  static std::uint64_t bucket_lower(std::size_t index);
  static std::uint64_t bucket_upper(std::size_t index);

 private:
  std::array<std::uint64_t, kBucketCount> counts_{};
  std::uint64_t count_ = 0;
  Duration min_ = Duration::max();
  Duration max_ = Duration::min();
  // Sum in nanoseconds as a double: exact enough for the mean and cannot overflow.
  double sum_ns_ = 0;
};

}  // namespace flotilla
