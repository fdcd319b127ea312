#pragma once
// The Prometheus text exposition format, version 0.0.4 (what a scrape of /metrics reads):
// metric families, each a `# HELP` line, a `# TYPE` line and its samples, one per line.
//
// An ExpositionPage collects families in the order they are first named and writes each
// family's samples together, in the order they were added, so a caller may add samples to
// several families in one loop and the page still never splits a family. Names and label names
// are the caller's invariants (asserts): metric names [a-zA-Z_:][a-zA-Z0-9_:]*, label names
// [a-zA-Z_][a-zA-Z0-9_]* not starting with "__", counters named ..._total, no label "le" but the
// one histograms add, one sample per label set. Label values and help text may be any text:
// they are escaped.
//
// Threading: none; a page is built and written by one thread.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/histogram.h"

namespace flotilla::prom {

enum class MetricType { kCounter, kGauge, kHistogram };

// "counter", "gauge", "histogram"
std::string_view to_string(MetricType type);

// Label name and value pairs, in the order they are written.
using Labels = std::vector<std::pair<std::string, std::string>>;

// A histogram's value: cumulative counts of the observations <= each finite upper bound, in
// ascending order of bounds, plus the sum and the count of all observations (the +Inf bucket).
struct HistogramValue {
  struct Bucket {
    double le = 0;            // upper bound, inclusive
    std::uint64_t count = 0;  // observations <= le (cumulative)
  };
  std::vector<Bucket> buckets;
  double sum = 0;
  std::uint64_t count = 0;
};

// Bounds in seconds for request latencies on loopback: Prometheus's default buckets with two
// finer ones below 5 ms, where a local worker's responses fall.
inline constexpr double kLatencyBucketsSeconds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                    0.25,  0.5,    1,     2.5,  5,     10};

// `histogram` in seconds over `bounds` (ascending, finite). Each of its buckets counts under the
// first bound at or above the bucket's midpoint, the value percentile() reports for it, so a
// bound is as exact as the histogram's 1.6 % bucket width allows. The sum is mean x count.
HistogramValue to_histogram_value(const LatencyHistogram& histogram,
                                  std::span<const double> bounds = kLatencyBucketsSeconds);

// A number as Prometheus writes it: "NaN", "+Inf", "-Inf"; a whole number below 2^63 in
// magnitude as an integer, never with an exponent ("1000000", "0" for -0); any other value as
// Go's strconv.FormatFloat(v, 'g', -1, 64): the shortest text that reads back as the same
// double, with an exponent below 1e-4 and from 1e6 up ("0.25", "1.5e-05", "1.2345675e+06").
std::string format_value(double value);

// `value` with backslash, double quote and newline escaped, for inside a label's quotes.
std::string escape_label_value(std::string_view value);
// `text` with backslash and newline escaped, for a # HELP line.
std::string escape_help(std::string_view text);

// Whether `name` matches [a-zA-Z_:][a-zA-Z0-9_:]* (a metric name).
bool valid_metric_name(std::string_view name);
// Whether `name` matches [a-zA-Z_][a-zA-Z0-9_]* and does not start with "__" (reserved).
bool valid_label_name(std::string_view name);

class ExpositionPage {
 public:
  // Opens the family `name` or, if it is open already, returns it (same type and help: assert).
  class Family;
  Family& counter(std::string_view name, std::string_view help);
  Family& gauge(std::string_view name, std::string_view help);
  Family& histogram(std::string_view name, std::string_view help);

  // The page: every family in the order first named, with its samples; a family without
  // samples is left out. Ends with a newline unless empty.
  std::string text() const;

  class Family {
   public:
    // A counter's or gauge's sample.
    Family& add(Labels labels, double value);
    Family& add(double value) { return add({}, value); }
    // A histogram's sample: name_bucket{...,le="b"} per bound, le="+Inf" last, then name_sum
    // and name_count. Bounds ascending and counts cumulative, none above `count` (asserts).
    Family& add(Labels labels, const HistogramValue& value);
    Family& add(const HistogramValue& value) { return add({}, value); }

   private:
    friend class ExpositionPage;
    Family(std::string name, MetricType type, std::string help);
    void check_new_label_set(const Labels& labels);
    void write(std::string& out) const;

    std::string name_;
    MetricType type_;
    std::string help_;
    std::set<std::string> label_sets_;  // each sample's labels, sorted: the duplicate check
    std::string samples_;               // written sample lines
  };

 private:
  Family& open(std::string_view name, MetricType type, std::string_view help);

  std::vector<std::unique_ptr<Family>> families_;  // stable addresses for the references
};

}  // namespace flotilla::prom
