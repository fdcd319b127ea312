#pragma once
// MetricHistogram: a mergeable, log-bucketed histogram of doubles: the distribution behind one
// datapoint (e.g. the response times of one period), so that percentiles over any number of
// periods come from merged histograms rather than stored raw samples.
//
// Buckets are relative: a value v > 0 falls in bucket i = ceil(log_g(v)) with g = 1.02/0.98, and
// percentile() reports 2 g^i / (g + 1), within 1 % of any value in the bucket. Negative values
// mirror positive ones; |v| below 1e-9 counts as zero; |v| above 1e18 shares the top bucket.
// count, sum, min and max are exact. Only non-empty buckets are stored (a sorted vector), so a
// histogram costs 16 bytes per distinct bucket: at most a few thousand, in practice tens for one
// period's latencies (latencies within a factor of 10 of each other span at most 58 buckets).
// merge() of two histograms equals recording both sets of values into one.
//
// Threading: none (a value type).
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace flotilla {

class MetricHistogram {
 public:
  static constexpr double kRelativeError = 0.01;

  // Records `v` n times. NaN is ignored.
  void record(double v, std::uint64_t n = 1);
  void merge(const MetricHistogram& other);

  std::uint64_t count() const { return count_; }
  bool empty() const { return count_ == 0; }
  // Exact; zero when empty.
  double sum() const { return sum_; }
  double min() const { return count_ == 0 ? 0 : min_; }
  double max() const { return count_ == 0 ? 0 : max_; }
  double mean() const { return count_ == 0 ? 0 : sum_ / static_cast<double>(count_); }
  // p in [0, 100] (clamped). The value at rank ceil(p/100 * count) (at least 1), reported as its
  // bucket's representative clamped to [min(), max()]; the first and last ranks are min() and
  // max() exactly. Zero when empty.
  double percentile(double p) const;
  // Non-empty buckets: the memory it holds.
  std::size_t bucket_count() const { return buckets_.size(); }

  bool operator==(const MetricHistogram&) const = default;

 private:
  // Ordered like the values: negative keys for negative values, 0 for zero.
  static std::int32_t key_of(double v);
  static double value_of(std::int32_t key);

  std::vector<std::pair<std::int32_t, std::uint64_t>> buckets_;  // sorted by key
  std::uint64_t count_ = 0;
  double sum_ = 0;
  double min_ = 0;
  double max_ = 0;
};

}  // namespace flotilla
