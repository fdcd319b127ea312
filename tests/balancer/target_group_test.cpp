#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "balancer/target_group.h"
#include "core/duration.h"
#include "core/live_scheduler.h"
#include "core/virtual_scheduler.h"
#include "test_backend.h"

using namespace flotilla;
using namespace flotilla::testing;
namespace reason = flotilla::target_reason;

using S = TargetState;
using O = CheckOutcome;

TEST_CASE("next_health: the threshold state machine") {
  HealthCheckConfig config;
  config.healthy_threshold = 2;
  config.unhealthy_threshold = 3;
  struct Row {
    const char* name;
    S state;
    std::string_view reason;
    HealthCounters before;
    O outcome;
    S expected_state;
    std::string_view expected_reason;
    HealthCounters after;
  };
  const std::vector<Row> rows = {
      {"initial, first pass",
       S::kInitial,
       reason::kRegistrationInProgress,
       {0, 0},
       O::kPassed,
       S::kInitial,
       reason::kInitialHealthChecking,
       {1, 0}},
      {"initial, threshold passes",
       S::kInitial,
       reason::kInitialHealthChecking,
       {1, 0},
       O::kPassed,
       S::kHealthy,
       reason::kNone,
       {2, 0}},
      {"initial, failure below threshold",
       S::kInitial,
       reason::kInitialHealthChecking,
       {1, 0},
       O::kFailed,
       S::kInitial,
       reason::kInitialHealthChecking,
       {0, 1}},
      {"initial, threshold failures",
       S::kInitial,
       reason::kInitialHealthChecking,
       {0, 2},
       O::kTimeout,
       S::kUnhealthy,
       reason::kTimeout,
       {0, 3}},
      {"healthy, pass",
       S::kHealthy,
       reason::kNone,
       {5, 0},
       O::kPassed,
       S::kHealthy,
       reason::kNone,
       {6, 0}},
      {"healthy, one failure stays healthy",
       S::kHealthy,
       reason::kNone,
       {5, 0},
       O::kResponseCodeMismatch,
       S::kHealthy,
       reason::kNone,
       {0, 1}},
      {"healthy, threshold failures: mismatch",
       S::kHealthy,
       reason::kNone,
       {0, 2},
       O::kResponseCodeMismatch,
       S::kUnhealthy,
       reason::kResponseCodeMismatch,
       {0, 3}},
      {"healthy, threshold failures: refused",
       S::kHealthy,
       reason::kNone,
       {0, 2},
       O::kFailed,
       S::kUnhealthy,
       reason::kFailedHealthChecks,
       {0, 3}},
      {"healthy, a pass resets the failure count",
       S::kHealthy,
       reason::kNone,
       {0, 2},
       O::kPassed,
       S::kHealthy,
       reason::kNone,
       {1, 0}},
      {"unhealthy, failure updates the reason",
       S::kUnhealthy,
       reason::kResponseCodeMismatch,
       {0, 4},
       O::kTimeout,
       S::kUnhealthy,
       reason::kTimeout,
       {0, 5}},
      {"unhealthy, one pass keeps the reason",
       S::kUnhealthy,
       reason::kTimeout,
       {0, 5},
       O::kPassed,
       S::kUnhealthy,
       reason::kTimeout,
       {1, 0}},
      {"unhealthy, threshold passes",
       S::kUnhealthy,
       reason::kTimeout,
       {1, 0},
       O::kPassed,
       S::kHealthy,
       reason::kNone,
       {2, 0}},
      {"draining ignores checks",
       S::kDraining,
       reason::kDeregistrationInProgress,
       {0, 0},
       O::kFailed,
       S::kDraining,
       reason::kDeregistrationInProgress,
       {0, 0}},
      {"unused ignores checks",
       S::kUnused,
       reason::kNotRegistered,
       {0, 0},
       O::kPassed,
       S::kUnused,
       reason::kNotRegistered,
       {0, 0}},
  };
  for (const auto& row : rows) {
    CAPTURE(std::string(row.name));
    const auto step = next_health(row.state, row.reason, row.before, row.outcome, config);
    CHECK(step.state == row.expected_state);
    CHECK(step.reason == row.expected_reason);
    CHECK(step.counters == row.after);
  }
}

