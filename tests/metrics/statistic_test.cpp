#include <doctest/doctest.h>

#include <optional>
#include <string>

#include "metrics/statistic.h"

using namespace flotilla;

TEST_CASE("parse_statistic: CloudWatch spellings, percentiles and mistakes") {
  struct Row {
    const char* text;
    std::optional<Statistic> want;
  };
  const Row rows[] = {
      {"Average", Statistic::average},
      {"Sum", Statistic::sum},
      {"Minimum", Statistic::minimum},
      {"Maximum", Statistic::maximum},
      {"SampleCount", Statistic::sample_count},
      {"p50", Statistic::percentile_of(50)},
      {"p99", Statistic::percentile_of(99)},
      {"p99.9", Statistic::percentile_of(99.9)},
      {"p99.99", Statistic::percentile_of(99.99)},
      {"p0", Statistic::percentile_of(0)},
      {"p100", Statistic::percentile_of(100)},
      {"p0.5", Statistic::percentile_of(0.5)},
      {"average", std::nullopt},  // case matters, as in CloudWatch
      {"Avg", std::nullopt},
      {"", std::nullopt},
      {"p", std::nullopt},
      {"P99", std::nullopt},
      {"p100.1", std::nullopt},
      {"p101", std::nullopt},
      {"p99.999", std::nullopt},  // two decimals at most
      {"p99.", std::nullopt},
      {"p.9", std::nullopt},
      {"p-1", std::nullopt},
      {"p1e2", std::nullopt},
      {"p 99", std::nullopt},
      {"p99x", std::nullopt},
  };
  for (const Row& r : rows) {
    const std::string text = r.text;
    CAPTURE(text);
    CHECK(parse_statistic(r.text) == r.want);
  }
}

TEST_CASE("to_string(Statistic) round-trips through parse_statistic") {
  struct Row {
    Statistic s;
    const char* want;
  };
  const Row rows[] = {
      {Statistic::average, "Average"},
      {Statistic::sample_count, "SampleCount"},
      {Statistic::percentile_of(99), "p99"},
      {Statistic::percentile_of(99.9), "p99.9"},
      {Statistic::percentile_of(99.99), "p99.99"},
      {Statistic::percentile_of(50), "p50"},
  };
  for (const Row& r : rows) {
    CHECK(to_string(r.s) == r.want);
    CHECK(parse_statistic(to_string(r.s)) == r.s);
  }
  CHECK(Statistic::percentile_of(90).is_percentile());
  CHECK_FALSE(Statistic::maximum.is_percentile());
  CHECK(Statistic::average != Statistic::sum);
}
