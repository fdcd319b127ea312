#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <vector>

#include "policy_test_support.h"
#include "scaling/scheduled.h"

using namespace flotilla;
using namespace flotilla::testing;

namespace {

std::int64_t at(const char* utc) { return *parse_utc_timestamp(utc); }

}  // namespace

TEST_CASE("parse_cron: accepted and rejected expressions") {
  struct Row {
    const char* text;
    bool ok;
    const char* error;  // substring when rejected
  };
  const Row rows[] = {
      {"* * * * *", true, ""},
      {"0 9 * * 1-5", true, ""},
      {"*/15 * * * *", true, ""},
      {"0,30 8-18/2 1,15 JAN-MAR MON-FRI", true, ""},
      {"0 0 * * 7", true, ""},
      {"5/20 * * * *", true, ""},
      {"0 9 * *", false, "5 fields"},
      {"0 9 * * * *", false, "5 fields"},
      {"60 * * * *", false, "field 1 (minute): \"60\" is out of 0-59"},
      {"0 24 * * *", false, "field 2 (hour)"},
      {"0 0 0 * *", false, "field 3 (day of month)"},
      {"0 0 * 13 *", false, "field 4 (month)"},
      {"0 0 * * 8", false, "field 5 (day of week)"},
      {"*/0 * * * *", false, "a step of 1 or more"},
      {"5-1 * * * *", false, "out of 0-59"},
      {"a * * * *", false, "not a number, range or name"},
      {"1,,2 * * * *", false, "not a number"},
  };
  for (const Row& r : rows) {
    CAPTURE(std::string(r.text));
    std::string error;
    const auto spec = parse_cron(r.text, &error);
    CHECK(spec.has_value() == r.ok);
    CAPTURE(error);
    if (!r.ok) CHECK(error.find(r.error) != std::string::npos);
  }
}

TEST_CASE("cron_next: the next matching minute (UTC)") {
  struct Row {
    const char* cron;
    const char* after;
    std::optional<const char*> want;
  };
  const Row rows[] = {
      {"* * * * *", "2024-01-01T00:00:00Z", "2024-01-01T00:01:00Z"},
      {"* * * * *", "2024-01-01T00:00:30Z", "2024-01-01T00:01:00Z"},
      {"0 9 * * *", "2024-01-01T08:59:00Z", "2024-01-01T09:00:00Z"},
      {"0 9 * * *", "2024-01-01T09:00:00Z", "2024-01-02T09:00:00Z"},
      {"*/15 * * * *", "2024-01-01T10:07:00Z", "2024-01-01T10:15:00Z"},
      {"0 9 * * 1-5", "2024-01-05T10:00:00Z", "2024-01-08T09:00:00Z"},  // Friday -> Monday
      {"0 0 * * SUN", "2024-01-01T00:00:00Z", "2024-01-07T00:00:00Z"},
      {"0 0 * * 7", "2024-01-01T00:00:00Z", "2024-01-07T00:00:00Z"},
      {"0 0 29 2 *", "2024-03-01T00:00:00Z", "2028-02-29T00:00:00Z"},
      // Both day fields restricted: either matches (the 13th or any Friday).
      {"0 0 13 * 5", "2024-01-01T00:00:00Z", "2024-01-05T00:00:00Z"},
      {"0 0 13 * 5", "2024-01-12T00:00:00Z", "2024-01-13T00:00:00Z"},
      {"30 23 31 12 *", "2024-12-31T23:30:00Z", "2025-12-31T23:30:00Z"},
      {"0 12 31 4 *", "2024-01-01T00:00:00Z", std::nullopt},  // April has 30 days
  };
  for (const Row& r : rows) {
    CAPTURE(std::string(r.cron));
    CAPTURE(std::string(r.after));
    const auto spec = parse_cron(r.cron);
    REQUIRE(spec);
    const auto next = cron_next(*spec, at(r.after), at(r.after) + 5LL * 366 * 86400);
    if (r.want) {
      REQUIRE(next);
      CHECK(format_utc_timestamp(*next) == *r.want);
      CHECK(cron_matches(*spec, *next));
    } else {
      CHECK_FALSE(next);
    }
  }
}