TEST_CASE("parse_status_matcher: ALB's HttpCode forms") {
  struct Row {
    const char* text;
    bool valid;
    std::vector<std::pair<int, int>> ranges;
    const char* canonical;
  };
  const std::vector<Row> rows = {
      {"200", true, {{200, 200}}, "200"},
      {"200,202", true, {{200, 200}, {202, 202}}, "200,202"},
      {"200-299", true, {{200, 299}}, "200-299"},
      {"200,300-399,404", true, {{200, 200}, {300, 399}, {404, 404}}, "200,300-399,404"},
      {"499", true, {{499, 499}}, "499"},
      {"200-200", true, {{200, 200}}, "200"},
      {"", false, {}, ""},
      {"ok", false, {}, ""},
      {"199", false, {}, ""},
      {"500", false, {}, ""},
      {"200-500", false, {}, ""},
      {"299-200", false, {}, ""},
      {"200,", false, {}, ""},
      {",200", false, {}, ""},
      {"200-", false, {}, ""},
      {"2OO", false, {}, ""},
      {" 200", false, {}, ""},
      {"200-299-300", false, {}, ""},
  };
  for (const auto& row : rows) {
    CAPTURE(std::string(row.text));
    const auto m = parse_status_matcher(row.text);
    CHECK(m.has_value() == row.valid);
    if (!m || !row.valid) continue;
    CHECK(m->ranges == row.ranges);
    CHECK(m->to_string() == row.canonical);
  }
  const auto m = parse_status_matcher("200,300-399");
  CHECK(m->matches(200));
  CHECK_FALSE(m->matches(201));
  CHECK(m->matches(300));
  CHECK(m->matches(399));
  CHECK_FALSE(m->matches(400));
}

TEST_CASE("classify: 200 passes, other statuses mismatch, timeouts and transport errors fail") {
  CHECK(classify({true, 200, "", "", {}}) == O::kPassed);
  CHECK(classify({true, 503, "", "", {}}) == O::kResponseCodeMismatch);
  CHECK(classify({true, 204, "", "", {}}) == O::kResponseCodeMismatch);
  CHECK(classify({false, 0, "", "timeout", {}}) == O::kTimeout);
  CHECK(classify({false, 0, "", "connection refused", {}}) == O::kFailed);
  const auto two_hundreds = *parse_status_matcher("200-299");
  CHECK(classify({true, 204, "", "", {}}, two_hundreds) == O::kPassed);
  CHECK(classify({true, 301, "", "", {}}, two_hundreds) == O::kResponseCodeMismatch);
  CHECK(classify({false, 0, "", "timeout", {}}, two_hundreds) == O::kTimeout);
}

TEST_CASE("slow_start_weight: linear from 10% to full over the window") {
  struct Row {
    std::uint32_t full;
    Duration elapsed;
    Duration window;
    std::uint32_t expected;
  };
  const std::vector<Row> rows = {
      {100, 0s, 30s, 10},    // starts at kSlowStartInitialPercent
      {100, 15s, 30s, 55},   // half way: 10 + 90 / 2
      {100, 30s, 30s, 100},  // over
      {100, 45s, 30s, 100},  // long over
      {100, 10s, 0s, 100},   // slow start off
      {1000, 3s, 30s, 190},  // 10% + 90% * 0.1
      {1, 0s, 30s, 1},       // never below 1: weight 0 would mean not routable
      {0, 5s, 30s, 0},       // weight 0 stays 0
      {100, -1s, 30s, 10},   // before the start (cannot happen; clamped)
      {300, 29s, 30s, 291},  // just before the end: 300 * (10 + 90 * 29 / 30) / 100
  };
  for (const auto& row : rows) {
    CAPTURE(row.full);
    CAPTURE(format_duration(row.elapsed));
    CHECK(slow_start_weight(row.full, row.elapsed, row.window) == row.expected);
  }
}

