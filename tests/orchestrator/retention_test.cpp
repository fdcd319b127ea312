// Retention in the simulated world: a System that runs for hours of virtual time with worker
// churn (kills, scale-out and scale-in under diurnal load) and is pruned every minute, as serve
// does, keeps what it holds bounded by age. No process, no socket, no sleep.
#include <doctest/doctest.h>

#include <signal.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <set>
#include <string>

#include "core/scheduler.h"
#include "orchestrator/environment.h"
#include "orchestrator/system.h"
#include "scaling/policy_file.h"
#include "support/paths.h"

using namespace flotilla;

namespace {

constexpr Duration kRetention = kDefaultRetentionAge;  // 3 h

// What the system holds that grows with time unless pruned.
struct Sizes {
  std::size_t activities = 0;
  std::size_t history = 0;
  std::size_t records = 0;
  std::size_t transitions = 0;
  std::size_t series = 0;
  std::size_t events = 0;
  std::size_t target_totals = 0;
  std::size_t targets = 0;
  std::size_t seconds = 0;
};

Sizes sizes(System& system, const Traffic& traffic) {
  Sizes s;
  s.activities = system.group().activities().size();
  s.history = system.group().history().size();
  s.records = system.scaling_loop().records().size();
  for (const auto& [name, alarm] : system.scaling_loop().alarms())
    s.transitions += alarm->history().size();
  s.series = system.store().series_count();
  s.events = system.events().size();
  s.target_totals = system.target_totals().size();
  s.targets = system.targets().targets().size();
  s.seconds = traffic.snapshot().seconds.size();
  return s;
}

// `later` is no bigger than `earlier` give or take churn's noise: a fifth, or 6.
void check_bounded(std::size_t earlier, std::size_t later) {
  CHECK(later <= earlier + std::max<std::size_t>(6, earlier / 5));
}

}  // namespace

TEST_CASE("System: prune_before keeps hours of churn bounded by age, and what is live") {
  SimulatedOptions options;
  options.profile.capacity = 1;  // about 50 requests/s at 100% CPU
  options.seed = 7;
  std::unique_ptr<Environment> env = make_simulated(options);
  Scheduler& scheduler = env->scheduler();

  SystemConfig config;
  config.metrics_period = 60s;
  config.group.name = "retention";
  config.group.min = 2;
  config.group.max = 8;
  config.group.desired = 2;
  config.policies.push_back(
      load_policy_file((test::kSource / "policies/aws-cpu-target-50.json").string()));
  config.policies.push_back(
      load_policy_file((test::kSource / "policies/aws-step-cpu.json").string()));
  System system(*env, std::move(config));
  system.start();
  REQUIRE(env->run_until([&] { return system.group().state().in_service >= 2; }, 1min));

  // 5 to 75 requests/s, a period an hour: the group scales out and back in every hour.
  LoadConfig load;
  load.schedule = RateSchedule(Sine{40, 35, 1h}, 7h);
  load.keep_seconds = static_cast<std::size_t>(to_seconds(kRetention));
  std::unique_ptr<Traffic> traffic = env->make_traffic(load);
  traffic->start();

  // A worker killed every 7 minutes (SIGKILL: the group replaces it).
  PeriodicTask kills(scheduler, 7min, [&] {
    for (const WorkerInfo& w : system.group().state().workers) {
      if (w.state != LifecycleState::in_service) continue;
      system.record_event("fault", "kill " + w.id);
      env->provider().signal(w.id, SIGKILL);
      return;
    }
  });
  kills.start();
  PeriodicTask prune(scheduler, 1min, [&] { system.prune_before(scheduler.now() - kRetention); });
  prune.start();

  // Three hours in, the retention is full; six hours in, it has been pruned for three.
  env->run_until([] { return false; }, 3h);
  const Sizes at3 = sizes(system, *traffic);
  const std::uint64_t activities3 = system.group().activities_recorded();
  const std::uint64_t events3 = system.events_recorded();
  env->run_until([] { return false; }, 3h);
  const Sizes at6 = sizes(system, *traffic);

  // The churn went on at the same pace, and what is kept is the last 3 h of it, not all 6.
  const std::uint64_t activities6 = system.group().activities_recorded();
  const std::uint64_t events6 = system.events_recorded();
  CHECK(activities6 - activities3 >= at3.activities * 4 / 5);
  CHECK(events6 - events3 >= at3.events * 4 / 5);
  CHECK(at6.activities <= activities6 * 2 / 3);
  CHECK(at6.events <= events6 * 2 / 3);
  CHECK(at3.activities >= 30);  // 3 h hold 25 kills' replacements and scaling both ways
  CHECK(at3.transitions >= 1);
  MESSAGE("after 3 h / 6 h: activities ", at3.activities, "/", at6.activities, ", history ",
          at3.history, "/", at6.history, ", records ", at3.records, "/", at6.records,
          ", transitions ", at3.transitions, "/", at6.transitions, ", series ", at3.series, "/",
          at6.series, ", events ", at3.events, "/", at6.events, ", target totals ",
          at3.target_totals, "/", at6.target_totals, ", seconds ", at3.seconds, "/", at6.seconds);

  check_bounded(at3.activities, at6.activities);
  check_bounded(at3.history, at6.history);
  check_bounded(at3.records, at6.records);
  check_bounded(at3.transitions, at6.transitions);
  check_bounded(at3.series, at6.series);
  check_bounded(at3.events, at6.events);
  check_bounded(at3.target_totals, at6.target_totals);
  check_bounded(at3.targets, at6.targets);
  // The decision log has one record a period: 3 h of them, and one at the cutoff.
  CHECK(at6.records <= 181);
  // The load generator keeps 3 h of seconds, no more.
  CHECK(at6.seconds == static_cast<std::size_t>(to_seconds(kRetention)));
  const auto snapshot = traffic->snapshot();
  CHECK(snapshot.seconds.back().second - snapshot.seconds.front().second + 1 ==
        static_cast<std::int64_t>(snapshot.seconds.size()));
  CHECK(snapshot.sent > snapshot.seconds.size() * 5);  // the totals are the whole run's

  // What is live stays: every worker the group runs has its history entry, the newest decision
  // and each alarm's change into its current state.
  std::set<WorkerId> in_history;
  for (const WorkerHistory& h : system.group().history()) in_history.insert(h.id);
  for (const WorkerInfo& w : system.group().state().workers) CHECK(in_history.count(w.id) == 1);
  for (const WorkerHistory& h : system.group().history())
    if (h.ended_at) CHECK(*h.ended_at >= scheduler.now() - kRetention - 1min);
  REQUIRE_FALSE(system.scaling_loop().records().empty());
  CHECK(system.scaling_loop().records().back().t > scheduler.now() - 1min);
  for (const auto& [name, alarm] : system.scaling_loop().alarms()) {
    CAPTURE(name);
    if (alarm->history().empty()) continue;
    CHECK(alarm->history().back().state == alarm->state());
  }
  CHECK(system.group_cpu().has_value());

  kills.stop();
  prune.stop();
  traffic->stop();
  system.shutdown(30s);
}
