#include <doctest/doctest.h>

#include <cmath>

#include "core/random.h"

using namespace flotilla;

TEST_CASE("SeededRandom: same seed, same stream, different seeds differ") {
  SeededRandom a(42), b(42), c(43);
  bool differs = false;
  for (int i = 0; i < 100; ++i) {
    const auto x = a.next_u64();
    CHECK(x == b.next_u64());
    differs = differs || x != c.next_u64();
  }
  CHECK(differs);
}

TEST_CASE("Random: distributions have the right moments") {
  SeededRandom r(7);
  const int n = 200000;
  double sum_u = 0, sum_e = 0, sum_n = 0, sum_n2 = 0;
  std::uint64_t below_max = 0;
  int out_of_range = 0;
  for (int i = 0; i < n; ++i) {
    const double u = r.uniform();
    out_of_range += (u < 0.0 || u >= 1.0) ? 1 : 0;
    sum_u += u;
    sum_e += r.exponential(20.0);
    const double z = r.standard_normal();
    sum_n += z;
    sum_n2 += z * z;
    below_max = std::max(below_max, r.below(10));
  }
  CHECK(out_of_range == 0);
  CHECK(sum_u / n == doctest::Approx(0.5).epsilon(0.01));
  CHECK(sum_e / n == doctest::Approx(20.0).epsilon(0.02));
  CHECK(std::abs(sum_n / n) < 0.01);
  CHECK(sum_n2 / n == doctest::Approx(1.0).epsilon(0.02));
  CHECK(below_max == 9);
}