namespace {

TargetInfo info(const char* id, S state, std::uint32_t published = 1, bool ejected = false,
                std::uint32_t weight = 1) {
  TargetInfo t;
  t.id = id;
  t.endpoint = {"127.0.0.1", static_cast<std::uint16_t>(id[0])};
  t.state = state;
  t.weight = weight;
  t.published_weight = published;
  t.ejected = ejected;
  return t;
}

std::string ids_of(const std::vector<BalancerTarget>& targets) {
  std::string s;
  for (const auto& t : targets) s += (s.empty() ? "" : ",") + t.id;
  return s;
}

}  // namespace

TEST_CASE("routable_targets: healthy and not ejected, else fail open or nothing") {
  struct Row {
    const char* name;
    std::vector<TargetInfo> targets;
    bool fail_open;
    const char* expected;
  };
  const std::vector<Row> rows = {
      {"empty group", {}, true, ""},
      {"healthy only", {info("a", S::kHealthy), info("b", S::kUnhealthy)}, true, "a"},
      {"initial is not healthy", {info("a", S::kInitial), info("b", S::kHealthy)}, true, "b"},
      {"ejected is left out", {info("a", S::kHealthy, 1, true), info("b", S::kHealthy)}, true, "b"},
      {"draining is left out", {info("a", S::kDraining), info("b", S::kHealthy)}, true, "b"},
      {"none healthy: fail open to all but draining",
       {info("a", S::kUnhealthy), info("b", S::kInitial), info("c", S::kDraining)},
       true,
       "a,b"},
      {"none healthy, no fail open: nothing",
       {info("a", S::kUnhealthy), info("b", S::kInitial)},
       false,
       ""},
      {"all healthy ones ejected: fail open includes them",
       {info("a", S::kHealthy, 1, true), info("b", S::kUnhealthy)},
       true,
       "a,b"},
      {"all healthy ones ejected, no fail open: nothing",
       {info("a", S::kHealthy, 1, true), info("b", S::kUnhealthy)},
       false,
       ""},
      {"only draining: nothing even with fail open", {info("a", S::kDraining)}, true, ""},
      {"fail open does not matter while one is healthy",
       {info("a", S::kUnhealthy), info("b", S::kHealthy)},
       false,
       "b"},
  };
  for (const auto& row : rows) {
    CAPTURE(std::string(row.name));
    CHECK(ids_of(routable_targets(row.targets, row.fail_open, 1)) == row.expected);
  }
  // Healthy targets carry their published (slow start) weight; fail open uses full weights.
  const auto healthy = routable_targets(
      {info("a", S::kHealthy, 37, false, 2), info("b", S::kUnhealthy, 1, false, 3)}, true, 100);
  REQUIRE(healthy.size() == 1);
  CHECK(healthy[0].weight == 37);
  CHECK(healthy[0].share_percent == 18);  // 37 of 200: the ramp for pickers that ignore weight
  const auto open = routable_targets(
      {info("a", S::kInitial, 37, false, 2), info("b", S::kUnhealthy, 1, false, 3)}, true, 100);
  REQUIRE(open.size() == 2);
  CHECK(open[0].weight == 200);
  CHECK(open[1].weight == 300);
  CHECK(open[0].share_percent == 100);
  CHECK(open[1].share_percent == 100);
}

TEST_CASE("count_targets: HealthyHostCount and UnHealthyHostCount by health check state") {
  const std::vector<TargetInfo> targets = {info("a", S::kHealthy), info("b", S::kHealthy, 1, true),
                                           info("c", S::kUnhealthy), info("d", S::kInitial),
                                           info("e", S::kDraining)};
  CHECK(count_targets(targets) == TargetHealthCounts{2, 1, 1, 1, 1});
  CHECK(count_targets({}) == TargetHealthCounts{});
}

namespace {

// Health checks answered by a table of statuses per endpoint port, after 10 ms of virtual time.
struct FakeFleet {
  VirtualScheduler scheduler;
  std::map<std::uint16_t, int> status;  // 0 = timeout
  int probes = 0;

