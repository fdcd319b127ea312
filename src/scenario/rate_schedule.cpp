#include "scenario/rate_schedule.h"

#include <algorithm>
#include <cassert>
#include <cmath>

namespace flotilla {

RateSchedule::RateSchedule(double start_rps, std::vector<Stage> stages,
                           std::optional<Duration> total) {
  assert(start_rps >= 0);
  Duration stage_sum{};
  for (const auto& s : stages) stage_sum += s.duration;
  total_ = total.value_or(stage_sum);
  const double total_s = to_seconds(total_);

  double t = 0;
  double rate = start_rps;
  double before = 0;
  auto add = [&](double length, double to) {
    if (length <= 0) return;
    segments_.push_back({t, length, rate, to, before});
    before += length * (rate + to) / 2.0;
    t += length;
  };
  for (const auto& s : stages) {
    assert(s.target >= 0);
    if (t >= total_s) break;
    const double length = to_seconds(s.duration);
    if (t + length <= total_s) {
      add(length, s.target);
    } else {
      // Cut at total: the rate where the ramp stands at that moment.
      const double cut = total_s - t;
      add(cut, rate + (s.target - rate) * cut / length);
    }
    rate = s.target;
  }
  if (t < total_s) add(total_s - t, rate);
}

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
    const double area = s.length_s * (s.from_rps + s.to_rps) / 2.0;
    if (s.before + area < n) continue;
    if (hint != nullptr) *hint = i;
    // Solve from*x + slope*x^2/2 = rest for x in [0, length]; the form 2c/(b + sqrt(b^2+4ac))
    // is stable for ramps up, ramps down and ramps from zero.
    const double rest = n - s.before;
    const double a = (s.to_rps - s.from_rps) / s.length_s / 2.0;
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
