#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>
#include <map>
#include <string>
#include <vector>

#include "balancer/target_group.h"
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

TEST_CASE("classify: 200 passes, other statuses mismatch, timeouts and transport errors fail") {
  CHECK(classify({true, 200, "", "", {}}) == O::kPassed);
  CHECK(classify({true, 503, "", "", {}}) == O::kResponseCodeMismatch);
  CHECK(classify({true, 204, "", "", {}}) == O::kResponseCodeMismatch);
  CHECK(classify({false, 0, "", "timeout", {}}) == O::kTimeout);
  CHECK(classify({false, 0, "", "connection refused", {}}) == O::kFailed);
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

  TargetGroup::Callbacks callbacks() {
    return {[this](const std::string& id, S from, S to, std::string_view why) {
              changes.push_back(id + " " + std::string(to_string(from)) + "->" +
                                std::string(to_string(to)) + " " + std::string(why));
            },
            [this](std::vector<BalancerTarget> targets) {
              std::vector<std::string> ids;
              for (const auto& t : targets) ids.push_back(t.id);
              published.push_back(ids);
            }};
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
  CHECK_FALSE(group.target("b"));
  CHECK(rec.published.back() == std::vector<std::string>{"a"});  // fail open again
  const int probes = fleet.probes;
  fleet.scheduler.run_for(3s);
  CHECK(fleet.probes == probes + 3);  // only "a" is still checked, once a second

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