  TargetGroup::Probe probe() {
    return [this](const Endpoint& endpoint, const std::string& path, Duration,
                  std::function<void(HttpGetResult)> done) {
      CHECK(path == "/health");
      ++probes;
      const int s = status[endpoint.port];
      scheduler.schedule_after(10ms, [s, done] {
        HttpGetResult r;
        r.ok = s != 0;
        r.status = s;
        if (s == 0) r.error = "timeout";
        done(r);
      });
    };
  }
};

struct Recorder {
  std::vector<std::string> changes;
  std::vector<std::vector<std::string>> published;
  std::vector<BalancerTarget> last;  // the last set published, with weights

  TargetGroup::Callbacks callbacks() {
    TargetGroup::Callbacks c;
    c.on_state_change = [this](const std::string& id, S from, S to, std::string_view why) {
      changes.push_back(id + " " + std::string(to_string(from)) + "->" +
                        std::string(to_string(to)) + " " + std::string(why));
    };
    c.publish = [this](std::vector<BalancerTarget> targets) {
      std::vector<std::string> ids;
      for (const auto& t : targets) ids.push_back(t.id);
      published.push_back(ids);
      last = std::move(targets);
    };
    return c;
  }
};

}  // namespace

TEST_CASE("target group in virtual time: registration, health, fail-open routing, deregistration") {
  FakeFleet fleet;
  fleet.status = {{1, 200}, {2, 503}};
  TargetGroup group(fleet.scheduler, fleet.probe());
  Recorder rec;
  group.set_callbacks(rec.callbacks());

  group.register_target("a", {"127.0.0.1", 1});
  group.register_target("b", {"127.0.0.1", 2});
  // Nothing healthy yet: fail open to every registered target.
  CHECK(rec.published.back() == std::vector<std::string>{"a", "b"});
  CHECK(group.target("a")->state == S::kInitial);
  CHECK(group.target("a")->reason == reason::kRegistrationInProgress);

  fleet.scheduler.run_for(100ms);  // first checks (at 0, answered at 10 ms)
  CHECK(fleet.probes == 2);
  CHECK(group.target("a")->state == S::kInitial);
  CHECK(group.target("a")->reason == reason::kInitialHealthChecking);

  fleet.scheduler.run_for(1s);  // second checks at 1 s
  CHECK(group.target("a")->state == S::kHealthy);
  CHECK(group.target("b")->state == S::kUnhealthy);
  CHECK(group.target("b")->reason == reason::kResponseCodeMismatch);
  CHECK(group.target("b")->last_status == 503);
  CHECK(group.healthy_host_count() == 1);
  CHECK(group.unhealthy_host_count() == 1);
  CHECK(rec.published.back() == std::vector<std::string>{"a"});

  // "a" starts timing out: unhealthy after two more checks; all unhealthy -> fail open.
  fleet.status[1] = 0;
  fleet.scheduler.run_for(2s);
  CHECK(group.target("a")->state == S::kUnhealthy);
  CHECK(group.target("a")->reason == reason::kTimeout);
  CHECK(rec.published.back() == std::vector<std::string>{"a", "b"});

  // "b" recovers.
  fleet.status[2] = 200;
  fleet.scheduler.run_for(2s);
  CHECK(group.target("b")->state == S::kHealthy);
  CHECK(rec.published.back() == std::vector<std::string>{"b"});

  group.deregister_target("b");
  CHECK(group.target("b")->state == S::kDraining);
  CHECK(group.target("b")->reason == reason::kDeregistrationInProgress);
  CHECK(rec.published.back() == std::vector<std::string>{"a"});  // fail open again
  const int probes = fleet.probes;
  fleet.scheduler.run_for(3s);
  CHECK(fleet.probes == probes + 3);  // only "a" is still checked, once a second
  CHECK(group.target("b")->state == S::kDraining);
  fleet.scheduler.run_for(2s);  // the deregistration delay (5 s) without a data plane to ask
  CHECK_FALSE(group.target("b"));

  CHECK(rec.changes == std::vector<std::string>{
                           "a unused->initial Elb.RegistrationInProgress",
                           "b unused->initial Elb.RegistrationInProgress",
                           "a initial->healthy ",
                           "b initial->unhealthy Target.ResponseCodeMismatch",
                           "a healthy->unhealthy Target.Timeout",
                           "b unhealthy->healthy ",
                           "b healthy->draining Target.DeregistrationInProgress",
                           "b draining->unused Target.NotRegistered",
                       });
  // Publishing only happens on change.
  for (std::size_t i = 1; i < rec.published.size(); ++i) {
    CHECK(rec.published[i] != rec.published[i - 1]);
  }
}

