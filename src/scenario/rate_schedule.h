#pragma once
// RateSchedule: the offered load over time. One representation serves every traffic shape: the
// rate is piecewise linear, given by points in time. k6 stages, recorded traces (trace.h) and the
// diurnal sine are each turned into such points; the schedule keeps one segment per pair of
// consecutive points with the expected count before it, so memory is O(points) and the
// arrival search below is O(1) per arrival. Pure: no clock, no IO.
//
// Stages have k6's ramping-arrival-rate semantics: each ramps linearly from the previous stage's
// target (the first from start_rps) to its own target over its duration.
//
// ArrivalIterator: the exact send times of that load.
// - uniform: request i (from 0) is sent when the expected count, the integral of the rate from
//   0, reaches i + 1/2. So the number sent in [0, t) is the integral rounded to the nearest
//   whole number (halves down): a 10 s stage at 100 rps sends exactly 1000, a zero rate sends
//   nothing, and the count does not depend on floating-point luck at stage boundaries (sending
//   request n when the integral reaches n would put the last one exactly on the end).
// - poisson: a non-homogeneous Poisson process with that rate (exponential gaps of mean 1 in
//   integral space, mapped back to time), seeded, so two runs with one seed send at the same
//   times.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "core/random.h"
#include "core/time.h"

namespace flotilla {

// A corner of a piecewise-linear rate.
struct RatePoint {
  Duration t{};
  double rps = 0;
  bool operator==(const RatePoint&) const = default;
};

struct Stage {
  Duration duration{};
  double target = 0;  // requests per second at the end of the stage
  bool operator==(const Stage&) const = default;
};

// Diurnal traffic: rate(t) = max(0, base + amplitude x sin(2 pi t / period)), so it starts at
// `base`, rising.
struct Sine {
  double base = 0;       // >= 0
  double amplitude = 0;  // >= 0
  Duration period{};     // > 0
  bool operator==(const Sine&) const = default;
};

enum class Arrivals { kUniform, kPoisson };

class RateSchedule {
 public:
  // A schedule that offers nothing.
  RateSchedule() = default;
  // The rate is linear between consecutive points. The first point is at 0; times do not
  // decrease; two points at one time are a step (from then on, the later one's rate). After the
  // last point its rate holds to `total`; a line that runs past `total` is cut there. Rates are
  // >= 0. All asserted: the parsers report user mistakes.
  RateSchedule(const std::vector<RatePoint>& points, Duration total);
  // k6 stages. `total`: the schedule's length. If the stages end before it, the last target
  // holds to the end; if they end after it, the stages are cut at `total`. Without `total`, the
  // length is the sum of the stages.
  RateSchedule(double start_rps, const std::vector<Stage>& stages,
               std::optional<Duration> total = {});
  // The sine over [0, total], sampled into points so that the rate stays within 0.01
  // requests/s of the sine's (how and why: sine_points in the .cpp).
  RateSchedule(const Sine& sine, Duration total);

  Duration duration() const { return total_; }
  // Requests per second at `t` (0 outside [0, duration())). At a step, the rate after it.
  double rate_at(Duration t) const;
  // The integral of the rate over [from, to], clamped to [0, duration()]; 0 if to <= from.
  double expected_requests(Duration from, Duration to) const;
  double expected_total() const { return expected_requests(Duration::zero(), total_); }
  // The earliest t with expected_requests(0, t) == n, or nullopt if the schedule never reaches
  // n. `segment_hint` (optional) makes calls with non-decreasing n amortised O(1).
  std::optional<Duration> time_when_expected_reaches(double n,
                                                     std::size_t* segment_hint = nullptr) const;
  // The linear pieces kept (steps and zero-length pieces are not kept): the memory it holds.
  std::size_t segment_count() const { return segments_.size(); }

 private:
  struct Segment {
    double start_s = 0;   // seconds since 0
    double length_s = 0;  // > 0
    double from_rps = 0;
    double to_rps = 0;
    double before = 0;   // expected requests before this segment
    double through = 0;  // ... and by its end
    double half_slope = 0;  // (to - from) / length / 2, for solving the ramp's quadratic
  };
  double integral_to(double t_s) const;

  std::vector<Segment> segments_;
  Duration total_{};
};

class ArrivalIterator {
 public:
  // The schedule must outlive the iterator.
  ArrivalIterator(const RateSchedule& schedule, Arrivals arrivals, std::uint64_t seed = 1);
  // The next send time (non-decreasing, within [0, duration())), or nullopt when done.
  std::optional<Duration> next();
  // Arrivals returned so far.
  std::uint64_t produced() const { return produced_; }

 private:
  const RateSchedule* schedule_;
  Arrivals arrivals_;
  SeededRandom random_;
  double position_ = 0;  // in integral space
  std::size_t hint_ = 0;
  std::uint64_t produced_ = 0;
  bool done_ = false;
};

}  // namespace flotilla
