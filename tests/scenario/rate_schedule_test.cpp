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

TEST_CASE("RateSchedule: total shorter than the stages cuts them, longer holds the last target") {
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

TEST_CASE("RateSchedule: points are linear between corners, a repeated time is a step") {
  // 10 -> 20 over 10 s, a step to 50, 50 held, a ramp down to 0 at 30 s, then 0 to the end.
  const RateSchedule s({{0s, 10}, {10s, 20}, {10s, 50}, {20s, 50}, {30s, 0}}, 40s);
  struct Row {
    Duration t;
    double rate;
  };
  const Row rows[] = {
      {-1s, 0},  {0s, 10},  {5s, 15}, {9s, 19}, {10s, 50},
      {15s, 50}, {25s, 25}, {30s, 0}, {35s, 0}, {40s, 0},
  };
  for (const auto& row : rows) {
    CAPTURE(to_seconds(row.t));
    CHECK(s.rate_at(row.t) == doctest::Approx(row.rate));
  }
  CHECK(s.expected_total() == doctest::Approx(150 + 500 + 250));
  CHECK(s.segment_count() == 4);  // the step and the held zero are no segments of their own

  const RateSchedule held({{0s, 5}}, 10s);  // one point: its rate holds to the end
  CHECK(held.expected_total() == doctest::Approx(50));
  const RateSchedule cut({{0s, 0}, {10s, 100}}, 4s);  // a line past the end is cut there
  CHECK(cut.rate_at(3900ms) == doctest::Approx(39));
  CHECK(cut.expected_total() == doctest::Approx(80));
  const RateSchedule nothing(std::vector<RatePoint>{}, 10s);
  CHECK(nothing.expected_total() == 0);
  CHECK_FALSE(nothing.time_when_expected_reaches(1).has_value());
}

TEST_CASE("RateSchedule: stages are the points they name, a zero-length stage a step") {
  struct Row {
    const char* name;
    RateSchedule stages;
    RateSchedule points;
  };
  const Row rows[] = {
      {"hold", RateSchedule(40, {{20s, 40}}), RateSchedule({{0s, 40}, {20s, 40}}, 20s)},
      {"ramp from start_rps", RateSchedule(0, {{10s, 100}}),
       RateSchedule({{0s, 0}, {10s, 100}}, 10s)},
      {"zero-length stage", RateSchedule(10, {{5s, 10}, {0s, 50}, {5s, 50}}),
       RateSchedule({{0s, 10}, {5s, 10}, {5s, 50}, {10s, 50}}, 10s)},
      {"zero-length first stage", RateSchedule(0, {{0s, 30}, {4s, 30}}),
       RateSchedule({{0s, 30}, {4s, 30}}, 4s)},
      {"cut by the total", RateSchedule(0, {{10s, 100}}, 5s),
       RateSchedule({{0s, 0}, {5s, 50}}, 5s)},
      {"last target held", RateSchedule(10, {{2s, 20}}, 5s),
       RateSchedule({{0s, 10}, {2s, 20}, {5s, 20}}, 5s)},
  };
  for (const auto& row : rows) {
    const std::string name = row.name;
    CAPTURE(name);
    REQUIRE(row.stages.duration() == row.points.duration());
    for (Duration t = 0s; t <= row.stages.duration(); t += 250ms) {
      CAPTURE(to_seconds(t));
      CHECK(row.stages.rate_at(t) == doctest::Approx(row.points.rate_at(t)));
      CHECK(row.stages.expected_requests(0s, t) ==
            doctest::Approx(row.points.expected_requests(0s, t)));
    }
    CHECK(all_arrivals(row.stages, Arrivals::kUniform) ==
          all_arrivals(row.points, Arrivals::kUniform));
  }
  // The zero-length stage: at its time, the rate after the step.
  CHECK(RateSchedule(10, {{5s, 10}, {0s, 50}, {5s, 50}}).rate_at(5s) == 50);
}

TEST_CASE("RateSchedule: the hint is only a starting point") {
  const RateSchedule s(40, {{20s, 40}, {5s, 320}, {20s, 320}, {10s, 0}}, 60s);
  std::size_t hint = 0;
  // Up, then back down: every answer equals the one found without a hint.
  for (double n : {1.0, 900.0, 1700.0, 9000.0, 9699.0, 5000.0, 800.0, 0.5, 9600.0}) {
    CAPTURE(n);
    CHECK(s.time_when_expected_reaches(n, &hint) == s.time_when_expected_reaches(n));
  }
}

namespace {
// The integral of base + amplitude sin(2 pi t / period) over [a, b] (no clipping).
double sine_integral(const Sine& sine, double a, double b) {
  const double w = 2 * M_PI / to_seconds(sine.period);
  return sine.base * (b - a) + sine.amplitude / w * (std::cos(w * a) - std::cos(w * b));
}
// The same with max(0, .), by Simpson's rule over `steps` pieces.
double clipped_sine_integral(const Sine& sine, double a, double b, int steps = 2000) {
  const double w = 2 * M_PI / to_seconds(sine.period);
  auto f = [&](double t) { return std::max(0.0, sine.base + sine.amplitude * std::sin(w * t)); };
  const double h = (b - a) / steps;
  double sum = f(a) + f(b);
  for (int i = 1; i < steps; ++i) sum += f(a + i * h) * (i % 2 == 1 ? 4 : 2);
  return sum * h / 3;
}
}  // namespace

TEST_CASE("RateSchedule: a sine follows max(0, base + amplitude sin(2 pi t / period))") {
  const Sine day{1000, 800, 24h};
  const RateSchedule s(day, 24h);
  CHECK(s.duration() == 24h);
  struct Row {
    Duration t;
    double rate;
  };
  const Row rows[] = {
      {0s, 1000}, {3h, 1000 + 800 * std::sqrt(0.5)},  {6h, 1800}, {12h, 1000},
      {18h, 200}, {21h, 1000 - 800 * std::sqrt(0.5)}, {24h, 0},  // 0 from the end on
  };
  for (const auto& row : rows) {
    CAPTURE(to_seconds(row.t));
    CHECK(std::abs(s.rate_at(row.t) - row.rate) <= 0.01);
  }
  // Every second offers the sine's requests to within 0.01.
  double worst = 0;
  for (int k = 0; k < 86400; ++k)
    worst = std::max(worst, std::abs(s.expected_requests(from_seconds(k), from_seconds(k + 1)) -
                                     sine_integral(day, k, k + 1)));
  CHECK(worst <= 0.01);
  CHECK(s.expected_total() == doctest::Approx(1000.0 * 86400).epsilon(1e-9));
  // Memory: a point every couple of minutes, not one per second.
  CHECK(s.segment_count() < 1000);
}

TEST_CASE("RateSchedule: a clipped sine is 0 below zero, with exact corners") {
  // 100 + 200 sin(2 pi t / 60 s) is negative between 35 s and 55 s (sin < -1/2).
  const Sine sine{100, 200, 60s};
  const RateSchedule s(sine, 120s);
  struct Row {
    Duration t;
    double rate;
  };
  const Row rows[] = {
      {0s, 100},
      {15s, 300},
      {35s, 0},
      {36s, 0},
      {45s, 0},
      {54s, 0},
      {55s, 0},
      {75s, 300},
      {34s, 100 + 200 * std::sin(2 * M_PI * 34 / 60)},
      {56s, 100 + 200 * std::sin(2 * M_PI * 56 / 60)},
  };
  for (const auto& row : rows) {
    CAPTURE(to_seconds(row.t));
    CHECK(std::abs(s.rate_at(row.t) - row.rate) <= 0.01);
  }
  for (int k = 0; k < 120; ++k) {
    CAPTURE(k);
    CHECK(std::abs(s.expected_requests(from_seconds(k), from_seconds(k + 1)) -
                   clipped_sine_integral(sine, k, k + 1)) <= 0.01);
  }
  // The rate is off by at most 0.01 requests/s, so any window by at most 0.01 per second.
  CHECK(std::abs(s.expected_total() - clipped_sine_integral(sine, 0, 120, 200000)) <= 0.01 * 120);
}

TEST_CASE("RateSchedule: a sine's points are bounded however short its period") {
  const RateSchedule tiny_amplitude(Sine{100, 0.001, 60s}, 60s);
  CHECK(tiny_amplitude.segment_count() >= 16);  // the shape is kept
  const RateSchedule fast(Sine{100000, 100000, 1s}, 24h);
  CHECK(fast.segment_count() <= (1u << 18) + 2 * 86400);  // samples plus zero crossings
  CHECK(
      fast.expected_total() ==
      doctest::Approx(clipped_sine_integral(Sine{100000, 100000, 1s}, 0, 1) * 86400).epsilon(1e-3));
}

TEST_CASE("ArrivalIterator: uniform arrivals over a sine are exact") {
  const RateSchedule s(Sine{100, 80, 10s}, 20s);
  const auto arrivals = all_arrivals(s, Arrivals::kUniform);
  CHECK(static_cast<double>(arrivals.size()) == doctest::Approx(2000).epsilon(1e-3));
  for (Duration t = 0s; t <= 20s; t += 100ms) {
    CAPTURE(to_seconds(t));
    CHECK(std::abs(static_cast<double>(count_in(arrivals, 0s, t)) -
                   sine_integral(Sine{100, 80, 10s}, 0, to_seconds(t))) <= 0.5 + 0.01);
  }
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
