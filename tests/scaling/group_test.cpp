#include <doctest/doctest.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/virtual_scheduler.h"
#include "fake_provider.h"
#include "scaling/group.h"

using namespace flotilla;
using flotilla::testing::FakeProvider;

namespace {

GroupConfig config(int min, int max, int desired) {
  GroupConfig c;
  c.name = "asg";
  c.min = min;
  c.max = max;
  c.desired = desired;
  c.launch.executable = "flotilla-worker";
  c.health_check_grace = 30s;
  c.stop_grace = 5s;
  c.drain_delay = 1s;
  return c;
}

// What the group's callbacks reported, in order: "listening i-..", "leaving i-..", ...
struct Events {
  std::vector<std::string> log;
  Group::Callbacks callbacks() {
    return {[this](const WorkerId& id, const Endpoint& ep) {
              log.push_back("listening " + id + " " + ep.to_string());
            },
            [this](const WorkerId& id) { log.push_back("leaving " + id); },
            [this](const WorkerId& id) { log.push_back("terminated " + id); }};
  }
};

void bring_up(FakeProvider& p, Group& g, const WorkerId& id, std::uint16_t port) {
  p.listen(id, port);
  g.mark_healthy(id);
}

}  // namespace

TEST_CASE("Group: launches to desired and workers become in service when healthy") {
  VirtualScheduler sched;
  FakeProvider provider;
  Group group(sched, provider, config(1, 5, 2));
  CHECK(provider.has_callbacks());
  Events ev;
  group.set_callbacks(ev.callbacks());
  group.start();
  REQUIRE(provider.launched.size() == 2);
  CHECK(provider.specs[0].executable == "flotilla-worker");
  auto s = group.state();
  CHECK(s.pending == 2);
  CHECK(s.in_service == 0);
  CHECK(s.desired == 2);

  const WorkerId a = provider.launched[0];
  provider.listen(a, 9001);
  CHECK(ev.log == std::vector<std::string>{"listening " + a + " 127.0.0.1:9001"});
  CHECK(group.worker_state(a) == LifecycleState::pending);
  sched.run_until(3s);
  group.mark_healthy(a);
  s = group.state();
  CHECK(s.in_service == 1);
  CHECK(s.pending == 1);
  CHECK(s.workers[0].in_service_since == Time(3s));
  REQUIRE(s.workers[0].endpoint.has_value());
  CHECK(s.workers[0].endpoint->port == 9001);

  REQUIRE(group.activities().size() == 1);
  CHECK(group.activities()[0].from == 0);
  CHECK(group.activities()[0].to == 2);
  CHECK(s.last_desired_change == Time::zero());
}

TEST_CASE("Group: an unexpected exit is replaced and recorded") {
  VirtualScheduler sched;
  FakeProvider provider;
  Group group(sched, provider, config(1, 5, 2));
  Events ev;
  group.set_callbacks(ev.callbacks());
  group.start();
  const WorkerId a = provider.launched[0];
  bring_up(provider, group, a, 9001);
  sched.run_until(10s);
  provider.exit(a, WorkerExit{-1, 9});
  CHECK(ev.log == std::vector<std::string>{"listening " + a + " 127.0.0.1:9001", "leaving " + a,
                                           "terminated " + a});
  REQUIRE(provider.launched.size() == 3);
  CHECK_FALSE(group.worker_state(a).has_value());
  const auto& act = group.activities().back();
  CHECK(act.t == Time(10s));
  CHECK(act.from == 2);
  CHECK(act.to == 2);
  CHECK(act.cause.find("worker " + a + " exited unexpectedly (signal 9 (SIGKILL))") !=
        std::string::npos);
  CHECK(group.state().pending == 2);
  CHECK(group.state().last_desired_change == Time::zero());  // replacements keep capacity
}

TEST_CASE("Group: a pending worker that never becomes healthy is replaced after the grace") {
  VirtualScheduler sched;
  FakeProvider provider;
  Group group(sched, provider, config(1, 5, 1));
  Events ev;
  group.set_callbacks(ev.callbacks());
  group.start();
  const WorkerId a = provider.launched[0];
  provider.listen(a, 9001);
  sched.run_until(29s);
  CHECK(provider.stops.empty());
  sched.run_until(30s);
  REQUIRE(provider.stops.size() == 1);
  CHECK(provider.stops[0] == std::make_pair(a, Duration(5s)));
  CHECK(group.worker_state(a) == LifecycleState::terminating);
  REQUIRE(provider.launched.size() == 2);
  CHECK(group.activities().back().cause.find("not healthy within health_check_grace 30s") !=
        std::string::npos);
  CHECK(ev.log.back() == "leaving " + a);
  provider.exit(a, WorkerExit{-1, 15});
  CHECK(ev.log.back() == "terminated " + a);
  CHECK(provider.launched.size() == 2);  // an expected exit is not replaced again

  // The replacement gets its own grace; healthy in time, it stays.
  const WorkerId b = provider.launched[1];
  sched.run_until(50s);
  bring_up(provider, group, b, 9002);
  sched.run_until(200s);
  CHECK(group.worker_state(b) == LifecycleState::in_service);
  CHECK(provider.stops.size() == 1);
}

