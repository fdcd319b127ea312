#include "core/histogram.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "core/random.h"

namespace flotilla {
namespace {

Duration us(double v) { return from_seconds(v * 1e-6); }

// The exact percentile at rank ceil(p/100 * n), matching the histogram's definition.
Duration exact_percentile(std::vector<Duration> values, double p) {
  std::sort(values.begin(), values.end());
  auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(values.size())));
  rank = std::clamp<std::size_t>(rank, 1, values.size());
  return values[rank - 1];
}

// Within the documented bound: 1/128 of the value (half a bucket), or half a microsecond.
void check_close(Duration got, Duration want) {
  const double tolerance = std::max(0.5e3, std::abs(static_cast<double>(want.count())) / 128.0);
  CHECK(std::abs(static_cast<double>(got.count() - want.count())) <= tolerance + 1.0);
}

}  // namespace

TEST_CASE("LatencyHistogram: empty histogram reports zeros") {
  LatencyHistogram h;
  CHECK(h.count() == 0);
  CHECK(h.percentile(50) == Duration::zero());
  CHECK(h.min() == Duration::zero());
  CHECK(h.max() == Duration::zero());
  CHECK(h.mean() == Duration::zero());
}

TEST_CASE("LatencyHistogram: buckets tile the range with bounded width") {
  for (std::size_t i = 0; i + 1 < LatencyHistogram::kBucketCount; ++i) {
    const auto lo = LatencyHistogram::bucket_lower(i);
    const auto hi = LatencyHistogram::bucket_upper(i);
    REQUIRE(hi > lo);
    REQUIRE(LatencyHistogram::bucket_lower(i + 1) == hi);
    REQUIRE(LatencyHistogram::bucket_of(lo) == i);
    REQUIRE(LatencyHistogram::bucket_of(hi - 1) == i);
    if (lo >= 128) REQUIRE(static_cast<double>(hi - lo) / static_cast<double>(lo) <= 1.0 / 64.0);
  }
  CHECK(LatencyHistogram::bucket_of(0) == 0);
  CHECK(LatencyHistogram::bucket_of(1ULL << 40) == LatencyHistogram::kBucketCount - 1);
  CHECK(LatencyHistogram::bucket_of(~0ULL) == LatencyHistogram::kBucketCount - 1);
}

TEST_CASE("LatencyHistogram: single values") {
  struct Row {
    Duration value;
  };
  const Row rows[] = {{Duration::zero()}, {500ns},   {1us}, {127us}, {128us},
                      {1000us},           {38200us}, {1s},  {10s},   {std::chrono::hours(30)}};
  for (const auto& row : rows) {
    CAPTURE(row.value.count());
    LatencyHistogram h;
    h.record(row.value);
    CHECK(h.count() == 1);
    CHECK(h.min() == row.value);
    CHECK(h.max() == row.value);
    CHECK(h.mean() == row.value);
    // One sample: every percentile is clamped to [min, max], i.e. the exact value.
    for (double p : {0.0, 50.0, 99.0, 100.0}) CHECK(h.percentile(p) == row.value);
  }
}

TEST_CASE("LatencyHistogram: negative durations count as zero") {
  LatencyHistogram h;
  h.record(-5ms);
  CHECK(h.count() == 1);
  CHECK(h.max() == Duration::zero());
}

TEST_CASE("LatencyHistogram: percentiles of known distributions") {
  struct Row {
    const char* name;
    std::vector<Duration> values;
  };
  std::vector<Row> rows;
  {
    std::vector<Duration> v;
    for (int i = 1; i <= 10000; ++i) v.push_back(us(i));
    rows.push_back({"uniform 1..10000 us", v});
  }
  {
    SeededRandom rng(7);
    std::vector<Duration> v;
    for (int i = 0; i < 20000; ++i) v.push_back(from_millis(rng.exponential(20.0)));
    rows.push_back({"exponential mean 20 ms", v});
  }
  {
    SeededRandom rng(8);
    std::vector<Duration> v;
    for (int i = 0; i < 20000; ++i) v.push_back(from_millis(rng.lognormal(3.0, 1.0)));
    rows.push_back({"lognormal", v});
  }
  {
    std::vector<Duration> v(990, 5ms);
    v.insert(v.end(), 10, 300ms);
    rows.push_back({"bimodal: 1% at 300 ms", v});
  }
  for (const auto& row : rows) {
    const std::string label = row.name;
    CAPTURE(label);
    LatencyHistogram h;
    double sum = 0;
    for (auto d : row.values) {
      h.record(d);
      sum += static_cast<double>(d.count());
    }
    CHECK(h.count() == row.values.size());
    CHECK(h.min() == *std::min_element(row.values.begin(), row.values.end()));
    CHECK(h.max() == *std::max_element(row.values.begin(), row.values.end()));
    CHECK(std::abs(static_cast<double>(h.mean().count()) - sum / row.values.size()) < 2.0);
    for (double p : {0.0, 1.0, 25.0, 50.0, 90.0, 98.9, 99.0, 99.1, 99.9, 100.0}) {
      CAPTURE(p);
      check_close(h.percentile(p), exact_percentile(row.values, p));
    }
  }
}

TEST_CASE("LatencyHistogram: bimodal tail shows at p99.1, not at p99") {
  LatencyHistogram h;
  h.record_n(5ms, 990);
  h.record_n(300ms, 10);
  CHECK(h.percentile(99) < 6ms);
  CHECK(h.percentile(99.1) > 295ms);
}

TEST_CASE("LatencyHistogram: merge equals recording everything into one") {
  SeededRandom rng(3);
  LatencyHistogram a, b, all;
  for (int i = 0; i < 5000; ++i) {
    const auto d = from_millis(rng.exponential(i % 2 ? 5.0 : 50.0));
    (i % 3 ? a : b).record(d);
    all.record(d);
  }
  LatencyHistogram merged = a;
  merged.merge(b);
  merged.merge(LatencyHistogram());  // merging an empty one changes nothing
  CHECK(merged.count() == all.count());
  CHECK(merged.min() == all.min());
  CHECK(merged.max() == all.max());
  CHECK(std::abs(merged.mean().count() - all.mean().count()) <= 1);
  for (double p : {0.0, 10.0, 50.0, 90.0, 99.0, 99.9, 100.0})
    CHECK(merged.percentile(p) == all.percentile(p));

  LatencyHistogram empty;
  empty.merge(a);
  CHECK(empty.count() == a.count());
  CHECK(empty.percentile(50) == a.percentile(50));
}

TEST_CASE("LatencyHistogram: reset empties it") {
  LatencyHistogram h;
  h.record(5ms);
  h.reset();
  CHECK(h.count() == 0);
  CHECK(h.max() == Duration::zero());
  h.record(1ms);
  CHECK(h.min() == 1ms);
}

}  // namespace flotilla
