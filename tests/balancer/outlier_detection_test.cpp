#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "balancer/data_plane.h"
#include "balancer/outlier_detection.h"
#include "core/duration.h"

using namespace flotilla;

namespace {

// One update(): the time, what the data plane says, and the changes expected.
struct Step {
  Time at;
  std::vector<OutlierObservation> targets;
  std::vector<OutlierChange> expected;
};

struct OutlierRow {
  const char* name;
  OutlierDetectionConfig config;
  std::vector<Step> steps;
};

OutlierDetectionConfig config(int percent = 10, bool one = true, std::uint32_t threshold = 5) {
  OutlierDetectionConfig c;
  c.consecutive_5xx = threshold;
  c.interval = 10s;
  c.base_ejection_time = 30s;
  c.max_ejection_time = 300s;
  c.max_ejection_percent = percent;
  c.always_eject_one_host = one;
  return c;
}

// A target as the data plane reports it: the streaks it made so far.
OutlierObservation o(const char* id, std::uint64_t streaks, bool routable = true) {
  return {id, streaks, routable};
}
OutlierChange out(const char* id, Time until, int ejections) {
  return {id, true, until, ejections};
}
OutlierChange back(const char* id, int ejections) { return {id, false, Time{}, ejections}; }

std::string describe(const std::vector<OutlierChange>& changes) {
  std::string s;
  for (const auto& c : changes) {
    s += c.id + (c.ejected ? " out until " + format_duration(c.until) : " back") + " x" +
         std::to_string(c.ejections) + "; ";
  }
  return s;
}

}  // namespace

TEST_CASE("outlier detection: ejections, returns, growth, decay and the percentage cap") {
  const std::vector<OutlierRow> rows = {
      {"no new streak stays in",
       config(),
       {{0s, {o("a", 0), o("b", 0)}, {}}, {1s, {o("a", 0)}, {}}}},
      {"a streak ejects for the base time, then it returns",
       config(),
       {{0s, {o("a", 1)}, {out("a", 30s, 1)}},
        {29s, {o("a", 1)}, {}},
        {30s, {o("a", 1)}, {back("a", 1)}}}},
      {"a streak made between two polls ejects at the next one, whatever followed it",
       config(),
       {{0s, {o("a", 0)}, {}}, {250ms, {o("a", 1)}, {out("a", 30250ms, 1)}}}},
      {"streaks from before an ejection are not counted again; the second ejection is longer",
       config(),
       {{0s, {o("a", 1)}, {out("a", 30s, 1)}},
        {30s, {o("a", 1)}, {back("a", 1)}},
        {31s, {o("a", 1)}, {}},
        {32s, {o("a", 2)}, {out("a", 92s, 2)}}}},
      {"streaks made while ejected are forgiven, up to the poll that lets it back",
       config(),
       {{0s, {o("a", 1)}, {out("a", 30s, 1)}},
        {10s, {o("a", 2)}, {}},
        {30s, {o("a", 3)}, {back("a", 1)}},
        {31s, {o("a", 3)}, {}}}},
      {"a drop (the data plane counts from zero again) lowers the baseline",
       config(),
       {{0s, {o("a", 3)}, {out("a", 30s, 1)}},
        {30s, {o("a", 3)}, {back("a", 1)}},
        {31s, {o("a", 0)}, {}},
        {32s, {o("a", 1)}, {out("a", 92s, 2)}}}},
      {"each quiet interval takes one ejection off the multiplier",
       config(),
       {{0s, {o("a", 1)}, {out("a", 30s, 1)}},
        {30s, {o("a", 1)}, {back("a", 1)}},
        {40s, {o("a", 1)}, {}},
        {41s, {o("a", 2)}, {out("a", 71s, 1)}}}},
      {"no decay while failing again within the interval",
       config(),
       {{0s, {o("a", 1)}, {out("a", 30s, 1)}},
        {30s, {o("a", 1)}, {back("a", 1)}},
        {39s, {o("a", 2)}, {out("a", 99s, 2)}}}},
      {"10% of 4 is less than one: one may still be ejected (always_eject_one_host)",
       config(10, true),
       {{0s, {o("a", 1), o("b", 1), o("c", 0), o("d", 0)}, {out("a", 30s, 1)}}}},
      {"10% of 4 without always_eject_one_host: none (Envoy's default)",
       config(10, false),
       {{0s, {o("a", 1), o("b", 1), o("c", 0), o("d", 0)}, {}}}},
      {"50% of 4: two",
       config(50, false),
       {{0s, {o("a", 1), o("b", 2), o("c", 1), o("d", 0)}, {out("a", 30s, 1), out("b", 30s, 1)}}}},
      {"100%: every target with a streak",
       config(100, false),
       {{0s, {o("a", 1), o("b", 1)}, {out("a", 30s, 1), out("b", 30s, 1)}}}},
      {"a streak the cap keeps in is dropped; a streak once there is room ejects",
       config(10, true),
       {{0s, {o("a", 1), o("b", 1)}, {out("a", 30s, 1)}},
        {10s, {o("a", 1), o("b", 2)}, {}},
        {30s, {o("a", 1), o("b", 2)}, {back("a", 1)}},
        {31s, {o("a", 1), o("b", 3)}, {out("b", 61s, 1)}}}},
      {"unroutable targets are not ejected and their streaks are forgiven",
       config(),
       {{0s, {o("a", 1, false)}, {}},
        {1s, {o("a", 2, false)}, {}},
        {2s, {o("a", 2, true)}, {}},
        {3s, {o("a", 3, true)}, {out("a", 33s, 1)}}}},
      {"an ejected target that turns unhealthy still returns on time",
       config(),
       {{0s, {o("a", 1)}, {out("a", 30s, 1)}}, {30s, {o("a", 1, false)}, {back("a", 1)}}}},
      {"a target that leaves is forgotten (its multiplier too)",
       config(),
       {{0s, {o("a", 1), o("b", 0)}, {out("a", 30s, 1)}},
        {1s, {o("b", 0)}, {}},
        {2s, {o("a", 1), o("b", 0)}, {out("a", 32s, 1)}}}},
      {"consecutive_5xx 0 turns it off", config(10, true, 0), {{0s, {o("a", 100)}, {}}}},
  };
  for (const auto& row : rows) {
    CAPTURE(std::string(row.name));
    OutlierDetector detector(row.config);
    for (std::size_t i = 0; i < row.steps.size(); ++i) {
      CAPTURE(i);
      const auto changes = detector.update(row.steps[i].at, row.steps[i].targets);
      CHECK(describe(changes) == describe(row.steps[i].expected));
    }
  }
}

