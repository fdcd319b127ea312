#include <doctest/doctest.h>

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
  CHECK(act.cause.find("worker " + a + " exited unexpectedly (signal 9 (SIGKILL))") != std::string::npos);
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
