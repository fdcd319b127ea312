#include "scenario/expectation.h"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <optional>

#include "core/config.h"
#include "core/errors.h"

namespace flotilla {
namespace {

using nlohmann::json;
using Kind = SeriesWindow::Kind;

const ExpectationContext k90s{90s, true};

Expectation parse_expectation(const char* text, const ExpectationContext& context = k90s) {
  const json doc = json::parse(text);
  return parse_expectation(ConfigNode(doc, "s.json", "/expect/0"), context);
}

}  // namespace

TEST_CASE("parse_expectation: whole-run figures, series windows and stats") {
  struct Row {
    const char* json;
    const char* text;
    std::optional<Kind> window;  // nullopt: a whole-run figure
    Duration from{};
    Duration to{};
    SeriesStat stat = SeriesStat::kMax;
  };
  const Row rows[] = {
      // Without a window or stat a metric means what it always meant.
      {R"({"metric": "p99_ms", "max": 500})", "p99_ms <= 500", std::nullopt},
      {R"({"metric": "error_rate", "max": 0.01})", "error_rate <= 0.01", std::nullopt},
      {R"({"metric": "ok", "min": 10})", "ok >= 10", std::nullopt},
      {R"({"metric": "availability", "min": 0.999})", "availability >= 0.999", std::nullopt},
      {R"({"metric": "recovery_seconds", "max": 10})", "recovery_seconds <= 10", std::nullopt},
      {R"({"metric": "success_rate", "min": 0.99, "max": 1})", "0.99 <= success_rate <= 1",
       std::nullopt},
      {R"({"metric": "direction_changes", "max": 2})", "direction_changes <= 2", std::nullopt},
      {R"({"metric": "instance_hours", "max": 0.5})", "instance_hours <= 0.5", std::nullopt},
      {R"({"metric": "slo_violation_seconds", "max": 3})", "slo_violation_seconds <= 3",
       std::nullopt},
      // A window or a stat reads the series; max is the default stat.
      {R"({"metric": "p99_ms", "after": "60s", "stat": "max", "max": 500})",
       "max p99_ms after 60s <= 500", Kind::kAfter, 60s},
      {R"({"metric": "p99_ms", "after": "60s", "max": 500})", "max p99_ms after 60s <= 500",
       Kind::kAfter, 60s},
      {R"({"metric": "in_service", "at": "75s", "min": 6})", "in_service at 75s >= 6", Kind::kAt,
       75s},
      {R"({"metric": "cpu_avg", "before": "30s", "stat": "mean", "max": 70})",
       "mean cpu_avg before 30s <= 70",
       Kind::kBefore,
       {},
       30s,
       SeriesStat::kMean},
      {R"({"metric": "error_rate", "between": ["30s", "60s"], "stat": "p99", "max": 0.05})",
       "p99 error_rate between 30s and 60s <= 0.05", Kind::kBetween, 30s, 60s, SeriesStat::kP99},
      {R"({"metric": "desired", "between": [10, "20s"], "stat": "min", "min": 2, "max": 4})",
       "2 <= min desired between 10s and 20s <= 4", Kind::kBetween, 10s, 20s, SeriesStat::kMin},
      {R"({"metric": "p50_ms", "stat": "mean", "max": 20})",
       "mean p50_ms <= 20",
       Kind::kRun,
       {},
       {},
       SeriesStat::kMean},
      // A metric only the series has reads the whole run, stat max.
      {R"({"metric": "pending", "max": 3})", "max pending <= 3", Kind::kRun},
      {R"({"metric": "offered_rps", "stat": "min", "min": 1})",
       "min offered_rps >= 1",
       Kind::kRun,
       {},
       {},
       SeriesStat::kMin},
      // The edges of the run: the last second starts at 89 s; between's end may be the run's.
      {R"({"metric": "ok", "after": "89s", "min": 1})", "max ok after 89s >= 1", Kind::kAfter, 89s},
      {R"({"metric": "ok", "before": "1s", "min": 1})",
       "max ok before 1s >= 1",
       Kind::kBefore,
       {},
       1s},
      {R"({"metric": "ok", "before": "90s", "min": 1})",
       "max ok before 90s >= 1",
       Kind::kBefore,
       {},
       90s},
      {R"({"metric": "ok", "between": ["88.5s", "90s"], "min": 1})",
       "max ok between 88500ms and 90s >= 1", Kind::kBetween, 88500ms, 90s},
      {R"({"metric": "ok", "at": "89.9s", "min": 1})", "ok at 89900ms >= 1", Kind::kAt, 89900ms},
      {R"({"metric": "ok", "at": 0, "min": 1})", "ok at 0s >= 1", Kind::kAt, 0s},
  };
  for (const auto& row : rows) {
    const std::string doc = row.json;
    CAPTURE(doc);
    const Expectation e = parse_expectation(row.json);
    CHECK(e.text() == row.text);
    REQUIRE(e.series.has_value() == row.window.has_value());
    if (!row.window) continue;
    CHECK(e.series->kind == *row.window);
    CHECK(e.series->from == row.from);
    CHECK(e.series->to == row.to);
    CHECK(e.stat == row.stat);
  }
}

TEST_CASE("parse_expectation: each mistake names its JSON pointer") {
  struct Row {
    const char* json;
    const char* pointer;
    const char* expected;  // a fragment of what was expected
    ExpectationContext context = k90s;
  };
  const Row rows[] = {
      {R"({"metric": "happiness", "max": 1})", "/expect/0/metric", "availability"},
      {R"({"metric": 3, "max": 1})", "/expect/0/metric", "in_service"},
      {R"({"metric": "p99_ms"})", "/expect/0", "\"min\" or \"max\""},
      {R"({"metric": "p99_ms", "min": 5, "max": 1})", "/expect/0/max", "a number >= min (5)"},
      {R"({"metric": "p99_ms", "after": "1s", "bellow": 1})", "/expect/0/bellow", "known fields"},
      // A window or a stat on a whole-run figure.
      {R"({"metric": "sent", "after": "10s", "min": 1})", "/expect/0/after",
       "sent is a whole-run figure"},
      {R"({"metric": "max_in_service", "stat": "mean", "min": 1})", "/expect/0/stat",
       "whole-run figure (the per-second series are p50_ms"},
      {R"({"metric": "recovery_seconds", "at": "10s", "max": 1})", "/expect/0/at",
       "no window or stat"},
      {R"({"metric": "p90_ms", "before": "10s", "max": 1})", "/expect/0/before",
       "p90_ms is a whole-run figure"},
      // Stats.
      {R"({"metric": "p99_ms", "stat": "median", "max": 1})", "/expect/0/stat",
       "\"max\", \"mean\", \"min\", \"p99\""},
      {R"({"metric": "p99_ms", "at": "10s", "stat": "mean", "max": 1})", "/expect/0/stat",
       "no stat with \"at\""},
      // Windows.
      {R"({"metric": "p99_ms", "after": "10s", "before": "20s", "max": 1})", "/expect/0",
       "at most one window"},
      {R"({"metric": "p99_ms", "after": "soon", "max": 1})", "/expect/0/after", "a duration"},
      {R"({"metric": "p99_ms", "after": "-1s", "max": 1})", "/expect/0/after", "a duration"},
      {R"({"metric": "p99_ms", "after": "89.5s", "max": 1})", "/expect/0/after",
       "at or before the start of the run's last second (89s)"},
      {R"({"metric": "p99_ms", "after": "90s", "max": 1})", "/expect/0/after", "(89s)"},
      {R"({"metric": "p99_ms", "before": "500ms", "max": 1})", "/expect/0/before",
       "between the end of the run's first second (1s) and the run's end (90s)"},
      {R"({"metric": "p99_ms", "before": "91s", "max": 1})", "/expect/0/before",
       "the run's end (90s)"},
      {R"({"metric": "p99_ms", "between": ["60s", "30s"], "max": 1})", "/expect/0/between/1",
       "a time after the window's start (60s)"},
      {R"({"metric": "p99_ms", "between": ["30s", "30s"], "max": 1})", "/expect/0/between/1",
       "after the window's start"},
      {R"({"metric": "p99_ms", "between": ["30s", "100s"], "max": 1})", "/expect/0/between/1",
       "within the run (at most 90s)"},
      {R"({"metric": "p99_ms", "between": ["30.5s", "31.5s"], "max": 1})", "/expect/0/between",
       "at least one whole second"},
      {R"({"metric": "p99_ms", "between": ["30s"], "max": 1})", "/expect/0/between",
       "[start, end]"},
      {R"({"metric": "p99_ms", "between": "30s", "max": 1})", "/expect/0/between", "an array"},
      {R"({"metric": "p99_ms", "between": ["30s", "late"], "max": 1})", "/expect/0/between/1",
       "a duration"},
      {R"({"metric": "p99_ms", "at": "90s", "max": 1})", "/expect/0/at",
       "a time before the run's end (90s)"},
      // recovery_seconds needs a fault to recover from.
      {R"({"metric": "recovery_seconds", "max": 5})", "/expect/0/metric", "no faults",
       ExpectationContext{90s, false}},
      // A run shorter than a second has one, shorter second.
      {R"({"metric": "ok", "before": "400ms", "min": 1})", "/expect/0/before", "(500ms)",
       ExpectationContext{500ms, false}},
  };
  for (const auto& row : rows) {
    const std::string doc = row.json;
    CAPTURE(doc);
    std::optional<UserError> error;
    try {
      parse_expectation(row.json, row.context);
    } catch (const UserError& e) {
      error = e;
    }
    REQUIRE(error.has_value());
    CAPTURE(error->what());
    CHECK(error->pointer() == row.pointer);
    CHECK(error->file() == "s.json");
    CHECK(error->expected().find(row.expected) != std::string::npos);
  }
  // The shorter last second of a run that is not a whole number of seconds.
  const Expectation e =
      parse_expectation(R"({"metric": "ok", "before": "500ms", "min": 1})", ExpectationContext{500ms, false});
  CHECK(e.series->to == 500ms);
}

TEST_CASE("SeriesWindow::covers: the seconds each window holds") {
  struct Row {
    const char* what;
    SeriesWindow w;
    double start, end;
    bool covered;
  };
  const Row rows[] = {
      {"whole run", SeriesWindow{Kind::kRun, {}, {}}, 0, 1, true},
      {"after: starts at A", SeriesWindow{Kind::kAfter, 60s, {}}, 60, 61, true},
      {"after: starts before A", SeriesWindow{Kind::kAfter, 60s, {}}, 59, 60, false},
      {"after: A inside the second", SeriesWindow{Kind::kAfter, 60500ms, {}}, 60, 61, false},
      {"after: A inside the previous second", SeriesWindow{Kind::kAfter, 60500ms, {}}, 61, 62,
       true},
      {"before: ends at B", SeriesWindow{Kind::kBefore, {}, 30s}, 29, 30, true},
      {"before: ends after B", SeriesWindow{Kind::kBefore, {}, 30s}, 30, 31, false},
      {"before: the run's shorter last second", SeriesWindow{Kind::kBefore, {}, 90500ms}, 90, 90.5,
       true},
      {"between: the first second", SeriesWindow{Kind::kBetween, 30s, 60s}, 30, 31, true},
      {"between: the last second", SeriesWindow{Kind::kBetween, 30s, 60s}, 59, 60, true},
      {"between: ends past B", SeriesWindow{Kind::kBetween, 30s, 60s}, 60, 61, false},
      {"between: starts before A", SeriesWindow{Kind::kBetween, 30s, 60s}, 29, 30, false},
      {"at: the second holding T", SeriesWindow{Kind::kAt, 75500ms, {}}, 75, 76, true},
      {"at: T at the second's start", SeriesWindow{Kind::kAt, 75s, {}}, 75, 76, true},
      {"at: T at the second's end", SeriesWindow{Kind::kAt, 75s, {}}, 74, 75, false},
  };
  for (const auto& row : rows) {
    CAPTURE(row.what);
    CHECK(row.w.covers(row.start, row.end) == row.covered);
  }
}

}  // namespace flotilla