namespace {

// A target group over FakeFleet with a fake data plane (loads) and every callback recorded.
struct Harness {
  FakeFleet fleet;
  std::map<std::string, TargetLoad> loads;
  std::vector<std::string> asked;  // by the load source, in order
  Recorder rec;
  std::vector<std::string> released;
  std::vector<std::string> ejections;
  std::map<std::string, Time> became_healthy;
  std::unique_ptr<TargetGroup> group;

  explicit Harness(TargetGroupConfig config, bool with_load_source = true) {
    group = std::make_unique<TargetGroup>(fleet.scheduler, fleet.probe(), config);
    auto callbacks = rec.callbacks();
    auto record_change = callbacks.on_state_change;
    callbacks.on_state_change = [this, record_change](const std::string& id, S from, S to,
                                                      std::string_view why) {
      if (to == S::kHealthy) became_healthy[id] = fleet.scheduler.now();
      record_change(id, from, to, why);
    };
    callbacks.on_released = [this](const std::string& id) { released.push_back(id); };
    callbacks.on_ejection = [this](const std::string& id, bool ejected, Time until) {
      ejections.push_back(id + (ejected ? " out until " + format_duration(until) : " back"));
    };
    group->set_callbacks(callbacks);
    if (with_load_source) {
      group->set_load_source([this](const std::string& id) {
        asked.push_back(id);
        const auto it = loads.find(id);
        return it == loads.end() ? TargetLoad{} : it->second;
      });
    }
  }

  void add(const char* id, std::uint16_t port, int status = 200) {
    fleet.status[port] = status;
    group->register_target(id, {"127.0.0.1", port});
  }
  Time now() const { return fleet.scheduler.now(); }
  void run_for(Duration d) { fleet.scheduler.run_for(d); }
  void run_until(Time t) { fleet.scheduler.run_until(t); }
};

}  // namespace

TEST_CASE("draining: released when the data plane has nothing in flight, after a poll") {
  Harness h(TargetGroupConfig{});
  h.add("a", 1);
  h.add("b", 2);
  h.run_for(1500ms);
  REQUIRE(h.group->target("b")->state == S::kHealthy);

  h.loads["b"].outstanding = 3;
  const Time t0 = h.now();
  h.group->deregister_target("b");
  CHECK(h.rec.published.back() == std::vector<std::string>{"a"});
  CHECK(h.group->target("b")->state == S::kDraining);
  CHECK(h.group->target("b")->release_by == t0 + 5s);
  CHECK(h.group->counts().draining == 1);
  h.group->deregister_target("b");  // again: ignored
  h.run_for(2s);
  CHECK(h.group->target("b")->state == S::kDraining);  // still 3 in flight
  CHECK(h.released.empty());

  h.loads["b"].outstanding = 0;
  h.run_for(250ms);  // the next poll sees it idle
  CHECK_FALSE(h.group->target("b"));
  CHECK(h.released == std::vector<std::string>{"b"});
  CHECK(h.rec.changes.back() == "b draining->unused Target.NotRegistered");
  h.run_for(10s);
  CHECK(h.released.size() == 1);  // the delay's timer does not release it again
}