TEST_CASE("Group: set_desired clamps to min and max and records causes") {
  VirtualScheduler sched;
  FakeProvider provider;
  Group group(sched, provider, config(1, 4, 2));
  group.start();
  sched.run_until(5s);
  CHECK(group.set_desired(3, "policy says 3") == 3);
  CHECK(provider.launched.size() == 3);
  CHECK(group.set_desired(10, "policy says 10") == 4);
  CHECK(provider.launched.size() == 4);
  CHECK(group.set_desired(4, "no change") == 4);  // not recorded
  CHECK(group.set_desired(0, "idle") == 1);
  const auto& a = group.activities();
  REQUIRE(a.size() == 4);
  CHECK(a[1].from == 2);
  CHECK(a[1].to == 3);
  CHECK(a[1].cause == "policy says 3");
  CHECK(a[1].t == Time(5s));
  CHECK(a[2].to == 4);
  CHECK(a[2].cause == "policy says 10 (10 clamped to max 4)");
  CHECK(a[3].from == 4);
  CHECK(a[3].to == 1);
  CHECK(a[3].cause == "idle (0 clamped to min 1)");
  CHECK(group.state().last_desired_change == Time(5s));

  group.set_limits(2, 3, "limits changed");
  CHECK(group.desired() == 2);
  CHECK(group.activities().back().cause == "limits changed (1 clamped to min 2)");
}

TEST_CASE("Group: scale-in drains then stops then forgets the worker") {
  VirtualScheduler sched;
  FakeProvider provider(sched, 2s);  // a stopped worker exits 2 s later
  Group group(sched, provider, config(1, 5, 3));
  Events ev;
  group.set_callbacks(ev.callbacks());
  group.start();
  const auto ids = provider.launched;
  sched.run_until(1s);
  bring_up(provider, group, ids[0], 9001);
  sched.run_until(2s);
  bring_up(provider, group, ids[1], 9002);
  provider.listen(ids[2], 9003);  // still pending
  ev.log.clear();
  sched.run_until(10s);

  // Two fewer: the pending one goes first, then the in-service worker launched longest ago.
  group.set_desired(1, "scale in");
  CHECK(group.worker_state(ids[2]) == LifecycleState::terminating);
  CHECK(group.worker_state(ids[0]) == LifecycleState::draining);
  CHECK(group.worker_state(ids[1]) == LifecycleState::in_service);
  CHECK(ev.log == std::vector<std::string>{"leaving " + ids[2], "leaving " + ids[0]});
  REQUIRE(provider.stops.size() == 1);
  CHECK(provider.stops[0].first == ids[2]);
  auto s = group.state();
  CHECK(s.in_service == 1);
  CHECK(s.draining == 1);
  CHECK(s.terminating == 1);

  sched.run_until(11s);  // drain_delay 1 s
  CHECK(group.worker_state(ids[0]) == LifecycleState::terminating);
  REQUIRE(provider.stops.size() == 2);
  CHECK(provider.stops[1] == std::make_pair(ids[0], Duration(5s)));

  sched.run_until(13s);  // both exited
  CHECK_FALSE(group.worker_state(ids[0]).has_value());
  CHECK_FALSE(group.worker_state(ids[2]).has_value());
  CHECK(ev.log == std::vector<std::string>{"leaving " + ids[2], "leaving " + ids[0],
                                           "terminated " + ids[2], "terminated " + ids[0]});
  s = group.state();
  CHECK(s.workers.size() == 1);
  CHECK(s.in_service == 1);
  CHECK(provider.launched.size() == 3);  // nothing replaced
}

TEST_CASE("Group: a worker that exits while draining is not replaced") {
  VirtualScheduler sched;
  FakeProvider provider;
  GroupConfig c = config(1, 5, 2);
  c.drain_delay = 10s;
  Group group(sched, provider, c);
  group.start();
  const auto ids = provider.launched;
  bring_up(provider, group, ids[0], 9001);
  bring_up(provider, group, ids[1], 9002);
  group.set_desired(1, "scale in");
  CHECK(group.worker_state(ids[0]) == LifecycleState::draining);
  provider.exit(ids[0], WorkerExit{1, 0});
  CHECK(provider.launched.size() == 2);
  CHECK(group.activities().back().cause == "scale in");
  sched.run_until(20s);  // the drain timer was cancelled: no stop for a gone worker
  CHECK(provider.stops.empty());
}

TEST_CASE("Group: replace_unhealthy takes an in-service worker out and launches another") {
  VirtualScheduler sched;
  FakeProvider provider;
  Group group(sched, provider, config(1, 5, 1));
  Events ev;
  group.set_callbacks(ev.callbacks());
  group.start();
  const WorkerId a = provider.launched[0];
  bring_up(provider, group, a, 9001);
  group.replace_unhealthy(a, "target health check failed 3 times");
  CHECK(group.worker_state(a) == LifecycleState::draining);
  CHECK(provider.launched.size() == 2);
  CHECK(ev.log.back() == "leaving " + a);
  CHECK(group.activities().back().cause.find("unhealthy (target health check failed 3 times)") !=
        std::string::npos);
  group.replace_unhealthy(a, "again");  // already leaving: ignored
  CHECK(provider.launched.size() == 2);
}

