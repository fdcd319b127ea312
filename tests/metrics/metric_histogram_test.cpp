#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "metrics/metric_histogram.h"

using namespace flotilla;

namespace {

// Nearest rank over the raw values: what the histogram approximates.
double exact_percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
  rank = std::clamp<std::size_t>(rank, 1, v.size());
  return v[rank - 1];
}

}  // namespace

TEST_CASE("MetricHistogram: percentiles within 1 % of the exact nearest rank") {
  std::vector<double> values;
  // Response times from 1 ms to 2 s, spread unevenly (a long tail).
  for (int i = 1; i <= 2000; ++i) values.push_back(0.001 * std::pow(1.0038, i));
  MetricHistogram h;
  for (double v : values) h.record(v);
  for (double p : {0.0, 1.0, 10.0, 50.0, 90.0, 99.0, 99.9, 100.0}) {
    CAPTURE(p);
    const double want = exact_percentile(values, p);
    CHECK(std::fabs(h.percentile(p) - want) <= 0.01 * want + 1e-12);
  }
  CHECK(h.percentile(0) == h.min());
  CHECK(h.percentile(100) == h.max());
  CHECK(h.count() == 2000);
  // A factor of ~2000 between min and max: a few hundred buckets, not thousands.
  CHECK(h.bucket_count() < 400);
}

TEST_CASE("MetricHistogram: merge equals recording both sets into one") {
  MetricHistogram a, b, both;
  for (int i = 0; i < 300; ++i) {
    // Binary fractions: sums are exact whatever the order of additions.
    const double x = (i % 37 + 1) / 64.0;
    const double y = 0.5 + (i % 11) / 8.0;
    a.record(x);
    b.record(y, 2);
    both.record(x);
    both.record(y, 2);
  }
  MetricHistogram merged = a;
  merged.merge(b);
  CHECK(merged == both);
  CHECK(merged.count() == 900);
  CHECK(merged.sum() == doctest::Approx(both.sum()));
  MetricHistogram empty;
  merged.merge(empty);
  CHECK(merged == both);
  empty.merge(a);
  CHECK(empty == a);
}

TEST_CASE("MetricHistogram: edge values") {
  struct Row {
    const char* name;
    std::vector<double> values;
    double p;
    double want;
  };
  const Row rows[] = {
      {"empty is zero", {}, 50, 0},
      {"one value is exact (clamped to min and max)", {0.123}, 50, 0.123},
      {"zeros", {0, 0, 0}, 99, 0},
      {"negatives order below zero", {-5, -1, 0, 1, 5}, 20, -5},
      {"negative median", {-5, -1, 0, 1, 5}, 40, -1},
      {"zero in the middle", {-5, -1, 0, 1, 5}, 60, 0},
      {"p above 100 is the max", {1, 2, 3}, 150, 3},
      {"p below 0 is the min", {1, 2, 3}, -3, 1},
      {"huge values share the top bucket but max is exact", {1e20, 2e20}, 100, 2e20},
  };
  for (const Row& r : rows) {
    const std::string name = r.name;
    CAPTURE(name);
    MetricHistogram h;
    for (double v : r.values) h.record(v);
    CHECK(h.percentile(r.p) == doctest::Approx(r.want).epsilon(0.01));
  }
  MetricHistogram h;
  h.record(std::nan(""));
  h.record(2, 0);
  CHECK(h.empty());
  h.record(3, 4);
  CHECK(h.count() == 4);
  CHECK(h.sum() == 12);
  CHECK(h.mean() == 3);
  CHECK(h.min() == 3);
  CHECK(h.max() == 3);
}