TEST_CASE("load source: asked per poll for the targets that poll needs, and only those") {
  Harness h(TargetGroupConfig{});
  h.add("a", 1);
  h.add("b", 2);
  h.run_for(1500ms);
  h.asked.clear();
  h.run_for(250ms);  // outlier detection asks for every target in the group
  CHECK(h.asked == std::vector<std::string>{"a", "b"});

  h.loads["b"].outstanding = 1;
  h.run_for(100ms);  // deregister between two polls
  h.group->deregister_target("b");
  h.asked.clear();
  h.run_for(250ms);  // the poll right after: b's count is not trusted yet
  CHECK(h.asked == std::vector<std::string>{"a"});
  h.asked.clear();
  h.run_for(250ms);
  CHECK(h.asked == std::vector<std::string>{"b", "a"});  // draining first, then the group

  TargetGroupConfig no_outliers;
  no_outliers.outlier_detection.consecutive_5xx = 0;
  Harness quiet(no_outliers);
  quiet.add("a", 1);
  quiet.run_for(5s);
  CHECK(quiet.asked.empty());  // nothing draining, nothing to eject
}

TEST_CASE("draining: an idle target waits one poll, so the IO threads have switched sets") {
  Harness h(TargetGroupConfig{});
  h.add("a", 1);
  h.run_for(1500ms);
  h.run_for(100ms);  // deregister between two polls
  h.group->deregister_target("a");
  h.run_for(240ms);
  CHECK(h.group->target("a"));
  h.run_for(260ms);
  CHECK_FALSE(h.group->target("a"));
  CHECK(h.released == std::vector<std::string>{"a"});
}

TEST_CASE("draining: released after deregistration_delay when requests never finish") {
  TargetGroupConfig config;
  config.deregistration_delay = 3s;
  Harness h(config);
  h.add("a", 1);
  h.loads["a"].outstanding = 1;
  h.run_for(1500ms);
  h.group->deregister_target("a");
  h.run_for(2900ms);
  CHECK(h.group->target("a")->state == S::kDraining);
  h.run_for(100ms);
  CHECK_FALSE(h.group->target("a"));
  CHECK(h.released == std::vector<std::string>{"a"});
}

TEST_CASE("draining: without a load source the delay decides, delay 0 releases at once") {
  TargetGroupConfig config;
  config.deregistration_delay = 2s;
  Harness slow(config, false);
  slow.add("a", 1);
  slow.group->deregister_target("a");
  slow.run_for(1999ms);
  CHECK(slow.group->target("a")->state == S::kDraining);
  slow.run_for(1ms);
  CHECK(slow.released == std::vector<std::string>{"a"});

  config.deregistration_delay = 0s;
  Harness at_once(config);
  at_once.add("a", 1);
  at_once.group->deregister_target("a");
  CHECK_FALSE(at_once.group->target("a"));
  CHECK(at_once.released == std::vector<std::string>{"a"});
}

TEST_CASE("draining: registering the id again starts over without a release") {
  Harness h(TargetGroupConfig{});
  h.add("a", 1);
  h.loads["a"].outstanding = 1;
  h.group->deregister_target("a");
  h.group->register_target("a", {"127.0.0.1", 1});
  CHECK(h.group->target("a")->state == S::kInitial);
  h.run_for(10s);
  CHECK(h.released.empty());
  CHECK(h.group->target("a")->state == S::kHealthy);
}

