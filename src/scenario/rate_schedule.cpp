#include "scenario/rate_schedule.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <numbers>

namespace flotilla {

namespace {

// How finely the sine is sampled. Linear interpolation between samples h apart is off by at most
// amplitude x (2 pi h / period)^2 / 8 (the curvature bound), so h is the largest spacing that
// keeps that under kSineRateError: the offered rate is the sine's to within 0.01 requests/s, so
// every second's expected count is within 0.01 request of the sine's (a longer window's within
// 0.01 per second of it; the chords' shortfall on the sine's upper half mostly comes back on its
// lower half). For base 1000, amplitude 800 and a 24 h period that is a point every 137 s, 630 a
// day. At least kMinSinePointsPerPeriod keep the shape when the
// amplitude is tiny; at most kMaxSinePoints bound the memory when the period is very short
// against the duration (the bound above then grows with h). Where max(0, .) clips, the zero
// crossings become points too, so the corners are exact rather than rounded off.
constexpr double kSineRateError = 0.01;  // requests per second
constexpr double kMinSinePointsPerPeriod = 16;
constexpr double kMaxSinePoints = 1 << 18;

std::vector<RatePoint> sine_points(const Sine& sine, Duration total) {
  assert(sine.base >= 0 && sine.amplitude >= 0 && sine.period > Duration::zero());
  const double total_s = to_seconds(total);
  const double omega = 2 * std::numbers::pi / to_seconds(sine.period);
  auto raw = [&](double t) { return sine.base + sine.amplitude * std::sin(omega * t); };
  if (total_s <= 0) return {{Duration::zero(), sine.base}};

  double h = to_seconds(sine.period) / kMinSinePointsPerPeriod;
  if (sine.amplitude > 0) h = std::min(h, std::sqrt(8 * kSineRateError / sine.amplitude) / omega);
  h = std::max(h, total_s / kMaxSinePoints);
  const auto steps = static_cast<std::size_t>(std::ceil(total_s / h));

  std::vector<RatePoint> points;
  points.reserve(steps + 1);
  double prev_t = 0;
  double prev = raw(0);
  points.push_back({Duration::zero(), std::max(0.0, prev)});
  for (std::size_t k = 1; k <= steps; ++k) {
    const double t = k == steps ? total_s : total_s * static_cast<double>(k) / steps;
    const double v = raw(t);
    if ((prev > 0) != (v > 0)) {
      // The clipped sine has a corner at the crossing: bisect for it (60 halvings reach the
      // resolution of a double).
      double lo = prev_t, hi = t;
      for (int i = 0; i < 60; ++i) {
        const double mid = (lo + hi) / 2;
        ((raw(mid) > 0) == (prev > 0) ? lo : hi) = mid;
      }
      points.push_back({from_seconds((lo + hi) / 2), 0.0});
    }
    points.push_back({from_seconds(t), std::max(0.0, v)});
    prev_t = t;
    prev = v;
  }
  return points;
}

std::vector<RatePoint> stage_points(double start_rps, const std::vector<Stage>& stages) {
  std::vector<RatePoint> points;
  points.reserve(stages.size() + 1);
  points.push_back({Duration::zero(), start_rps});
  Duration t{};
  for (const auto& s : stages) {
    t += s.duration;
    points.push_back({t, s.target});
  }
  return points;
}

Duration stage_total(const std::vector<Stage>& stages) {
  Duration sum{};
  for (const auto& s : stages) sum += s.duration;
  return sum;
}

}  // namespace

RateSchedule::RateSchedule(const std::vector<RatePoint>& points, Duration total) : total_(total) {
  assert(points.empty() || points.front().t == Duration::zero());
  const double total_s = to_seconds(total_);
  double before = 0;
  auto add = [&](double start, double end, double from, double to) {
    if (end <= start) return;
    const double area = (end - start) * (from + to) / 2.0;
    segments_.push_back(
        {start, end - start, from, to, before, before + area, (to - from) / (end - start) / 2.0});
    before += area;
  };
  segments_.reserve(points.size());
  for (std::size_t i = 0; i + 1 < points.size(); ++i) {
    const RatePoint& p = points[i];
    const RatePoint& q = points[i + 1];
    assert(p.t <= q.t && p.rps >= 0 && q.rps >= 0);
    const double a = to_seconds(p.t);
    const double b = to_seconds(q.t);
    if (a >= total_s) break;
    if (b <= total_s) {
      add(a, b, p.rps, q.rps);
    } else {
      // Cut at total: the rate where the line stands at that moment.
      add(a, total_s, p.rps, p.rps + (q.rps - p.rps) * (total_s - a) / (b - a));
    }
  }
  if (!points.empty()) {
    const RatePoint& last = points.back();
    add(to_seconds(last.t), total_s, last.rps, last.rps);
  }
}

RateSchedule::RateSchedule(double start_rps, const std::vector<Stage>& stages,
                           std::optional<Duration> total)
    : RateSchedule(stage_points(start_rps, stages), total.value_or(stage_total(stages))) {}

RateSchedule::RateSchedule(const Sine& sine, Duration total)
    : RateSchedule(sine_points(sine, total), total) {}

double RateSchedule::rate_at(Duration t) const {
  const double ts = to_seconds(t);
  if (ts < 0 || ts >= to_seconds(total_)) return 0;
  auto it = std::upper_bound(segments_.begin(), segments_.end(), ts,
                             [](double v, const Segment& s) { return v < s.start_s; });
  if (it == segments_.begin()) return 0;
  const Segment& s = *std::prev(it);
  const double f = std::clamp((ts - s.start_s) / s.length_s, 0.0, 1.0);
  return s.from_rps + (s.to_rps - s.from_rps) * f;
}

double RateSchedule::integral_to(double ts) const {
  if (segments_.empty() || ts <= 0) return 0;
  auto it = std::upper_bound(segments_.begin(), segments_.end(), ts,
                             [](double v, const Segment& s) { return v < s.start_s; });
  const Segment& s = *std::prev(it);
  const double x = std::clamp(ts - s.start_s, 0.0, s.length_s);
  const double slope = (s.to_rps - s.from_rps) / s.length_s;
  return s.before + s.from_rps * x + slope * x * x / 2.0;
}

double RateSchedule::expected_requests(Duration from, Duration to) const {
  if (to <= from) return 0;
  return integral_to(to_seconds(to)) - integral_to(to_seconds(from));
}

std::optional<Duration> RateSchedule::time_when_expected_reaches(double n,
                                                                 std::size_t* hint) const {
  if (n <= 0) return Duration::zero();
  if (segments_.empty()) return std::nullopt;
  std::size_t i = hint != nullptr ? std::min(*hint, segments_.size() - 1) : 0;
  // The hint is only a starting point: step back if n lies before it.
  while (i > 0 && segments_[i].before >= n) --i;
  for (; i < segments_.size(); ++i) {
    const Segment& s = segments_[i];
    if (s.through < n) continue;
    if (hint != nullptr) *hint = i;
    // Solve from*x + slope*x^2/2 = rest for x in [0, length]; the form 2c/(b + sqrt(b^2+4ac))
    // is stable for ramps up, ramps down and ramps from zero.
    const double rest = n - s.before;
    // A constant rate (most of a trace's or a stage's time) needs no square root.
    if (s.to_rps == s.from_rps && s.from_rps > 0)
      return from_seconds(s.start_s + std::min(rest / s.from_rps, s.length_s));
    const double a = s.half_slope;
    const double b = s.from_rps;
    const double disc = std::max(0.0, b * b + 4.0 * a * rest);
    const double denom = b + std::sqrt(disc);
    const double x = denom > 0 ? std::clamp(2.0 * rest / denom, 0.0, s.length_s) : s.length_s;
    return from_seconds(s.start_s + x);
  }
  if (hint != nullptr) *hint = segments_.size();
  return std::nullopt;
}

ArrivalIterator::ArrivalIterator(const RateSchedule& schedule, Arrivals arrivals,
                                 std::uint64_t seed)
    : schedule_(&schedule), arrivals_(arrivals), random_(seed) {
  position_ = arrivals_ == Arrivals::kUniform ? 0.5 : random_.exponential(1.0);
}

std::optional<Duration> ArrivalIterator::next() {
  if (done_) return std::nullopt;
  auto t = schedule_->time_when_expected_reaches(position_, &hint_);
  if (!t || *t >= schedule_->duration()) {
    done_ = true;
    return std::nullopt;
  }
  position_ += arrivals_ == Arrivals::kUniform ? 1.0 : random_.exponential(1.0);
  ++produced_;
  return t;
}

}  // namespace flotilla
