#include "scenario/second_series.h"

#include <algorithm>
#include <cassert>

namespace flotilla {

std::vector<SecondStats> snapshot_seconds(const SecondSeries& series, const RateSchedule& schedule,
                                          Duration elapsed, std::optional<std::size_t> recent) {
  auto second_of = [](Duration d) {
    return std::chrono::duration_cast<std::chrono::seconds>(d).count();
  };
  const Duration total = schedule.duration();
  const std::int64_t last_second =
      total > Duration::zero() ? second_of(total - Duration(1)) : std::int64_t{-1};
  const std::int64_t current = std::min<std::int64_t>(second_of(elapsed), last_second);
  std::int64_t first = series.first_second();
  if (series.keep_seconds() > 0)
    first = std::max(first, current - static_cast<std::int64_t>(series.keep_seconds()) + 1);
  if (recent) first = std::max(first, current - static_cast<std::int64_t>(*recent) + 1);
  std::vector<SecondStats> out;
  out.reserve(static_cast<std::size_t>(std::max<std::int64_t>(0, current - first + 1)));
  for (std::int64_t s = first; s <= current; ++s) {
    SecondStats stats = series.at(s);
    stats.offered = schedule.expected_requests(std::chrono::seconds(s), std::chrono::seconds(s + 1));
    out.push_back(std::move(stats));
  }
  return out;
}

SecondSeries::SecondSeries(std::size_t keep_seconds) : keep_(keep_seconds) {}

SecondStats& SecondSeries::stats(std::int64_t s) {
  s = std::max<std::int64_t>(s, 0);
  if (s < first_kept_) {
    dropped_ = SecondStats{};
    return dropped_;
  }
  const auto i = static_cast<std::size_t>(s - first_kept_);
  while (stats_.size() <= i) {
    SecondStats fresh;
    fresh.second = seconds();
    stats_.push_back(fresh);
  }
  return stats_[i];
}

SecondSeries::Open* SecondSeries::open(std::int64_t s) {
  s = std::max<std::int64_t>(s, 0);
  if (s < first_open_) return nullptr;
  const auto i = static_cast<std::size_t>(s - first_open_);
  // Seconds without requests keep no histogram (a quiet stretch of a trace costs nothing).
  if (open_.size() <= i) open_.resize(i + 1);
  if (!open_[i]) {
    if (spare_.empty()) {
      open_[i] = std::make_unique<Open>();
    } else {
      open_[i] = std::move(spare_.back());
      spare_.pop_back();
    }
  }
  return open_[i].get();
}

void SecondSeries::on_sent(std::int64_t second) {
  ++stats(second).sent;
  if (Open* o = open(second)) ++o->in_flight;
}

void SecondSeries::on_ok(std::int64_t second, Duration latency) {
  ++stats(second).ok;
  if (Open* o = open(second)) {
    assert(o->in_flight > 0);
    --o->in_flight;
    o->latency.record(latency);
  } else {
    closed_.record(latency);
  }
}

void SecondSeries::on_error(std::int64_t second, LoadErrorKind kind) {
  SecondStats& s = stats(second);
  ++s.errors;
  ++s.by_kind[kind];
  if (Open* o = open(second)) --o->in_flight;
}

void SecondSeries::on_abandoned(std::int64_t second) {
  if (Open* o = open(second)) --o->in_flight;
}

void SecondSeries::close_before(std::int64_t second) {
  while (first_open_ < second && !open_.empty() &&
         (!open_.front() || open_.front()->in_flight == 0)) {
    std::unique_ptr<Open> done = std::move(open_.front());
    open_.pop_front();
    if (done) {
      stats(first_open_).latency = summarize(done->latency);
      closed_.merge(done->latency);
      done->latency.reset();
      spare_.push_back(std::move(done));
    }
    ++first_open_;
  }
  // Seconds nothing was recorded for close without an entry.
  if (open_.empty()) first_open_ = std::max(first_open_, second);
  if (keep_ == 0) return;
  const std::int64_t newest = std::min(second, seconds());
  const std::int64_t drop_before = std::min(newest - static_cast<std::int64_t>(keep_), first_open_);
  while (first_kept_ < drop_before && !stats_.empty()) {
    stats_.pop_front();
    ++first_kept_;
  }
}

LatencyHistogram SecondSeries::latency() const {
  LatencyHistogram all = closed_;
  for (const auto& o : open_)
    if (o) all.merge(o->latency);
  return all;
}

SecondStats SecondSeries::at(std::int64_t s) const {
  SecondStats out;
  out.second = s;
  if (s >= first_kept_ && s < seconds()) out = stats_[static_cast<std::size_t>(s - first_kept_)];
  if (s >= first_open_) {
    const auto i = static_cast<std::size_t>(s - first_open_);
    if (i < open_.size() && open_[i]) out.latency = summarize(open_[i]->latency);
  }
  return out;
}

}  // namespace flotilla
