#include "scenario/second_series.h"

#include <doctest/doctest.h>

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

}  // namespace flotilla