TEST_CASE("Group: events for unknown workers and late listening are ignored") {
  VirtualScheduler sched;
  FakeProvider provider;
  Events ev;
  Group group(sched, provider, config(0, 5, 1));
  group.set_callbacks(ev.callbacks());
  group.start();
  const WorkerId a = provider.launched[0];
  provider.exit("i-unknown");
  group.mark_healthy("i-unknown");
  CHECK(provider.launched.size() == 1);
  group.set_desired(0, "idle");  // pending worker: straight to terminating
  CHECK(group.worker_state(a) == LifecycleState::terminating);
  provider.listen(a, 9001);  // too late: not offered as a target
  CHECK(ev.log.empty());
  provider.exit(a);
  CHECK(ev.log == std::vector<std::string>{"terminated " + a});
}

TEST_CASE("Group: the destructor detaches from the provider and cancels timers") {
  VirtualScheduler sched;
  FakeProvider provider;
  {
    Group group(sched, provider, config(1, 1, 1));
    group.start();
    CHECK(sched.pending() == 1);  // the health-check grace timer
  }
  CHECK_FALSE(provider.has_callbacks());
  CHECK(sched.pending() == 0);
}

namespace {

// Brings every pending worker of the group in service (listening on 9000 + its launch number).
void bring_up_pending(FakeProvider& p, Group& g) {
  for (std::size_t i = 0; i < p.launched.size(); ++i) {
    if (g.worker_state(p.launched[i]) == LifecycleState::pending)
      bring_up(p, g, p.launched[i], static_cast<std::uint16_t>(9001 + i));
  }
}

// A started group whose first `desired` workers are in service: `ids`, in launch order. With
// `exit_after_stop`, a stopped worker exits that much later (virtual time).
struct InServiceGroup {
  VirtualScheduler sched;
  FakeProvider provider;
  Group group;
  std::vector<WorkerId> ids;
  explicit InServiceGroup(const GroupConfig& c, std::optional<Duration> exit_after_stop = {})
      : provider(exit_after_stop ? FakeProvider(sched, *exit_after_stop) : FakeProvider()),
        group(sched, provider, c) {
    group.start();
    bring_up_pending(provider, group);
    ids = provider.launched;
  }
};

int count_in(const Group& g, LifecycleState state) {
  int n = 0;
  for (const auto& w : g.state().workers) n += w.state == state ? 1 : 0;
  return n;
}

int count_waiting_unhealthy(const Group& g) {
  int n = 0;
  for (const auto& w : g.state().workers) n += w.unhealthy ? 1 : 0;
  return n;
}

}  // namespace

TEST_CASE("Group: health check type decides what puts a worker in service and what replaces it") {
  struct Row {
    HealthCheckType type;
    LifecycleState after_listening;
    std::size_t launched_after_unhealthy;  // replace_unhealthy on an in-service worker
    std::size_t launched_after_exit;       // then the worker exits
  };
  const Row rows[] = {
      // ELB: replaced for its target's health; its exit while draining is expected.
      {HealthCheckType::kElb, LifecycleState::pending, 2, 2},
      // EC2: target health ignored; the process's exit is what replaces it.
      {HealthCheckType::kEc2, LifecycleState::in_service, 1, 2},
  };
  for (const Row& row : rows) {
    CAPTURE(static_cast<int>(row.type));
    VirtualScheduler sched;
    FakeProvider provider;
    GroupConfig c = config(1, 5, 1);
    c.health_check_type = row.type;
    Group group(sched, provider, c);
    Events ev;
    group.set_callbacks(ev.callbacks());
    group.start();
    const WorkerId a = provider.launched[0];
    sched.run_until(2s);
    provider.listen(a, 9001);
    CHECK(group.worker_state(a) == row.after_listening);
    CHECK(ev.log.size() == 1);  // announced as a target in both modes
    group.mark_healthy(a);
    CHECK(group.worker_state(a) == LifecycleState::in_service);
    CHECK(group.state().workers[0].in_service_since == Time(2s));
    group.replace_unhealthy(a, "target health Target.Timeout");
    CHECK(provider.launched.size() == row.launched_after_unhealthy);
    provider.exit(a, WorkerExit{-1, 9});
    CHECK(provider.launched.size() == row.launched_after_exit);
  }
}

TEST_CASE("Group: with EC2 health a worker that never listens is replaced after the grace") {
  VirtualScheduler sched;
  FakeProvider provider;
  GroupConfig c = config(1, 5, 1);
  c.health_check_type = HealthCheckType::kEc2;
  Group group(sched, provider, c);
  group.start();
  sched.run_until(29s);
  CHECK(provider.launched.size() == 1);
  sched.run_until(30s);
  CHECK(provider.launched.size() == 2);
  CHECK(group.activities().back().cause.find("not healthy within health_check_grace 30s") !=
        std::string::npos);
}

TEST_CASE("Group: replace_unhealthy ignores a pending worker (the grace decides about it)") {
  VirtualScheduler sched;
  FakeProvider provider;
  Group group(sched, provider, config(1, 5, 1));
  group.start();
  const WorkerId a = provider.launched[0];
  provider.listen(a, 9001);
  group.replace_unhealthy(a, "target health Target.FailedHealthChecks");
  CHECK(group.worker_state(a) == LifecycleState::pending);
  CHECK(provider.launched.size() == 1);
  CHECK(group.activities().size() == 1);
}