TEST_CASE("outlier detection in the group: consecutive failures eject, time brings it back") {
  Harness h(TargetGroupConfig{});
  h.add("a", 1);
  h.add("b", 2);
  h.add("c", 3);
  h.run_for(1500ms);
  REQUIRE(h.group->counts().healthy == 3);
  CHECK(h.rec.published.back() == std::vector<std::string>{"a", "b", "c"});

  // The data plane is told the streak length to count.
  for (const auto& t : h.rec.last) CHECK(t.failure_streak == 5);

  h.loads["a"].consecutive_failures = 4;  // a run not (yet) a streak
  h.run_for(250ms);
  CHECK_FALSE(h.group->target("a")->ejected);
  h.loads["a"] = {.consecutive_failures = 0, .failure_streaks = 1};  // a streak, then a success
  h.loads["b"].failure_streaks = 1;  // over the 10% cap: only one at a time
  const Time polled = h.now() + 250ms;
  h.run_for(250ms);
  CHECK(h.group->target("a")->ejected);
  CHECK(h.group->target("a")->ejected_until == polled + 30s);
  CHECK(h.group->target("a")->state == S::kHealthy);  // health checks still pass
  CHECK_FALSE(h.group->target("b")->ejected);
  CHECK(h.rec.published.back() == std::vector<std::string>{"b", "c"});
  CHECK(h.group->counts() == TargetHealthCounts{3, 0, 0, 0, 1});
  CHECK(h.ejections == std::vector<std::string>{"a out until " + format_duration(polled + 30s)});

  // b made no streak since: the one the cap dropped does not eject it when a returns.
  h.run_until(polled + 30s);
  CHECK_FALSE(h.group->target("a")->ejected);
  CHECK(h.group->target("a")->ejections == 1);
  CHECK(h.rec.published.back() == std::vector<std::string>{"a", "b", "c"});
  CHECK(h.ejections.back() == "a back");
}

TEST_CASE("outlier detection in the group: the only target ejected -> fail open routes to it") {
  Harness h(TargetGroupConfig{});
  h.add("a", 1);
  h.run_for(1500ms);
  h.loads["a"].failure_streaks = 1;
  h.run_for(250ms);
  CHECK(h.group->target("a")->ejected);
  CHECK(h.rec.published.back() == std::vector<std::string>{"a"});

  TargetGroupConfig closed;
  closed.fail_open = false;
  Harness c(closed);
  c.add("a", 1);
  c.run_for(1500ms);
  c.loads["a"].failure_streaks = 1;
  c.run_for(250ms);
  CHECK(c.group->target("a")->ejected);
  CHECK(c.rec.published.back().empty());
}

TEST_CASE("fail_open false: no healthy target publishes an empty set") {
  TargetGroupConfig config;
  config.fail_open = false;
  Harness h(config);
  h.add("a", 1, 503);
  CHECK(h.rec.published.back().empty());  // initial targets are not healthy
  h.run_for(1500ms);
  CHECK(h.group->target("a")->state == S::kUnhealthy);
  CHECK(h.rec.published.back().empty());
  h.fleet.status[1] = 200;
  h.run_for(2s);
  CHECK(h.rec.published.back() == std::vector<std::string>{"a"});
}

TEST_CASE("health check matcher: a 204 passes with 200-299") {
  TargetGroupConfig config;
  config.health_check.matcher = *parse_status_matcher("200-299");
  Harness h(config);
  h.add("a", 1, 204);
  h.add("b", 2, 302);
  h.run_for(1500ms);
  CHECK(h.group->target("a")->state == S::kHealthy);
  CHECK(h.group->target("b")->state == S::kUnhealthy);
  CHECK(h.group->target("b")->reason == reason::kResponseCodeMismatch);
}

