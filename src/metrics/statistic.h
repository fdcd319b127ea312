#pragma once
// Statistic: what CloudWatch computes over the datapoints of one period: Sum, Average, Minimum,
// Maximum, SampleCount (CloudWatch's "Statistic") or a percentile such as p99 or p99.9
// (CloudWatch's "ExtendedStatistic").
//
//   Statistic s = Statistic::average;
//   Statistic p = Statistic::percentile_of(99.9);   // to_string(p) == "p99.9"
//   auto parsed = parse_statistic("p99.9");         // == p
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace flotilla {

struct Statistic {
  enum class Kind : std::uint8_t { average, sum, minimum, maximum, sample_count, percentile };

  Kind kind = Kind::average;
  double percentile = 0;  // in [0, 100] when kind == percentile; 0 otherwise

  static const Statistic average;
  static const Statistic sum;
  static const Statistic minimum;
  static const Statistic maximum;
  static const Statistic sample_count;
  // p in [0, 100].
  static constexpr Statistic percentile_of(double p) { return {Kind::percentile, p}; }

  bool is_percentile() const { return kind == Kind::percentile; }
  bool operator==(const Statistic&) const = default;
};

inline constexpr Statistic Statistic::average{Statistic::Kind::average, 0};
inline constexpr Statistic Statistic::sum{Statistic::Kind::sum, 0};
inline constexpr Statistic Statistic::minimum{Statistic::Kind::minimum, 0};
inline constexpr Statistic Statistic::maximum{Statistic::Kind::maximum, 0};
inline constexpr Statistic Statistic::sample_count{Statistic::Kind::sample_count, 0};

// CloudWatch spelling: "Average", "Sum", "Minimum", "Maximum", "SampleCount", "p99", "p99.9"
// (at most two decimals, trailing zeros dropped).
std::string to_string(Statistic s);
// Accepts the spellings above; a percentile is "p" then a number in [0, 100] with at most two
// decimals ("p50", "p99.9", "p99.99", "p100"). Anything else: nullopt.
std::optional<Statistic> parse_statistic(std::string_view text);

}  // namespace flotilla