TEST_CASE("Group: unhealthy replacements in progress are bounded by max(1, 10% of desired)") {
  struct Row {
    int desired;
    int budget;
  };
  const Row rows[] = {{1, 1}, {5, 1}, {10, 1}, {19, 1}, {20, 2}, {35, 3}};
  for (const Row& row : rows) {
    CAPTURE(row.desired);
    InServiceGroup f(config(0, 50, row.desired));
    auto& [sched, provider, group, ids] = f;
    for (const auto& id : ids) group.replace_unhealthy(id, "target health Target.Timeout");
    CHECK(count_in(group, LifecycleState::draining) == row.budget);
    CHECK(count_in(group, LifecycleState::pending) == row.budget);
    CHECK(count_waiting_unhealthy(group) == row.desired - row.budget);
    CHECK(provider.launched.size() == ids.size() + static_cast<std::size_t>(row.budget));
  }
}

TEST_CASE("Group: a waiting unhealthy worker is replaced once a replacement is in service") {
  InServiceGroup f(config(1, 10, 3), 1s);
  auto& [sched, provider, group, ids] = f;
  sched.run_until(10s);
  group.replace_unhealthy(ids[1], "first");
  group.replace_unhealthy(ids[0], "second");
  group.replace_unhealthy(ids[2], "third");
  CHECK(group.worker_state(ids[1]) == LifecycleState::draining);  // first report goes first
  CHECK(group.worker_state(ids[0]) == LifecycleState::in_service);
  CHECK(group.worker_state(ids[2]) == LifecycleState::in_service);
  REQUIRE(provider.launched.size() == 4);
  CHECK(group.activities().back().cause == "worker " + ids[1] + " unhealthy (first): replacing it");

  // The replacement fails to boot: the slot passes to the next launch, nobody else is taken out.
  provider.exit(provider.launched[3], WorkerExit{3, 0});
  CHECK(group.worker_state(ids[0]) == LifecycleState::in_service);
  sched.run_until(11s);  // launch backoff 1 s
  REQUIRE(provider.launched.size() == 5);
  CHECK(group.worker_state(ids[0]) == LifecycleState::in_service);

  // ids[2] recovers while waiting: its replacement is cancelled.
  group.mark_healthy(ids[2]);
  CHECK(count_waiting_unhealthy(group) == 1);

  // The replacement goes in service: the next waiting one (ids[0]) is taken out.
  bring_up(provider, group, provider.launched[4], 9005);
  CHECK(group.worker_state(ids[0]) == LifecycleState::draining);
  CHECK(group.worker_state(ids[2]) == LifecycleState::in_service);
  REQUIRE(provider.launched.size() == 6);
  CHECK(group.activities().back().cause ==
        "worker " + ids[0] + " unhealthy (second): replacing it");
  bring_up(provider, group, provider.launched[5], 9006);
  sched.run_until(60s);
  CHECK(group.state().in_service == 3);
  CHECK(count_waiting_unhealthy(group) == 0);
  CHECK(provider.launched.size() == 6);
}

TEST_CASE("Group: scale-in takes a worker waiting for an unhealthy replacement first") {
  InServiceGroup f(config(1, 10, 4));
  auto& [sched, provider, group, ids] = f;
  group.replace_unhealthy(ids[2], "first");   // replaced: ids[4] pending
  group.replace_unhealthy(ids[3], "second");  // waits
  REQUIRE(provider.launched.size() == 5);
  group.set_desired(2, "scale in");
  // Pending first (the replacement), then the waiting unhealthy one, not the oldest (ids[0]).
  CHECK(group.worker_state(provider.launched[4]) == LifecycleState::terminating);
  CHECK(group.worker_state(ids[3]) == LifecycleState::draining);
  CHECK(group.worker_state(ids[0]) == LifecycleState::in_service);
  CHECK(group.worker_state(ids[1]) == LifecycleState::in_service);
  CHECK(provider.launched.size() == 5);
}

TEST_CASE("Group: a replacement slot freed by scale-in goes to the next unhealthy worker") {
  InServiceGroup f(config(1, 10, 3));
  auto& [sched, provider, group, ids] = f;
  group.replace_unhealthy(ids[0], "first");  // replaced: ids[3] pending
  group.replace_unhealthy(ids[1], "second");
  group.replace_unhealthy(ids[2], "third");
  group.set_desired(1, "scale in");  // takes ids[3] (pending) and ids[1] (waiting longest)
  CHECK(group.worker_state(provider.launched[3]) == LifecycleState::terminating);
  CHECK(group.worker_state(ids[1]) == LifecycleState::draining);
  // The slot is free again: the last unhealthy worker is replaced too.
  CHECK(group.worker_state(ids[2]) == LifecycleState::draining);
  REQUIRE(provider.launched.size() == 5);
  CHECK(group.worker_state(provider.launched[4]) == LifecycleState::pending);
  CHECK(count_waiting_unhealthy(group) == 0);
}

