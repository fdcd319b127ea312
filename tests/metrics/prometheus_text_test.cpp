#include "metrics/prometheus_text.h"

#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "support/promtool.h"

using namespace flotilla;
using namespace flotilla::prom;
using flotilla::test::promtool_check_metrics;

TEST_CASE("format_value: Prometheus's numbers, whole ones without an exponent") {
  struct Row {
    double value;
    const char* want;
  };
  const Row rows[] = {
      {0, "0"},
      {-0.0, "0"},
      {1, "1"},
      {-1, "-1"},
      {42, "42"},
      {1e6, "1000000"},                          // whole: no exponent, unlike Go's 1e+06
      {9007199254740993.0, "9007199254740992"},  // 2^53 + 1 is not a double
      {-1e18, "-1000000000000000000"},
      {1e19, "1e+19"},  // at or above 2^63: Go's form
      {0.25, "0.25"},
      {0.1, "0.1"},
      {-2.5, "-2.5"},
      {0.0001, "0.0001"},
      {0.00001, "1e-05"},
      {1.5e-5, "1.5e-05"},
      {123456.5, "123456.5"},
      {1234567.5, "1.2345675e+06"},
      {1.0 / 3, "0.3333333333333333"},
      {NAN, "NaN"},
      {INFINITY, "+Inf"},
      {-INFINITY, "-Inf"},
  };
  for (const auto& row : rows) {
    CAPTURE(row.value);
    CHECK(format_value(row.value) == row.want);
  }
}

TEST_CASE("escaping: label values escape backslash, quote and newline, help keeps quotes") {
  struct Row {
    std::string in;
    std::string label;
    std::string help;
  };
  const std::vector<Row> rows = {
      {"plain", "plain", "plain"},
      {"", "", ""},
      {"a\\b", "a\\\\b", "a\\\\b"},
      {"say \"hi\"", "say \\\"hi\\\"", "say \"hi\""},
      {"two\nlines", "two\\nlines", "two\\nlines"},
      {"\\n", "\\\\n", "\\\\n"},  // a backslash then n is not a newline
      {"tab\there", "tab\there", "tab\there"},
      {"caf\xC3\xA9", "caf\xC3\xA9", "caf\xC3\xA9"},  // UTF-8 passes through
  };
  for (const auto& row : rows) {
    CAPTURE(row.in);
    CHECK(escape_label_value(row.in) == row.label);
    CHECK(escape_help(row.in) == row.help);
  }
}

TEST_CASE("names: metric names may hold colons, label names may not, and __ is reserved") {
  struct Row {
    const char* name;
    bool metric;
    bool label;
  };
  const Row rows[] = {
      {"flotilla_group_desired_capacity", true, true},
      {"_private", true, true},
      {"__reserved", true, false},
      {"job:rate5m", true, false},
      {":starts_with_colon", true, false},
      {"Camel9", true, true},
      {"9starts_with_digit", false, false},
      {"has-dash", false, false},
      {"has space", false, false},
      {"caf\xC3\xA9", false, false},
      {"", false, false},
  };
  for (const auto& row : rows) {
    CAPTURE(row.name);
    CHECK(valid_metric_name(row.name) == row.metric);
    CHECK(valid_label_name(row.name) == row.label);
  }
}

TEST_CASE("ExpositionPage: families in first-named order, samples of one family together") {
  ExpositionPage page;
  auto& requests = page.counter("demo_requests_total", "Requests by target.");
  auto& healthy = page.gauge("demo_healthy", "1 if the target is \"healthy\"\nelse 0.");
  // Interleaved, as a loop over targets adds them.
  requests.add({{"target", "a"}}, 3);
  healthy.add({{"target", "a"}}, 1);
  requests.add({{"target", "b\"\n\\"}}, 0);
  healthy.add({{"target", "b\"\n\\"}}, 0);
  page.gauge("demo_empty", "Has no sample, so is not written.");
  page.gauge("demo_up", "Up.").add(1);
  // Opening a family again returns it.
  page.counter("demo_requests_total", "Requests by target.").add({{"target", "c"}}, 1e6);

  CHECK(page.text() ==
        "# HELP demo_requests_total Requests by target.\n"
        "# TYPE demo_requests_total counter\n"
        "demo_requests_total{target=\"a\"} 3\n"
        "demo_requests_total{target=\"b\\\"\\n\\\\\"} 0\n"
        "demo_requests_total{target=\"c\"} 1000000\n"
        "# HELP demo_healthy 1 if the target is \"healthy\"\\nelse 0.\n"
        "# TYPE demo_healthy gauge\n"
        "demo_healthy{target=\"a\"} 1\n"
        "demo_healthy{target=\"b\\\"\\n\\\\\"} 0\n"
        "# HELP demo_up Up.\n"
        "# TYPE demo_up gauge\n"
        "demo_up 1\n");
  CHECK(ExpositionPage().text().empty());
}

