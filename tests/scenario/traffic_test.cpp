#include "scenario/traffic.h"

#include <doctest/doctest.h>

#include <cmath>
#include <vector>

namespace flotilla {

TEST_CASE("RequestMix: each entry's share is its weight over the total, per seed, in any order") {
  struct Row {
    const char* what;
    std::vector<double> weights;
  };
  const Row rows[] = {
      {"one entry", {1}},
      {"equal weights", {1, 1, 1}},
      {"3 to 1 to 1", {3, 1, 1}},
      {"a rare entry", {1000, 1}},
      {"fractional weights", {0.25, 0.5, 0.25}},
  };
  constexpr std::uint64_t kDraws = 200'000;
  for (const auto& row : rows) {
    CAPTURE(row.what);
    std::vector<RequestSpec> mix;
    double total = 0;
    for (double w : row.weights) {
      mix.push_back({"GET", "/", w, 0});
      total += w;
    }
    const RequestMix picker(mix, 7);
    REQUIRE(picker.size() == mix.size());
    std::vector<std::uint64_t> counts(mix.size(), 0);
    for (std::uint64_t n = 0; n < kDraws; ++n) {
      const std::size_t i = picker.pick(n);
      REQUIRE(i < mix.size());
      ++counts[i];
    }
    for (std::size_t i = 0; i < mix.size(); ++i) {
      const double p = row.weights[i] / total;
      const double sd = std::sqrt(double(kDraws) * p * (1 - p));
      CHECK(std::abs(double(counts[i]) - double(kDraws) * p) <= 5 * sd + 1);
    }
  }

  // The n-th choice depends on n and the seed only: asked in any order, the same answers.
  const std::vector<RequestSpec> mix = {{"GET", "/a", 1, 0}, {"POST", "/b", 1, 0}};
  const RequestMix a(mix, 1), again(mix, 1), other(mix, 2);
  int same = 0, differ = 0;
  for (std::uint64_t n = 1000; n-- > 0;) {
    same += a.pick(n) == again.pick(n);
    differ += a.pick(n) != other.pick(n);
  }
  CHECK(same == 1000);
  CHECK(differ > 300);  // another seed draws another sequence (about half differ)
}

}  // namespace flotilla