TEST_CASE("outlier detection: state queries follow the changes") {
  OutlierDetector detector(config());
  detector.update(0s, {o("a", 1), o("b", 0)});
  CHECK(detector.ejected("a"));
  CHECK_FALSE(detector.ejected("b"));
  CHECK(detector.ejected_until("a") == Time(30s));
  CHECK(detector.ejections("a") == 1);
  CHECK(detector.ejected_count() == 1);
  detector.forget("a");
  CHECK_FALSE(detector.ejected("a"));
  CHECK(detector.ejected_count() == 0);
}

TEST_CASE("ejection_duration: base x ejections, capped at max (or base when larger)") {
  struct OutlierRow {
    Duration base;
    Duration max;
    int ejections;
    Duration expected;
  };
  const std::vector<OutlierRow> rows = {
      {30s, 300s, 1, 30s},        {30s, 300s, 2, 60s},
      {30s, 300s, 10, 300s},      {30s, 300s, 11, 300s},
      {30s, 300s, 1000000, 300s}, {400s, 300s, 1, 400s},
      {400s, 300s, 5, 400s},      {1s, 0s, 3, 1s},
  };
  for (const auto& row : rows) {
    CAPTURE(row.ejections);
    OutlierDetectionConfig c;
    c.base_ejection_time = row.base;
    c.max_ejection_time = row.max;
    CHECK(ejection_duration(c, row.ejections) == row.expected);
  }
}

TEST_CASE("failure_makes_streak: runs of failures make streaks of the threshold") {
  // F: a failure, S: a success (any other response).
  struct OutlierRow {
    const char* outcomes;
    std::uint32_t threshold;
    int streaks;
  };
  const std::vector<OutlierRow> rows = {
      {"FFFFF", 5, 1},         {"FFFFS", 5, 0},      {"FFFFSFFFFS", 5, 0}, {"FFFFFS", 5, 1},
      {"SFFFFFSFFFFFS", 5, 2}, {"FFFFSFFFFF", 5, 1}, {"FFFFFFFFF", 5, 1},  {"FFFFFFFFFF", 5, 2},
      {"FSFSF", 1, 3},         {"FFFFFFFFFF", 0, 0}, {"", 5, 0},
  };
  for (const auto& row : rows) {
    CAPTURE(row.outcomes);
    CAPTURE(row.threshold);
    std::uint32_t toward = 0;
    int streaks = 0;
    for (const char* c = row.outcomes; *c != '\0'; ++c) {
      if (*c == 'S') {
        toward = 0;
      } else if (failure_makes_streak(toward, row.threshold)) {
        ++streaks;
      }
    }
    CHECK(streaks == row.streaks);
  }
}
