// The simulated data plane: real pickers and the real retry decision over modelled workers.
#include "sim/sim_data_plane.h"

#include <doctest/doctest.h>

#include <signal.h>

#include <map>
#include <optional>
#include <vector>

#include "balancer/target_group.h"
#include "sim_world.h"
#include "worker/faults.h"

namespace flotilla {
namespace {

struct Replies final : SimDataPlane::Sender {
  std::map<int, int> by_status;
  std::vector<Time> at;
  void on_reply(std::uint64_t, int status, Time now) override {
    ++by_status[status];
    at.push_back(now);
  }
  int total() const {
    int n = 0;
    for (const auto& [s, c] : by_status) n += c;
    return n;
  }
};

WorkerProfile profile(int capacity, Duration service) {
  return testing::constant_profile(capacity, service);
}

// A world whose data plane answers into `replies`.
struct PlaneWorld : testing::SimWorld {
  PlaneWorld(int n, const std::string& algorithm, WorkerProfile p = profile(1000, 100ms),
        RetryPolicy retry = {})
      : SimWorld(n, std::move(p), config(algorithm, retry)) {
    plane.set_sender(replies);
  }
  static SimDataPlaneConfig config(const std::string& algorithm, RetryPolicy retry) {
    SimDataPlaneConfig c;
    c.algorithm = algorithm;
    c.retry = retry;
    return c;
  }
  Replies replies;
};

// Every answer of worker `id` from now on is 500 (`fail`) or as its model says.
void set_failing(PlaneWorld& w, const WorkerId& id, bool fail) {
  WorkerFaults f;
  f.errors = fail ? FaultSetting<ErrorsFault>::set({1.0}) : FaultSetting<ErrorsFault>::clear();
  REQUIRE(w.fleet.set_faults(id, f));
}

// A run of `failures` 500s from the only worker, then a 200 that ends it (service 1 ms).
void run_of(PlaneWorld& w, int failures) {
  set_failing(w, w.ids[0], true);
  for (int i = 0; i < failures; ++i) w.plane.submit(static_cast<std::uint64_t>(i));
  w.sched.run_for(2ms);
  set_failing(w, w.ids[0], false);
  w.plane.submit(0);
  w.sched.run_for(2ms);
}

}  // namespace

TEST_CASE("SimDataPlane: least outstanding requests spreads what is in flight evenly") {
  PlaneWorld w(4, "least_outstanding_requests");
  for (int i = 0; i < 400; ++i) w.plane.submit(static_cast<std::uint64_t>(i));
  for (const auto& id : w.ids) CHECK(w.plane.target_load(id).outstanding == 100);
  w.sched.run();
  CHECK(w.replies.by_status[200] == 400);
  const BalancerStats s = w.plane.stats();
  CHECK(s.requests == 400);
  CHECK(s.responses_2xx == 400);
  CHECK(s.target_response_time.count() == 400);
  CHECK(s.target_response_time.max() == 100ms);
  for (const auto& id : w.ids) {
    CHECK(s.targets.at(id).requests == 100);
    CHECK(s.targets.at(id).outstanding == 0);
  }
}

TEST_CASE("SimDataPlane: requests lost with a killed worker are retried on another target") {
  PlaneWorld w(4, "round_robin");
  for (int i = 0; i < 40; ++i) w.plane.submit(static_cast<std::uint64_t>(i));
  w.sched.run_until(50ms);
  w.fleet.signal(w.ids[1], SIGKILL);  // 10 in flight there
  w.sched.run();
  CHECK(w.replies.by_status[200] == 40);
  CHECK(w.replies.total() == 40);
  const BalancerStats s = w.plane.stats();
  CHECK(s.retries == 10);
  CHECK(s.elb_502 == 0);
  CHECK(w.plane.target_load(w.ids[1]).consecutive_failures == 10);
  // The retried ones took a second service time from the kill on.
  CHECK(w.replies.at.back() == 150ms);
}

TEST_CASE("SimDataPlane: a target whose worker is gone is a connect failure, retried for free") {
  RetryPolicy no_budget;
  no_budget.budget_percent = 0;
  no_budget.budget_min_concurrency = 0;
  PlaneWorld w(2, "round_robin", profile(1000, 10ms), no_budget);
  w.fleet.signal(w.ids[0], SIGKILL);  // still published: health checks have not noticed
  for (int i = 0; i < 10; ++i) w.plane.submit(static_cast<std::uint64_t>(i));
  w.sched.run();
  CHECK(w.replies.by_status[200] == 10);
  const BalancerStats s = w.plane.stats();
  CHECK(s.target_connection_errors >= 5);
  CHECK(s.targets.at(w.ids[0]).target_connection_errors == s.target_connection_errors);
  CHECK(s.retry_budget_exhausted == 0);  // a failed connect costs no budget
}

TEST_CASE("SimDataPlane: giving up as the balancer gives up") {
  struct Row {
    const char* name;
    int workers;
    int kill;  // how many of them die while 10 requests are in flight on each
    RetryPolicy retry;
    int want_200, want_502, want_503;
  };
  RetryPolicy zero_budget;
  zero_budget.budget_percent = 0;
  zero_budget.budget_min_concurrency = 0;
  RetryPolicy no_retries;
  no_retries.max_retries = 0;
  const Row rows[] = {
      {"no target at all", 0, 0, {}, 0, 0, 10},
      {"the only worker dies: nothing to retry on", 1, 1, {}, 0, 10, 0},
      {"a retry budget of 0 refuses every retry after a reset", 2, 1, zero_budget, 10, 10, 0},
      {"max_retries 0", 2, 1, no_retries, 10, 10, 0},
      {"the default budget covers one target of two", 2, 1, {}, 20, 0, 0},
  };
  for (const Row& row : rows) {
    CAPTURE(row.name);
    PlaneWorld w(row.workers, "round_robin", profile(1000, 100ms), row.retry);
    const int n = std::max(row.workers, 1) * 10;
    for (int i = 0; i < n; ++i) w.plane.submit(static_cast<std::uint64_t>(i));
    w.sched.run_until(50ms);
    for (int k = 0; k < row.kill; ++k) w.fleet.signal(w.ids[static_cast<std::size_t>(k)], SIGKILL);
    w.sched.run();
    CHECK(w.replies.by_status[200] == row.want_200);
    CHECK(w.replies.by_status[502] == row.want_502);
    CHECK(w.replies.by_status[503] == row.want_503);
    CHECK(w.plane.in_progress() == 0);
  }
}

TEST_CASE("SimDataPlane: a worker's own 503 passes through and counts against the target") {
  WorkerProfile p = profile(1, 100ms);
  p.queue_limit = 0;
  PlaneWorld w(1, "round_robin", p);
  w.plane.submit(1);
  w.plane.submit(2);  // the slot is busy, no queue: 503 at once
  CHECK(w.replies.by_status[503] == 1);
  w.sched.run();
  CHECK(w.replies.by_status[200] == 1);
  const BalancerStats s = w.plane.stats();
  CHECK(s.responses_5xx == 1);
  CHECK(s.elb_503 == 0);  // the target's answer, not the balancer's
}

TEST_CASE("SimDataPlane: a removed target keeps its requests, unknown ids read as nothing") {
  PlaneWorld w(2, "round_robin");
  for (int i = 0; i < 10; ++i) w.plane.submit(static_cast<std::uint64_t>(i));
  w.plane.set_targets({w.targets[1]});
  CHECK(w.plane.target_load(w.ids[0]).outstanding == 5);
  CHECK(w.plane.stats().targets.count(w.ids[0]) == 1);  // still in flight
  for (int i = 0; i < 10; ++i) w.plane.submit(static_cast<std::uint64_t>(i));
  w.sched.run();
  CHECK(w.replies.by_status[200] == 20);
  CHECK(w.plane.target_load(w.ids[0]).outstanding == 0);
  CHECK(w.plane.stats().targets.count(w.ids[0]) == 0);  // idle and removed
  CHECK(w.plane.stats().targets.at(w.ids[1]).requests == 15);
  CHECK(w.plane.target_load("i-nobody") == TargetLoad{});
}

TEST_CASE("SimDataPlane: runs of failure_streak failures make streaks, however they end") {
  PlaneWorld w(1, "round_robin", profile(1000, 1ms));
  w.targets[0].failure_streak = 5;
  w.plane.set_targets(w.targets);
  const WorkerId& id = w.ids[0];
  for (int i = 0; i < 3; ++i) run_of(w, 4);
  CHECK(w.replies.by_status[500] == 12);
  CHECK(w.plane.target_load(id).failure_streaks == 0);
  for (int i = 0; i < 2; ++i) run_of(w, 5);
  CHECK(w.plane.target_load(id) == TargetLoad{.failure_streaks = 2});

  // Ten in a row and no success: two more, and the run is still on.
  set_failing(w, id, true);
  for (int i = 0; i < 10; ++i) w.plane.submit(static_cast<std::uint64_t>(i));
  w.sched.run_for(2ms);
  CHECK(w.plane.target_load(id) == TargetLoad{.consecutive_failures = 10, .failure_streaks = 4});
  CHECK(w.plane.stats().targets.at(id).consecutive_failures == 10);

  // Published with failure_streak 0: no streak is counted.
  w.targets[0].failure_streak = 0;
  w.plane.set_targets(w.targets);
  run_of(w, 5);
  CHECK(w.plane.target_load(id).failure_streaks == 4);
}

TEST_CASE("SimDataPlane under a target group: streaks broken between polls eject at the next") {
  PlaneWorld w(1, "round_robin", profile(1000, 1ms));
  TargetGroupConfig config;
  config.fail_open = false;  // an ejected only target gets no traffic: the 503 shows it
  TargetGroup group(
      w.sched,
      [&](const Endpoint& endpoint, const std::string& path, Duration timeout,
          std::function<void(HttpGetResult)> done) {
        w.fleet.probe(endpoint, path, timeout, std::move(done));
      },
      config);
  std::optional<Time> last_poll;
  std::vector<BalancerTarget> published;
  TargetGroup::Callbacks callbacks;
  callbacks.publish = [&](std::vector<BalancerTarget> targets) {
    published = targets;
    w.plane.set_targets(std::move(targets));
  };
  group.set_callbacks(callbacks);
  group.set_load_source([&](const std::string& id) {
    last_poll = w.sched.now();
    return w.plane.target_load(id);
  });
  w.plane.set_targets({});
  group.register_target(w.ids[0], w.targets[0].endpoint);
  w.sched.run_for(1500ms);
  REQUIRE(group.counts().healthy == 1);
  REQUIRE(published.size() == 1);
  CHECK(published[0].failure_streak == 5);
  REQUIRE(last_poll);

  // Between two polls, each time: runs one failure short of a streak are not ejected...
  for (int poll = 0; poll < 2; ++poll) {
    w.sched.run_until(*last_poll + 1ms);
    for (int i = 0; i < 3; ++i) run_of(w, 4);
    w.sched.run_until(*last_poll + config.load_poll_interval);
    CHECK_FALSE(group.target(w.ids[0])->ejected);
  }
  // ... streaks are, at the poll after them, although a success ended each before it.
  w.sched.run_until(*last_poll + 1ms);
  const Time before = *last_poll;
  for (int i = 0; i < 3; ++i) run_of(w, 5);
  CHECK(*last_poll == before);  // no poll saw a run in progress
  CHECK(w.plane.target_load(w.ids[0]).consecutive_failures == 0);
  CHECK_FALSE(group.target(w.ids[0])->ejected);
  w.sched.run_until(before + config.load_poll_interval);
  CHECK(group.target(w.ids[0])->ejected);
  CHECK(published.empty());
  const int refused = w.replies.by_status[503];
  w.plane.submit(99);
  CHECK(w.replies.by_status[503] == refused + 1);
}

TEST_CASE("SimDataPlane: stop_accepting refuses arrivals, those in flight finish, retries too") {
  PlaneWorld w(2, "round_robin");
  for (int i = 0; i < 10; ++i) CHECK(w.plane.submit(static_cast<std::uint64_t>(i)));
  w.sched.run_until(50ms);
  CHECK(w.plane.stats().active_connections == 10);

  w.plane.stop_accepting();
  CHECK_FALSE(w.plane.submit(99));
  w.fleet.signal(w.ids[1], SIGKILL);  // its 5 in flight are retried on the other worker
  w.sched.run();
  CHECK(w.replies.by_status[200] == 10);
  CHECK(w.replies.total() == 10);  // none for the refused one
  const BalancerStats s = w.plane.stats();
  CHECK(s.requests == 10);
  CHECK(s.active_connections == 0);
  CHECK(s.retries == 5);
  CHECK(s.targets.at(w.ids[1]).retries == 5);
  CHECK(s.targets.at(w.ids[0]).retries == 0);
}

}  // namespace flotilla