TEST_CASE("Group: termination policies choose which in-service worker scale-in drains") {
  struct Row {
    TerminationPolicy policy;
    std::vector<int> protect;  // by launch number
    int victim;
  };
  const Row rows[] = {
      {TerminationPolicy::kDefault, {}, 0},
      {TerminationPolicy::kOldestInstance, {}, 0},
      {TerminationPolicy::kNewestInstance, {}, 2},
      {TerminationPolicy::kDefault, {0}, 1},
      {TerminationPolicy::kOldestInstance, {0}, 1},
      {TerminationPolicy::kNewestInstance, {2}, 1},
      {TerminationPolicy::kNewestInstance, {1, 2}, 0},
      {TerminationPolicy::kOldestInstance, {0, 1}, 2},
  };
  for (const Row& row : rows) {
    CAPTURE(static_cast<int>(row.policy));
    CAPTURE(row.victim);
    VirtualScheduler sched;
    FakeProvider provider;
    GroupConfig c = config(1, 5, 1);
    c.termination_policy = row.policy;
    Group group(sched, provider, c);
    group.start();
    for (int n = 1; n <= 3; ++n) {
      if (n > 1) group.set_desired(n, "scale out");
      bring_up_pending(provider, group);
      sched.run_until(Time(std::chrono::seconds(10 * n)));
    }
    REQUIRE(provider.launched.size() == 3);
    for (int i : row.protect) CHECK(group.set_protected(provider.launched[i], true));
    group.set_desired(2, "scale in");
    for (int i = 0; i < 3; ++i) {
      CHECK(group.worker_state(provider.launched[i]) ==
            (i == row.victim ? LifecycleState::draining : LifecycleState::in_service));
    }
  }
}

TEST_CASE("Group: protected workers stay when desired shrinks until they are unprotected") {
  VirtualScheduler sched;
  FakeProvider provider;
  GroupConfig c = config(0, 5, 2);
  c.new_workers_protected = true;
  Group group(sched, provider, c);
  group.start();
  const auto ids = provider.launched;
  bring_up(provider, group, ids[0], 9001);  // in service
  provider.listen(ids[1], 9002);            // still pending: protection covers it too
  CHECK_FALSE(group.set_protected("i-unknown", true));
  auto s = group.state();
  CHECK(s.workers[0].protected_from_scale_in);
  CHECK(s.workers[1].protected_from_scale_in);

  CHECK(group.set_desired(0, "scale in") == 0);  // desired changes (AWS)...
  CHECK(group.desired() == 0);
  CHECK(group.activities().back().to == 0);
  CHECK(provider.stops.empty());  // ...but nothing is taken out
  CHECK(group.state().in_service == 1);
  CHECK(group.state().pending == 1);

  CHECK(group.set_protected(ids[0], false));
  CHECK(group.worker_state(ids[0]) == LifecycleState::draining);
  CHECK(group.worker_state(ids[1]) == LifecycleState::pending);
  CHECK(group.set_protected(ids[1], false));
  CHECK(group.worker_state(ids[1]) == LifecycleState::terminating);
  CHECK(provider.launched.size() == 2);
}

TEST_CASE("Group: shut_down takes out protected workers too") {
  GroupConfig c = config(1, 5, 2);
  c.new_workers_protected = true;
  InServiceGroup f(c);
  auto& [sched, provider, group, ids] = f;
  group.set_limits(0, 5, "allow zero");
  group.set_desired(0, "scale in");
  CHECK(group.state().in_service == 2);  // protected
  group.shut_down("run finished");
  CHECK(group.desired() == 0);
  CHECK(group.config().max == 0);
  CHECK(group.worker_state(ids[0]) == LifecycleState::draining);
  CHECK(group.worker_state(ids[1]) == LifecycleState::draining);
}

TEST_CASE("Group: a draining worker is stopped when its target is released") {
  GroupConfig c = config(1, 5, 2);
  c.drain_delay = 300s;  // the fallback, far away
  InServiceGroup f(c, 2s);
  auto& [sched, provider, group, ids] = f;
  Events ev;
  group.set_callbacks(ev.callbacks());
  group.target_released(ids[0]);  // in service: ignored
  group.set_desired(1, "scale in");
  CHECK(group.worker_state(ids[0]) == LifecycleState::draining);
  sched.run_until(7s);
  CHECK(provider.stops.empty());  // in-flight requests still finishing
  group.target_released(ids[0]);
  CHECK(group.worker_state(ids[0]) == LifecycleState::terminating);
  REQUIRE(provider.stops.size() == 1);
  CHECK(provider.stops[0] == std::make_pair(ids[0], Duration(5s)));  // SIGKILL after stop_grace
  group.target_released(ids[0]);                                     // twice: ignored
  CHECK(provider.stops.size() == 1);
  sched.run_until(9s);
  CHECK_FALSE(group.worker_state(ids[0]).has_value());
  CHECK(ev.log.back() == "terminated " + ids[0]);
  sched.run_until(400s);  // the fallback timer was cancelled
  CHECK(provider.stops.size() == 1);
}

TEST_CASE("Group: without target_released a draining worker is stopped after drain_delay") {
  GroupConfig c = config(1, 5, 2);
  c.drain_delay = 30s;
  InServiceGroup f(c);
  auto& [sched, provider, group, ids] = f;
  sched.run_until(5s);
  group.set_desired(1, "scale in");
  sched.run_until(Time(35s) - 1ms);
  CHECK(provider.stops.empty());
  sched.run_until(35s);
  REQUIRE(provider.stops.size() == 1);
  CHECK(provider.stops[0].first == ids[0]);
  CHECK(group.worker_state(ids[0]) == LifecycleState::terminating);
}

TEST_CASE("Group: a target released at once (idle) inside on_leaving_service stops the worker") {
  GroupConfig c = config(1, 5, 2);
  c.drain_delay = 300s;
  InServiceGroup f(c);
  auto& [sched, provider, group, ids] = f;
  Group::Callbacks cb;
  cb.on_leaving_service = [&group](const WorkerId& id) { group.target_released(id); };
  group.set_callbacks(cb);
  group.set_desired(1, "scale in");
  CHECK(group.worker_state(ids[0]) == LifecycleState::terminating);
  REQUIRE(provider.stops.size() == 1);
  CHECK(provider.stops[0].first == ids[0]);
  CHECK(sched.pending() == 0);  // no drain timer left behind
}

