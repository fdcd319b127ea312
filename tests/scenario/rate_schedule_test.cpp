#include "scenario/rate_schedule.h"

#include <doctest/doctest.h>

#include <cmath>
#include <vector>

namespace flotilla {
namespace {

std::vector<Duration> all_arrivals(const RateSchedule& s, Arrivals kind, std::uint64_t seed = 1) {
  ArrivalIterator it(s, kind, seed);
  std::vector<Duration> out;
  while (auto t = it.next()) {
    out.push_back(*t);
    REQUIRE(out.size() < 10'000'000);
  }
  return out;
}

std::size_t count_in(const std::vector<Duration>& v, Duration from, Duration to) {
  std::size_t n = 0;
  for (auto t : v) n += t >= from && t < to;
  return n;
}

}  // namespace

TEST_CASE("RateSchedule: rate_at follows k6 ramping-arrival-rate") {
  // 0-20 s hold 40; 20-25 s ramp to 320; 25-45 s hold; 45-55 s ramp to 0; then hold 0 to 60 s.
  const RateSchedule s(40, {{20s, 40}, {5s, 320}, {20s, 320}, {10s, 0}}, 60s);
  struct Row {
    Duration t;
    double rate;
  };
  const Row rows[] = {
      {-1s, 0},   {0s, 40},   {10s, 40}, {20s, 40}, {22500ms, 180}, {25s, 320},
      {30s, 320}, {50s, 160}, {55s, 0},  {59s, 0},  {60s, 0},       {61s, 0},
  };
  for (const auto& row : rows) {
    CAPTURE(to_seconds(row.t));
    CHECK(s.rate_at(row.t) == doctest::Approx(row.rate));
  }
  CHECK(s.duration() == 60s);
}

TEST_CASE("RateSchedule: the first stage ramps from start_rps") {
  const RateSchedule s(0, {{10s, 100}});
  CHECK(s.rate_at(0s) == 0);
  CHECK(s.rate_at(5s) == doctest::Approx(50));
  CHECK(s.expected_total() == doctest::Approx(500));
}

TEST_CASE("RateSchedule: expected_requests is the integral") {
  const RateSchedule s(40, {{20s, 40}, {5s, 320}, {20s, 320}, {10s, 0}}, 60s);
  struct Row {
    Duration from, to;
    double want;
  };
  const Row rows[] = {
      {0s, 20s, 800},                  // constant
      {20s, 25s, 5 * (40 + 320) / 2},  // ramp up: trapezoid
      {20s, 22500ms, 2.5 * (40 + 180) / 2},
      {25s, 45s, 6400},
      {45s, 55s, 1600},  // ramp down to 0: triangle
      {55s, 60s, 0},
      {0s, 60s, 800 + 900 + 6400 + 1600},
      {-10s, 1s, 40},  // clamped to the schedule
      {59s, 100s, 0},
      {10s, 10s, 0},
      {10s, 5s, 0},
  };
  for (const auto& row : rows) {
    CAPTURE(to_seconds(row.from));
    CAPTURE(to_seconds(row.to));
    CHECK(s.expected_requests(row.from, row.to) == doctest::Approx(row.want));
  }
}

TEST_CASE("RateSchedule: total shorter than the stages cuts them; longer holds the last target") {
  const RateSchedule cut(0, {{10s, 100}}, 5s);
  CHECK(cut.duration() == 5s);
  CHECK(cut.expected_total() == doctest::Approx(125));  // ramp 0 -> 50 over 5 s
  const RateSchedule held(10, {{2s, 20}}, 5s);
  CHECK(held.rate_at(4s) == doctest::Approx(20));
  CHECK(held.expected_total() == doctest::Approx(30 + 60));
}

TEST_CASE("RateSchedule: time_when_expected_reaches inverts the integral") {
  const RateSchedule s(40, {{20s, 40}, {5s, 320}, {20s, 320}, {10s, 0}}, 60s);
  for (double n : {0.0, 1.0, 399.5, 800.0, 800.5, 1234.0, 1700.0, 5000.0, 9000.0, 9699.0}) {
    CAPTURE(n);
    const auto t = s.time_when_expected_reaches(n);
    REQUIRE(t.has_value());
    CHECK(s.expected_requests(0s, *t) == doctest::Approx(n).epsilon(1e-9));
  }
  CHECK_FALSE(s.time_when_expected_reaches(9700.5).has_value());
}

TEST_CASE("ArrivalIterator: uniform arrivals are exact") {
  struct Row {
    const char* name;
    RateSchedule schedule;
    std::size_t want;
  };
  const Row rows[] = {
      {"10 s at 100 rps", RateSchedule(100, {{10s, 100}}), 1000},
      {"2 s at 200 rps", RateSchedule(200, {{2s, 200}}), 400},
      {"ramp 0 -> 100 over 10 s", RateSchedule(0, {{10s, 100}}), 500},
      {"ramp 40 -> 320 over 5 s", RateSchedule(40, {{5s, 320}}), 900},
      {"zero rate", RateSchedule(0, {{10s, 0}}), 0},
      // Integral 1.5: arrivals due at 1 s and at 3 s, which is the end and not included.
      {"0.5 rps for 3 s", RateSchedule(0.5, {{3s, 0.5}}), 1},
      {"flash sale", RateSchedule(40, {{20s, 40}, {5s, 320}, {25s, 320}, {5s, 40}, {35s, 40}}, 90s),
       800 + 900 + 8000 + 900 + 1400},
  };
  for (const auto& row : rows) {
    const std::string label = row.name;
    CAPTURE(label);
    const auto arrivals = all_arrivals(row.schedule, Arrivals::kUniform);
    CHECK(arrivals.size() == row.want);
    for (std::size_t i = 1; i < arrivals.size(); ++i) REQUIRE(arrivals[i] >= arrivals[i - 1]);
    if (!arrivals.empty()) {
      CHECK(arrivals.front() >= 0s);
      CHECK(arrivals.back() < row.schedule.duration());
    }
    // Every prefix holds round(integral) requests.
    for (Duration t = 0s; t <= row.schedule.duration(); t += 500ms) {
      CAPTURE(to_seconds(t));
      const double expected = row.schedule.expected_requests(0s, t);
      CHECK(std::abs(static_cast<double>(count_in(arrivals, 0s, t)) - expected) <= 0.5 + 1e-6);
    }
  }
}

TEST_CASE("ArrivalIterator: uniform spacing at a constant rate") {
  const auto arrivals = all_arrivals(RateSchedule(100, {{1s, 100}}), Arrivals::kUniform);
  REQUIRE(arrivals.size() == 100);
  CHECK(arrivals[0] == 5ms);
  for (std::size_t i = 1; i < arrivals.size(); ++i)
    CHECK(std::abs(to_millis(arrivals[i] - arrivals[i - 1]) - 10.0) < 1e-3);
}

TEST_CASE("ArrivalIterator: Poisson arrivals follow the rate and the seed") {
  const RateSchedule s(0, {{10s, 1000}, {10s, 1000}});  // integral 5000 + 10000
  const auto a = all_arrivals(s, Arrivals::kPoisson, 42);
  const auto b = all_arrivals(s, Arrivals::kPoisson, 42);
  const auto c = all_arrivals(s, Arrivals::kPoisson, 43);
  CHECK(a == b);
  CHECK(a != c);
  // Poisson counts: standard deviation sqrt(n); allow 5 of them.
  CHECK(std::abs(static_cast<double>(a.size()) - 15000.0) < 5 * std::sqrt(15000.0));
  CHECK(std::abs(static_cast<double>(count_in(a, 0s, 10s)) - 5000.0) < 5 * std::sqrt(5000.0));
  CHECK(std::abs(static_cast<double>(count_in(a, 10s, 20s)) - 10000.0) < 5 * std::sqrt(10000.0));
  // Exponential gaps: the coefficient of variation of the gaps at a constant rate is about 1.
  double sum = 0, sum2 = 0;
  std::size_t n = 0;
  for (std::size_t i = 1; i < a.size(); ++i) {
    if (a[i - 1] < 10s) continue;
    const double gap = to_seconds(a[i] - a[i - 1]);
    sum += gap;
    sum2 += gap * gap;
    ++n;
  }
  const double mean = sum / n;
  const double cv = std::sqrt(sum2 / n - mean * mean) / mean;
  CHECK(mean == doctest::Approx(0.001).epsilon(0.05));
  CHECK(cv == doctest::Approx(1.0).epsilon(0.05));
}

TEST_CASE("ArrivalIterator: an empty schedule yields nothing") {
  const RateSchedule s;
  ArrivalIterator it(s, Arrivals::kUniform);
  CHECK_FALSE(it.next().has_value());
  CHECK(it.produced() == 0);
}

}  // namespace flotilla