TEST_CASE("ExpositionPage: a histogram is cumulative buckets, le=\"+Inf\" last, then sum, count") {
  ExpositionPage page;
  HistogramValue value;
  value.buckets = {{0.005, 1}, {0.1, 3}, {1, 3}};
  value.sum = 0.5;
  value.count = 4;
  page.histogram("demo_latency_seconds", "Latency.").add({{"code", "2xx"}}, value);
  page.histogram("demo_latency_seconds", "Latency.").add(HistogramValue{});
  CHECK(page.text() ==
        "# HELP demo_latency_seconds Latency.\n"
        "# TYPE demo_latency_seconds histogram\n"
        "demo_latency_seconds_bucket{code=\"2xx\",le=\"0.005\"} 1\n"
        "demo_latency_seconds_bucket{code=\"2xx\",le=\"0.1\"} 3\n"
        "demo_latency_seconds_bucket{code=\"2xx\",le=\"1\"} 3\n"
        "demo_latency_seconds_bucket{code=\"2xx\",le=\"+Inf\"} 4\n"
        "demo_latency_seconds_sum{code=\"2xx\"} 0.5\n"
        "demo_latency_seconds_count{code=\"2xx\"} 4\n"
        "demo_latency_seconds_bucket{le=\"+Inf\"} 0\n"
        "demo_latency_seconds_sum 0\n"
        "demo_latency_seconds_count 0\n");
}

TEST_CASE("to_histogram_value: observations land under the first bound at or above them") {
  struct Row {
    const char* name;
    std::vector<Duration> observations;
    std::vector<std::uint64_t> cumulative;  // per bound of {0.001, 0.01, 0.1}
  };
  const std::vector<Row> rows = {
      {"empty", {}, {0, 0, 0}},
      {"below the first bound", {100us, 900us}, {2, 2, 2}},
      {"one in each", {500us, 5ms, 50ms}, {1, 2, 3}},
      {"above every bound", {2s}, {0, 0, 0}},
      {"exact microseconds under 128 us", {127us, 1us, 0us}, {3, 3, 3}},
      {"just under and over a bound", {9800us, 10300us}, {0, 1, 2}},
  };
  const double bounds[] = {0.001, 0.01, 0.1};
  for (const auto& row : rows) {
    CAPTURE(row.name);
    LatencyHistogram h;
    Duration total{};
    for (auto d : row.observations) {
      h.record(d);
      total += d;
    }
    const auto value = to_histogram_value(h, bounds);
    REQUIRE(value.buckets.size() == 3);
    for (std::size_t i = 0; i < 3; ++i) {
      CAPTURE(i);
      CHECK(value.buckets[i].le == bounds[i]);
      CHECK(value.buckets[i].count == row.cumulative[i]);
    }
    CHECK(value.count == row.observations.size());
    CHECK(value.sum == doctest::Approx(to_seconds(total)).epsilon(1e-6));
  }
}

TEST_CASE("to_histogram_value: the default latency bounds") {
  LatencyHistogram h;
  h.record_n(2ms, 10);
  h.record(20s);
  const auto value = to_histogram_value(h);
  REQUIRE(value.buckets.size() == std::size(kLatencyBucketsSeconds));
  CHECK(value.buckets.front().le == 0.001);
  CHECK(value.buckets.front().count == 0);
  CHECK(value.buckets[1].le == 0.0025);
  CHECK(value.buckets[1].count == 10);
  CHECK(value.buckets.back().le == 10);
  CHECK(value.buckets.back().count == 10);  // the 20 s one is only in +Inf
  CHECK(value.count == 11);
}

TEST_CASE("promtool check metrics: a page of every kind is clean, a lint finding is reported") {
  ExpositionPage page;
  page.counter("demo_requests_total", "Requests, by \"code\".")
      .add({{"code", "2xx"}}, 10)
      .add({{"code", "5xx"}}, 0);
  page.gauge("demo_ratio", "A ratio\\with odd\ncharacters.")
      .add({{"path", "a\"b\\c\nd"}}, 0.25)
      .add({{"path", "nan"}}, NAN)
      .add({{"path", "inf"}}, INFINITY)
      .add({{"path", "big"}}, 1e19);
  LatencyHistogram h;
  h.record(3ms);
  h.record(300ms);
  page.histogram("demo_response_time_seconds", "Response time.")
      .add({{"target", "w-1"}}, to_histogram_value(h));

  const auto clean = promtool_check_metrics(page.text());
  INFO(page.text());
  INFO(clean.out, clean.err);
  CHECK(clean.exit_code == 0);
  CHECK(clean.out.empty());
  CHECK(clean.err.empty());

  // The same check fails on a page that breaks a rule, so a clean result means something.
  const auto lint = promtool_check_metrics("# TYPE demo_requests counter\ndemo_requests 1\n");
  CHECK(lint.exit_code != 0);
  CHECK((lint.out + lint.err).find("_total") != std::string::npos);
}