TEST_CASE("Group: consecutive boot failures back off exponentially, one failed activity each") {
  VirtualScheduler sched;
  FakeProvider provider;
  Group group(sched, provider, config(1, 5, 1));
  group.start();
  // Each launch exits with 127 when it is made (the command cannot start).
  const std::vector<Time> launch_times = {Time(0s), Time(1s), Time(3s), Time(7s), Time(15s)};
  for (std::size_t i = 0; i < launch_times.size(); ++i) {
    sched.run_until(launch_times[i]);
    REQUIRE(provider.launched.size() == i + 1);
    provider.exit(provider.launched[i], WorkerExit{127, 0});
  }
  sched.run_until(Time(31s) - 1ms);
  CHECK(provider.launched.size() == 5);
  std::vector<std::string> causes;
  for (const auto& a : group.activities()) {
    if (!a.failed) continue;
    causes.push_back(a.cause);
    CHECK(a.from == a.to);
  }
  REQUIRE(causes.size() == 5);
  const char* waits[] = {"1s", "2s", "4s", "8s", "16s"};
  for (std::size_t i = 0; i < 5; ++i) {
    CHECK(causes[i] == "Launching a new worker failed: worker " + provider.launched[i] +
                           " exited before becoming healthy (exit 127): retrying in " + waits[i]);
  }
  sched.run_until(31s);
  CHECK(provider.launched.size() == 6);
}

TEST_CASE("Group: the launch backoff is capped and resets after a healthy worker") {
  VirtualScheduler sched;
  FakeProvider provider;
  Group group(sched, provider, config(1, 5, 1));
  provider.fail_next_launches(7);  // failing inside launch(): no tight loop either
  group.start();
  CHECK(provider.launched.size() == 1);
  // Waits 1, 2, 4, 8, 16, 30 (capped), 30: the 8th launch comes at 91 s.
  sched.run_until(Time(91s) - 1ms);
  CHECK(provider.launched.size() == 7);
  CHECK(group.activities().back().cause.ends_with("retrying in 30s"));
  sched.run_until(91s);
  REQUIRE(provider.launched.size() == 8);
  const WorkerId good = provider.launched[7];
  bring_up(provider, group, good, 9001);
  CHECK(group.worker_state(good) == LifecycleState::in_service);

  // After a healthy worker, the next boot failure waits 1 s again.
  provider.exit(good, WorkerExit{-1, 9});
  REQUIRE(provider.launched.size() == 9);  // an in-service exit is replaced at once
  provider.exit(provider.launched[8], WorkerExit{1, 0});
  CHECK(group.activities().back().cause.ends_with("(exit 1): retrying in 1s"));
  CHECK(group.activities().back().failed);
  sched.run_until(Time(92s) - 1ms);
  CHECK(provider.launched.size() == 9);
  sched.run_until(92s);
  CHECK(provider.launched.size() == 10);
}

TEST_CASE("Group: launches held by the backoff also hold a scale-out") {
  VirtualScheduler sched;
  FakeProvider provider;
  Group group(sched, provider, config(1, 5, 1));
  provider.fail_next_launches(2);
  group.start();
  sched.run_until(1s);  // the second launch fails too: held until 3 s
  CHECK(provider.launched.size() == 2);
  group.set_desired(3, "scale out");
  CHECK(provider.launched.size() == 2);
  sched.run_until(3s);
  CHECK(provider.launched.size() == 5);
  CHECK(group.state().pending == 3);
}

namespace {

// Every launched worker comes up at once (listens and passes its health check).
void bring_up_all(FakeProvider& p, Group& g, std::size_t& next) {
  for (; next < p.launched.size(); ++next)
    if (p.is_running(p.launched[next]))
      bring_up(p, g, p.launched[next], static_cast<std::uint16_t>(9000 + next));
}

std::map<std::string, int> in_service_by_zone(const Group& g) {
  std::map<std::string, int> out;
  for (const auto& w : g.state().workers)
    if (w.state == LifecycleState::in_service) ++out[w.zone];
  return out;
}

GroupConfig zoned(int min, int max, int desired) {
  GroupConfig c = config(min, max, desired);
  c.zones = {"a", "b", "c"};
  return c;
}

// A group over zones a, b and c (min 1, max 10) on a fake provider; start() it, then
// bring_up() brings every launch so far in service.
struct ZonedGroup {
  explicit ZonedGroup(int desired) : group(sched, provider, zoned(1, 10, desired)) {}
  void bring_up() { bring_up_all(provider, group, next); }
  VirtualScheduler sched;
  FakeProvider provider{sched, 100ms};
  Group group;
  std::size_t next = 0;
};

}  // namespace

TEST_CASE("Group zones: launches spread evenly, each worker carries its zone") {
  ZonedGroup z(7);
  auto& [sched, provider, group, next] = z;
  group.start();
  z.bring_up();
  REQUIRE(provider.specs.size() == 7);
  // The fewest first, ties to the first listed: a b c a b c a.
  std::vector<std::string> zones;
  for (const auto& spec : provider.specs) zones.push_back(spec.zone);
  CHECK(zones == std::vector<std::string>{"a", "b", "c", "a", "b", "c", "a"});
  CHECK(in_service_by_zone(group) == std::map<std::string, int>{{"a", 3}, {"b", 2}, {"c", 2}});
}

