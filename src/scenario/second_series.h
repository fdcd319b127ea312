#pragma once
// SecondSeries: a run's figures per scheduled second (traffic.h), in bounded memory.
//
// A second is open while it may still change: it has not ended, or requests scheduled in it are
// in flight. An open second keeps a whole latency histogram (about 16 KB); close_before()
// summarises the seconds that are done into a SecondStats of about 150 bytes and merges their
// histograms into the whole run's, so a day of per-second figures takes about 13 MB, not the
// 1.4 GB that a histogram a second would, and each latency is recorded once. Figures recorded
// for a second already closed (a request that left later than one second after its scheduled
// second: only a stalled sender does that) still count, but their latency is not in that
// second's percentiles; it is in the whole run's.
//
// Retention: with keep_seconds, only the newest keep_seconds seconds' figures are kept (a closed
// second older than that is dropped), so a series that runs for days holds hours, not days; the
// whole run's histogram keeps every latency. Without (0, `run`'s choice), every second is kept.
//
// Threading: none; the caller serialises.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <vector>

#include "scenario/rate_schedule.h"
#include "scenario/traffic.h"

namespace flotilla {

class SecondSeries;

// The seconds a snapshot reports: from the oldest kept (or only the last `recent` ones, and
// never more than the series keeps) to the one `elapsed` is in, never past the schedule's end,
// each with the schedule's offered rate.
std::vector<SecondStats> snapshot_seconds(const SecondSeries& series, const RateSchedule& schedule,
                                          Duration elapsed, std::optional<std::size_t> recent);

class SecondSeries {
 public:
  // keep_seconds: how many of the newest seconds keep their figures; 0: all of them.
  explicit SecondSeries(std::size_t keep_seconds = 0);

  void on_sent(std::int64_t second);
  void on_ok(std::int64_t second, Duration latency);
  void on_error(std::int64_t second, LoadErrorKind kind);
  // Left without an outcome (the run was stopped): no longer in flight, counted nowhere.
  void on_abandoned(std::int64_t second);
  // Closes the open seconds before `second` that have nothing in flight, oldest first; stops at
  // the first one that still has. With keep_seconds, then drops the closed seconds older than
  // the newest keep_seconds before `second` (or before seconds(), if that is earlier).
  void close_before(std::int64_t second);

  // Second s's figures (offered left 0); a second with no request, or one dropped, gives zeros.
  SecondStats at(std::int64_t s) const;
  // Every successful request's latency so far, whole run.
  LatencyHistogram latency() const;
  // Seconds with figures: first_second() .. seconds() - 1.
  std::int64_t seconds() const { return first_kept_ + static_cast<std::int64_t>(stats_.size()); }
  // The oldest second kept: 0 until keep_seconds dropped some.
  std::int64_t first_second() const { return first_kept_; }
  std::size_t keep_seconds() const { return keep_; }
  // Seconds still open (for tests and the memory bound).
  std::size_t open_seconds() const { return open_.size(); }

 private:
  struct Open {
    LatencyHistogram latency;
    std::uint64_t in_flight = 0;
  };
  SecondStats& stats(std::int64_t s);
  // Null when `s` is closed.
  Open* open(std::int64_t s);

  std::size_t keep_ = 0;
  // Seconds first_kept_ ...: counts always current, latency filled at close.
  std::deque<SecondStats> stats_;
  std::int64_t first_kept_ = 0;
  SecondStats dropped_;                     // where a late record for a dropped second goes
  std::deque<std::unique_ptr<Open>> open_;  // seconds first_open_ ...
  std::int64_t first_open_ = 0;
  std::vector<std::unique_ptr<Open>> spare_;  // histograms to reuse
  LatencyHistogram closed_;                   // of closed seconds, late records included
};

}  // namespace flotilla