TEST_CASE("slow start: a new healthy target's weight ramps linearly beside a healthy one") {
  TargetGroupConfig config;
  config.slow_start = 10s;
  Harness h(config);
  h.add("a", 1);
  h.run_for(1500ms);
  // The first healthy target has no one beside it: full weight at once.
  REQUIRE(h.group->target("a")->state == S::kHealthy);
  CHECK_FALSE(h.group->target("a")->slow_start_until);
  CHECK(h.group->target("a")->published_weight == kSlowStartWeightScale);

  h.add("b", 2);
  h.run_for(1500ms);
  REQUIRE(h.group->target("b")->state == S::kHealthy);
  const Time healthy = h.became_healthy.at("b");
  CHECK(h.group->target("b")->slow_start_until == healthy + 10s);
  CHECK(h.group->target("b")->published_weight < 25);  // 10% at first, one step or two since

  struct Row {
    Duration at;
    std::uint32_t weight;
  };
  // Republished every 500 ms from when it became healthy: 10 + 90 x elapsed / 10 s.
  const std::vector<Row> rows = {{1s, 19}, {2500ms, 32}, {5s, 55}, {9500ms, 95}, {10s, 100}};
  for (const auto& row : rows) {
    CAPTURE(format_duration(row.at));
    h.run_until(healthy + row.at);
    CHECK(h.group->target("b")->published_weight == row.weight);
    CHECK(h.group->target("a")->published_weight == 100);
    REQUIRE(h.rec.last.size() == 2);
    CHECK(h.rec.last[0].weight == 100);
    CHECK(h.rec.last[1].weight == row.weight);  // the balancer saw it
    CHECK(h.rec.last[0].share_percent == 100);
    CHECK(h.rec.last[1].share_percent == row.weight);  // weight 1 x 100: the percent itself
  }
  const std::size_t publishes = h.rec.published.size();
  h.run_for(5s);
  CHECK(h.rec.published.size() == publishes);  // the ramp is over: nothing more to say
  CHECK_FALSE(h.group->target("b")->slow_start_until);

  // Unhealthy ends slow start; healthy again beside "a" starts a new one.
  h.fleet.status[2] = 503;
  h.run_for(2s);
  REQUIRE(h.group->target("b")->state == S::kUnhealthy);
  h.fleet.status[2] = 200;
  h.run_for(2s);
  REQUIRE(h.group->target("b")->state == S::kHealthy);
  CHECK(h.group->target("b")->slow_start_until == h.became_healthy.at("b") + 10s);
}

TEST_CASE("slow start off: weights are the registered ones") {
  Harness h(TargetGroupConfig{});
  h.fleet.status[1] = 200;
  h.group->register_target("a", {"127.0.0.1", 1}, 3);
  h.run_for(1500ms);
  CHECK(h.group->target("a")->weight == 3);
  CHECK(h.group->target("a")->published_weight == 3);
  CHECK(h.rec.last.at(0).weight == 3);
  h.group->register_target("a", {"127.0.0.1", 1}, 5);  // same endpoint: new weight
  CHECK(h.group->target("a")->published_weight == 5);
  CHECK(h.rec.last.at(0).weight == 5);
  CHECK(h.group->target("a")->state == S::kHealthy);
}

TEST_CASE("target group: a late check result for a re-registered target is ignored") {
  FakeFleet fleet;
  fleet.status = {{1, 200}, {2, 503}};
  TargetGroup group(fleet.scheduler, fleet.probe());
  group.register_target("a", {"127.0.0.1", 2});  // check in flight, will answer 503
  group.register_target("a", {"127.0.0.1", 1});  // replaced before the answer
  fleet.scheduler.run_for(1500ms);
  CHECK(group.target("a")->endpoint.port == 1);
  CHECK(group.target("a")->state == S::kHealthy);
  CHECK(group.target("a")->counters.consecutive_failures == 0);
}

TEST_CASE("target group live: a backend whose /health fails becomes unhealthy, then healthy") {
  boost::asio::io_context io;
  LiveScheduler scheduler(io);
  TestBackend backend("w1");
  HealthCheckConfig config;
  config.interval = 20ms;
  config.timeout = 500ms;
  TargetGroup group(scheduler, io, config);
  Recorder rec;
  group.set_callbacks(rec.callbacks());

  auto run_until = [&](S state) {
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (group.target("w1")->state != state && std::chrono::steady_clock::now() < deadline) {
      io.run_for(10ms);
    }
    return group.target("w1")->state == state;
  };

  group.register_target("w1", backend.endpoint());
  CHECK(run_until(S::kHealthy));
  backend.set_health_status(503);
  CHECK(run_until(S::kUnhealthy));
  CHECK(group.target("w1")->reason == reason::kResponseCodeMismatch);
  backend.set_health_status(200);
  CHECK(run_until(S::kHealthy));
  backend.stop();
  CHECK(run_until(S::kUnhealthy));
  CHECK(group.target("w1")->reason == reason::kFailedHealthChecks);
  CHECK(group.target("w1")->last_error == "connection refused");
  CHECK(rec.changes.size() == 5);
}