TEST_CASE("Group zones: scale-in takes from the zone with the most workers in service") {
  ZonedGroup z(7);
  auto& [sched, provider, group, next] = z;
  group.start();
  z.bring_up();
  group.set_desired(6, "test");
  sched.run_for(5s);
  CHECK(in_service_by_zone(group) == std::map<std::string, int>{{"a", 2}, {"b", 2}, {"c", 2}});
  group.set_desired(4, "test");
  sched.run_for(5s);
  const auto by_zone = in_service_by_zone(group);
  for (const auto& [zone, n] : by_zone) CHECK(n <= 2);
  CHECK(group.state().in_service == 4);
}

TEST_CASE("Group zones: a failed launch holds its zone back, the others take the launches") {
  ZonedGroup z(3);
  auto& [sched, provider, group, next] = z;
  provider.fail_next_launches(1, WorkerExit{1, 0});  // the first (zone a) fails at once
  group.start();
  z.bring_up();
  // Zone a failed; its place went to b (the fewest of the zones not held).
  std::vector<std::string> zones;
  for (const auto& spec : provider.specs) zones.push_back(spec.zone);
  CHECK(zones == std::vector<std::string>{"a", "b", "c", "b"});
  CHECK(group.activities().back().failed);
  CHECK(group.activities().back().cause.find("in zone a") != std::string::npos);
  CHECK(group.state().in_service == 3);
}

TEST_CASE("Group zones: AZRebalance launches into the smallest zone, then takes from the largest") {
  ZonedGroup z(6);
  auto& [sched, provider, group, next] = z;
  group.start();
  z.bring_up();
  CHECK(in_service_by_zone(group) == std::map<std::string, int>{{"a", 2}, {"b", 2}, {"c", 2}});
  // Zone a's workers die while zone a cannot launch (every launch there fails for a while).
  std::vector<WorkerId> in_a;
  for (const auto& w : group.state().workers)
    if (w.zone == "a") in_a.push_back(w.id);
  provider.fail_next_launches(1, WorkerExit{1, 0});  // the first replacement tries zone a
  for (const auto& id : in_a) provider.exit(id, WorkerExit{-1, 9});
  bring_up_all(provider, group, next);
  CHECK(in_service_by_zone(group) == std::map<std::string, int>{{"b", 3}, {"c", 3}});
  // Once zone a can launch again (its hold ran out), the group rebalances: 2, 2, 2.
  for (int round = 0; round < 10; ++round) {
    sched.run_for(2s);
    bring_up_all(provider, group, next);
  }
  CHECK(in_service_by_zone(group) == std::map<std::string, int>{{"a", 2}, {"b", 2}, {"c", 2}});
  CHECK(group.desired() == 6);
  int rebalances = 0;
  for (const auto& a : group.activities())
    rebalances += a.cause.starts_with("AZRebalance") ? 1 : 0;
  CHECK(rebalances == 2);
}

TEST_CASE("Group: an interruption notice launches a replacement at once and kills at the end") {
  VirtualScheduler sched;
  FakeProvider provider(sched, 100ms);
  GroupConfig c = config(1, 5, 2);
  c.drain_delay = 10min;  // longer than the warning: the warning decides
  Group group(sched, provider, c);
  group.start();
  std::size_t next = 0;
  bring_up_all(provider, group, next);
  const WorkerId victim = provider.launched[0];
  CHECK(group.interrupt(victim, 2min, "interruption notice"));
  CHECK(provider.launched.size() == 3);  // the replacement, at once
  CHECK(group.worker_state(victim) == LifecycleState::draining);
  bring_up_all(provider, group, next);
  sched.run_for(2min - 1s);
  CHECK(provider.is_running(victim));  // still draining
  sched.run_for(2s);
  // The warning ran out: stopped, and SIGKILLed in case it would not go.
  CHECK(provider.stopped(victim));
  bool killed = false;
  for (const auto& [id, sig] : provider.signals) killed = killed || (id == victim && sig == 9);
  CHECK(killed);
  CHECK_FALSE(group.interrupt(victim, 2min, "again"));
  CHECK(group.state().in_service == 2);
}