TEST_CASE("UTC timestamps") {
  CHECK(at("1970-01-01T00:00:00Z") == 0);
  CHECK(at("2024-01-01T00:00:00Z") == kDefaultScheduleStart);
  CHECK(format_utc_timestamp(at("2024-02-29T13:45:07Z")) == "2024-02-29T13:45:07Z");
  CHECK_FALSE(parse_utc_timestamp("2024-02-30T00:00:00Z"));
  CHECK_FALSE(parse_utc_timestamp("2024-01-01 00:00:00"));
  CHECK_FALSE(parse_utc_timestamp("2024-01-01T00:00:00+01:00"));
}

TEST_CASE("Scheduled actions: which are due, and the decision") {
  using std::chrono::seconds;
  ScheduledConfig c;
  c.name = "s";
  c.start = at("2024-01-01T08:58:00Z");
  c.minute = seconds(1);  // one simulated minute per second
  auto action = [](const char* name, std::optional<Duration> when, const char* cron,
                   std::optional<int> min, std::optional<int> max, std::optional<int> desired) {
    ScheduledAction a;
    a.name = name;
    a.at = when;
    if (cron[0] != 0) {
      a.cron_text = cron;
      a.cron = parse_cron(cron);
    }
    a.min = min;
    a.max = max;
    a.desired = desired;
    return a;
  };
  c.actions = {action("open", std::nullopt, "0 9 * * *", 3, std::nullopt, 4),
               action("peak", seconds(30), "", std::nullopt, std::nullopt, 20),
               action("start", seconds(0), "", std::nullopt, 8, std::nullopt)};
  struct Row {
    const char* name;
    std::optional<Duration> from;
    Duration to;
    std::vector<std::size_t> due;
  };
  const Row rows[] = {
      {"first evaluation includes time 0", std::nullopt, seconds(1), {2}},
      {"nothing due", seconds(1), seconds(1) + std::chrono::milliseconds(500), {}},
      {"cron at 09:00 = scenario 2 s", seconds(1), seconds(2), {0}},
      {"the window is half-open", seconds(2), seconds(3), {}},
      {"next day's 09:00 (and the at action on the way)", seconds(3), seconds(1442), {0, 1}},
      {"at 30 s", seconds(29), seconds(31), {1}},
      {"a long window fires each once", std::nullopt, seconds(200), {0, 1, 2}},
  };
  for (const Row& r : rows) {
    CAPTURE(std::string(r.name));
    CHECK(due_actions(c, r.from, r.to) == r.due);
  }

  const GroupState g = make_group(2, 1, 10, 2);
  Decision d = decide_scheduled(c, {0}, g, seconds(2));
  CHECK(d.overrides);
  CHECK(d.min == 3);
  CHECK(d.desired == 4);
  CHECK(d.rule == "cron 0 9 * * *");
  CHECK(d.reason ==
        "scheduled action open (cron 0 9 * * *, 2024-01-01T09:00:00Z): min 1 -> 3 "
        "desired 2 -> 4");
  d = decide_scheduled(c, {1}, g, seconds(30));
  CHECK(d.desired == 10);
  CHECK(d.unclamped == 20);
  CHECK(d.clamped_by == std::vector<std::string>{"max"});
  d = decide_scheduled(c, {1, 2}, g, seconds(30));  // the new max applies first
  CHECK(d.max == 8);
  CHECK(d.desired == 8);
  d = decide_scheduled(c, {}, g, seconds(30));
  CHECK_FALSE(d.wanted_change(2));
}

TEST_CASE("ScheduledPolicy: counts from its origin and fires each action once") {
  using std::chrono::seconds;
  ScheduledConfig c;
  ScheduledAction a;
  a.name = "spike";
  a.at = seconds(30);
  a.desired = 6;
  c.actions = {a};
  ScheduledPolicy p(c);
  p.set_origin(seconds(100));
  const GroupState g = make_group(2, 1, 10, 2);
  CHECK_FALSE(p.decide({}, g, seconds(120)).desired);
  CHECK(p.decide({}, g, seconds(130)).desired == 6);
  CHECK_FALSE(p.decide({}, g, seconds(140)).desired);
}
