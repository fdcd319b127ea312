#pragma once
// RateSchedule: the offered load over time, with k6's ramping-arrival-rate semantics. Each stage
// ramps linearly from the previous stage's target (the first from start_rps) to its own target
// over its duration. Pure: no clock, no IO.
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

struct Stage {
  Duration duration{};
  double target = 0;  // requests per second at the end of the stage
  bool operator==(const Stage&) const = default;
};

enum class Arrivals { kUniform, kPoisson };

class RateSchedule {
 public:
  // A schedule that offers nothing.
  RateSchedule() = default;
  // `total`: the schedule's length. If the stages end before it, the last target holds to the
  // end; if they end after it, the stages are cut at `total`. Without `total`, the length is the
  // sum of the stages. Rates must be >= 0 (asserted; the parser reports user mistakes).
  RateSchedule(double start_rps, std::vector<Stage> stages, std::optional<Duration> total = {});

  Duration duration() const { return total_; }
  // Requests per second at `t` (0 outside [0, duration())). At a stage boundary, the rate at
  // the start of the next stage.
  double rate_at(Duration t) const;
  // The integral of the rate over [from, to], clamped to [0, duration()]; 0 if to <= from.
  double expected_requests(Duration from, Duration to) const;
  double expected_total() const { return expected_requests(Duration::zero(), total_); }
  // The earliest t with expected_requests(0, t) == n, or nullopt if the schedule never reaches
  // n. `segment_hint` (optional) speeds up calls with non-decreasing n.
  std::optional<Duration> time_when_expected_reaches(double n,
                                                     std::size_t* segment_hint = nullptr) const;

 private:
  struct Segment {
    double start_s = 0;   // seconds since 0
    double length_s = 0;  // > 0
    double from_rps = 0;
    double to_rps = 0;
    double before = 0;  // expected requests before this segment
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