TEST_CASE("Group: the history keeps every worker's times and why it ended") {
  VirtualScheduler sched;
  FakeProvider provider(sched, 100ms);  // a stopped worker exits (SIGTERM) 100 ms later
  Group group(sched, provider, config(0, 5, 3));
  group.start();
  auto id = [&](std::size_t n) { return provider.launched.at(n - 1); };
  sched.run_until(2s);
  for (std::size_t n = 1; n <= 3; ++n) bring_up(provider, group, id(n), 9000 + n);

  sched.run_until(5s);
  provider.exit(id(1), WorkerExit{-1, 9});  // killed; 4 replaces it
  sched.run_until(6s);
  provider.exit(id(4), WorkerExit{1, 0});  // a boot failure; 5 is launched after the backoff
  sched.run_until(8s);
  bring_up(provider, group, id(5), 9005);
  sched.run_until(9s);
  group.replace_unhealthy(id(2), "target health timeout");  // 6 replaces it, never healthy
  sched.run_until(40s);  // 6 misses its grace at 39 s; 7 replaces it
  bring_up(provider, group, id(7), 9007);
  sched.run_until(41s);
  group.set_desired(2, "test");  // the oldest in service, 3, leaves: drained 1 s, then stopped
  sched.run_until(42s);
  group.shut_down("run finished");
  sched.run_until(45s);  // every worker drained for 1 s, was stopped and exited 100 ms later

  struct Row {
    std::optional<Duration> in_service_at;
    std::optional<Duration> ended_at;
    std::string end_cause;
  };
  const std::optional<Duration> never;
  const std::vector<Row> expected = {
      {2s, 5s, "signal 9 (SIGKILL)"},
      {2s, 10s + 100ms, "replaced unhealthy (target health timeout)"},
      {2s, 42s + 100ms, "scale-in to desired 2"},
      {never, 6s, "exit 1 before becoming healthy"},
      {8s, 43s + 100ms, "run finished"},
      {never, 39s + 100ms, "not healthy within health_check_grace 30s"},
      {40s, 43s + 100ms, "run finished"},
  };
  const auto& history = group.history();
  REQUIRE(history.size() == expected.size());
  const Duration launched[] = {0s, 0s, 0s, 5s, 7s, 9s, 39s};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    CAPTURE(i + 1);
    const WorkerHistory& h = history[i];
    CHECK(h.id == id(i + 1));
    CHECK(h.launched_at == Time(launched[i]));
    auto at = [](const std::optional<Duration>& d) -> std::optional<Time> {
      if (!d) return std::nullopt;
      return Time(*d);
    };
    CHECK(h.in_service_at == at(expected[i].in_service_at));
    CHECK(h.end_cause == expected[i].end_cause);
    CHECK(h.ended_at == at(expected[i].ended_at));
  }
}

TEST_CASE("Group: prune_before drops old activities and ended workers, keeps running ones") {
  VirtualScheduler sched;
  FakeProvider provider(sched, 100ms);  // a stopped worker exits (SIGTERM) 100 ms later
  GroupConfig c = config(1, 5, 2);
  c.termination_policy = TerminationPolicy::kNewestInstance;
  Group group(sched, provider, c);
  group.start();  // activity at 0: group created
  auto id = [&](std::size_t n) { return provider.launched.at(n - 1); };
  sched.run_until(1s);
  bring_up(provider, group, id(1), 9001);  // runs throughout, first in the history
  bring_up(provider, group, id(2), 9002);
  sched.run_until(10min);
  provider.exit(id(2), WorkerExit{-1, 9});  // activity at 10 min: 3 replaces it
  sched.run_until(10min + 1s);
  bring_up(provider, group, id(3), 9003);
  sched.run_until(1h);
  group.set_desired(3, "out");  // activity at 1 h: 4 launched
  bring_up(provider, group, id(4), 9004);
  sched.run_until(2h);
  group.set_desired(2, "in");  // activity at 2 h: 4, the newest, drains 1 s and is stopped
  sched.run_until(2h + 2s);
  REQUIRE(group.history().size() == 4);
  CHECK(group.history()[3].ended_at == Time(2h + 1s + 100ms));
  REQUIRE(group.activities().size() == 4);

  auto ids = [&] {
    std::vector<WorkerId> out;
    for (const WorkerHistory& h : group.history()) out.push_back(h.id);
    return out;
  };
  struct Row {
    Time cutoff;
    std::size_t activities;
    std::vector<WorkerId> history;
  };
  // Cumulative, in order.
  const std::vector<Row> rows = {
      {Time(0s), 4, {id(1), id(2), id(3), id(4)}},
      {Time(10min), 3, {id(1), id(2), id(3), id(4)}},  // 2 ended at the cutoff, not before it
      {Time(10min + 1ms), 2, {id(1), id(3), id(4)}},
      {Time(3h), 0, {id(1), id(3)}},  // 4 ended at 2 h; 1 and 3 still run
  };
  for (const Row& r : rows) {
    CAPTURE(r.cutoff.count());
    group.prune_before(r.cutoff);
    CHECK(group.activities().size() == r.activities);
    CHECK(ids() == r.history);
  }
  CHECK(group.activities_recorded() == 4);

  // The running workers' entries moved; what happens to them next lands on their own entry.
  const std::uint64_t seen = group.activities_recorded();
  sched.run_until(3h);
  provider.exit(id(3), WorkerExit{-1, 9});  // 5 replaces it
  const auto& h = group.history();
  REQUIRE(h.size() == 3);
  CHECK(h[0].id == id(1));
  CHECK_FALSE(h[0].ended_at.has_value());
  CHECK(h[1].id == id(3));
  CHECK(h[1].ended_at == Time(3h));
  CHECK(h[1].end_cause == "signal 9 (SIGKILL)");
  CHECK(h[2].id == id(5));
  sched.run_until(3h + 1s);
  bring_up(provider, group, id(5), 9005);
  CHECK(group.history()[2].in_service_at == Time(3h + 1s));
  // A reader that had seen every activity finds the new one by its sequence number.
  const auto& acts = group.activities();
  REQUIRE(acts.size() == 1);
  const std::size_t next = resume_index(acts.size(), group.activities_recorded(), seen);
  REQUIRE(next == 0);
  CHECK(acts[next].cause.find("worker " + id(3) + " exited unexpectedly") == 0);
}
