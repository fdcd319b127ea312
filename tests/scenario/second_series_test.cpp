#include "scenario/second_series.h"

#include <doctest/doctest.h>

#include <limits>
#include <optional>

namespace flotilla {

TEST_CASE("SecondSeries: counts by scheduled second, latency of successes only") {
  SecondSeries series;
  for (int i = 0; i < 3; ++i) series.on_sent(0);
  series.on_sent(2);
  series.on_ok(0, 10ms);
  series.on_ok(0, 30ms);
  series.on_error(0, LoadErrorKind::kHttp5xx);
  series.on_error(2, LoadErrorKind::kTimeout);
  CHECK(series.seconds() == 3);
  const SecondStats s0 = series.at(0);
  CHECK(s0.sent == 3);
  CHECK(s0.ok == 2);
  CHECK(s0.errors == 1);
  CHECK(s0.by_kind[LoadErrorKind::kHttp5xx] == 1);
  CHECK(s0.latency.count == 2);
  CHECK(s0.latency.min == 10ms);
  CHECK(s0.latency.max == 30ms);
  const SecondStats s1 = series.at(1);  // nothing scheduled then
  CHECK(s1.second == 1);
  CHECK(s1.sent == 0);
  CHECK(s1.latency.count == 0);
  CHECK(series.at(2).by_kind[LoadErrorKind::kTimeout] == 1);
  CHECK(series.at(7).sent == 0);  // beyond what was recorded
}

TEST_CASE("SecondSeries: a second closes once it has nothing in flight, with the same figures") {
  SecondSeries series;
  LatencyHistogram reference;
  for (int i = 1; i <= 100; ++i) {
    series.on_sent(0);
    series.on_ok(0, std::chrono::milliseconds(i));
    reference.record(std::chrono::milliseconds(i));
  }
  series.on_sent(0);  // still in flight
  series.on_sent(1);
  const SecondStats before = series.at(0);
  series.close_before(2);
  CHECK(series.open_seconds() == 2);  // second 0 holds the line, second 1 waits behind it
  series.on_ok(0, 500ms);
  reference.record(500ms);
  series.on_ok(1, 5ms);
  series.close_before(2);
  CHECK(series.open_seconds() == 0);
  const SecondStats after = series.at(0);
  CHECK(after.latency == summarize(reference));
  CHECK(after.latency.count == before.latency.count + 1);
  CHECK(after.latency.max == 500ms);
  CHECK(series.at(1).latency.count == 1);
}

TEST_CASE("SecondSeries: a late record for a closed second counts, outside its percentiles") {
  SecondSeries series;
  series.on_sent(0);
  series.on_ok(0, 10ms);
  series.close_before(5);
  series.on_sent(0);
  series.on_ok(0, 900ms);
  const SecondStats s = series.at(0);
  CHECK(s.sent == 2);
  CHECK(s.ok == 2);
  CHECK(s.latency.count == 1);
  CHECK(s.latency.max == 10ms);
}

TEST_CASE("SecondSeries: memory stays bounded over a day of seconds") {
  SecondSeries series;
  for (std::int64_t s = 0; s < 86400; ++s) {
    // Every other second is quiet: it must not cost a histogram.
    if (s % 2 == 0) {
      series.on_sent(s);
      series.on_ok(s, 20ms);
    }
    series.close_before(s);
    CHECK(series.open_seconds() <= 2);
  }
  CHECK(series.seconds() == 86399);
  CHECK(series.at(86398).ok == 1);
  CHECK(series.at(86397).ok == 0);
}

TEST_CASE("SecondSeries: keep_seconds bounds the seconds kept, whole-run latency stays") {
  SecondSeries series(60);
  std::uint64_t ok = 0;
  for (std::int64_t s = 0; s < 86400; ++s) {
    series.on_sent(s);
    series.on_ok(s, std::chrono::milliseconds(1 + s % 50));
    ++ok;
    series.close_before(s);
    CHECK(series.seconds() - series.first_second() <= 62);
  }
  CHECK(series.latency().count() == ok);
  CHECK(series.first_second() >= 86400 - 62);
  CHECK(series.at(86399).ok == 1);
  CHECK(series.at(100).ok == 0);  // dropped
  CHECK(series.at(100).second == 100);
  // A late record for a dropped second counts in no second, and its latency in the whole run's.
  series.on_sent(100);
  series.on_ok(100, 5ms);
  CHECK(series.at(100).ok == 0);
  CHECK(series.latency().count() == ok + 1);
  // Once the run is over every second is closed, and the newest 60 are kept.
  series.close_before(std::numeric_limits<std::int64_t>::max());
  CHECK(series.seconds() == 86400);
  CHECK(series.first_second() == 86400 - 60);
}

TEST_CASE("snapshot_seconds: a series that keeps N seconds reports at most the newest N") {
  const RateSchedule schedule({{Duration::zero(), 10}}, std::chrono::hours(2));
  struct Row {
    std::size_t keep;
    std::optional<std::size_t> recent;
    std::size_t want;
    std::int64_t first;
  };
  const Row rows[] = {
      {0, std::nullopt, 3600, 0},  // keeps all: every second to the current one
      {0, 2, 2, 3598},
      {60, std::nullopt, 60, 3540},
      {60, 2, 2, 3598},  // the fewer of the two
      {60, 600, 60, 3540},
  };
  for (const Row& r : rows) {
    CAPTURE(r.keep);
    SecondSeries series(r.keep);
    for (std::int64_t s = 0; s < 3600; ++s) {
      series.on_sent(s);
      series.on_ok(s, 10ms);
      series.close_before(s);
    }
    const auto seconds = snapshot_seconds(series, schedule, std::chrono::seconds(3599), r.recent);
    REQUIRE(seconds.size() == r.want);
    CHECK(seconds.front().second == r.first);
    CHECK(seconds.back().second == 3599);
    CHECK(seconds.back().ok == 1);
    CHECK(seconds.back().offered == doctest::Approx(10));
  }
}

}  // namespace flotilla
