#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "balancer/counters.h"

using namespace flotilla;
using namespace flotilla::proxy;

namespace {

const std::vector<std::string> kGroups = {"default", "api"};

// What an IO thread does when a request starts (or ends) on a target.
void in_flight(TargetCounters& c, int thread, std::int64_t delta) {
  bump<std::int64_t>(c.slots[thread].outstanding, delta);
  if (delta > 0) bump(c.slots[thread].requests, static_cast<std::uint64_t>(delta));
}

BalancerStats stats_of(const TargetCounterRegistry& r) {
  BalancerStats s;
  r.add_to(s, kGroups);
  return s;
}

}  // namespace

TEST_CASE("counter registry: a target's counters are kept while its set names it") {
  TargetCounterRegistry r(2);
  const auto first = r.publish(0, {"a", "b"}, 0);
  CHECK(first.serial == 1);
  REQUIRE(first.counters.size() == 2);
  in_flight(*first.counters[0], 1, 1);
  const auto second = r.publish(0, {"b", "a"}, 1);
  CHECK(second.serial == 2);
  CHECK(second.counters[1] == first.counters[0]);  // same id, same group: same counters
  CHECK(second.counters[0] == first.counters[1]);
  // The same id in another group is another target there.
  const auto api = r.publish(1, {"a"}, 2);
  CHECK(api.counters[0] != first.counters[0]);
  CHECK(stats_of(r).targets.at("a").requests == 1);
  CHECK(stats_of(r).groups.at("api").targets.at("a").requests == 0);
}

TEST_CASE("counter registry: a removed target is reported while in flight, freed once idle") {
  struct Row {
    const char* name;
    bool in_flight_at_removal;
    bool idle_before_next_publish;
    std::uint64_t applied_at_next_publish;  // the lowest serial the IO threads switched to
    bool reported_after_removal;            // right after the removing publish()
    bool freed;                             // after the next publish(): re-adding starts at 0
  };
  const std::vector<Row> rows = {
      {"idle when removed: not reported, freed by the next publish", false, true, 2, false, true},
      {"in flight when removed: reported; idle later, freed by the next publish", true, true, 2,
       true, true},
      {"still in flight at the next publish: kept", true, false, 2, true, false},
      {"an IO thread still on the old set: kept even if idle", false, true, 1, false, false},
  };
  for (const auto& row : rows) {
    CAPTURE(row.name);
    TargetCounterRegistry r(2);
    const auto added = r.publish(0, {"a", "b"}, 0);  // serial 1
    TargetCounters& b = *added.counters[1];
    in_flight(b, 0, 1);
    if (!row.in_flight_at_removal) in_flight(b, 0, -1);
    r.publish(0, {"a"}, 1);  // serial 2 removes b
    CHECK(stats_of(r).targets.count("b") == (row.reported_after_removal ? 1u : 0u));
    CHECK(stats_of(r).groups.at("default").targets.count("b") ==
          (row.reported_after_removal ? 1u : 0u));
    CHECK(r.load("b").outstanding == (row.reported_after_removal ? 1 : 0));
    if (row.in_flight_at_removal && row.idle_before_next_publish) in_flight(b, 0, -1);
    r.publish(1, {}, row.applied_at_next_publish);  // any group's publish sweeps
    // Re-adding b: the old counters (1 request) if they were kept, fresh ones if freed.
    const auto again = r.publish(0, {"a", "b"}, 3);
    CHECK((again.counters[1].get() == &b) == !row.freed);
    CHECK(stats_of(r).targets.at("b").requests == (row.freed ? 0u : 1u));
  }
}

TEST_CASE("counter registry: target_load sums in-flight requests and streaks, max of runs") {
  TargetCounterRegistry r(2);
  const auto def = r.publish(0, {"a"}, 0);
  const auto api = r.publish(1, {"a"}, 1);
  in_flight(*def.counters[0], 0, 1);
  in_flight(*def.counters[0], 1, 2);
  in_flight(*api.counters[0], 1, 1);
  bump(def.counters[0]->slots[0].consecutive_failures, std::uint64_t{2});
  bump(api.counters[0]->slots[1].consecutive_failures, std::uint64_t{5});
  bump(def.counters[0]->slots[0].failure_streaks, std::uint64_t{1});
  bump(def.counters[0]->slots[1].failure_streaks, std::uint64_t{2});
  bump(api.counters[0]->slots[1].failure_streaks, std::uint64_t{4});
  CHECK(r.load("a") ==
        TargetLoad{.outstanding = 4, .consecutive_failures = 5, .failure_streaks = 7});
  CHECK(r.load("unknown") == TargetLoad{});
  // The same sums as stats().targets.
  const auto s = stats_of(r);
  CHECK(s.targets.at("a").outstanding == 4);
  CHECK(s.targets.at("a").consecutive_failures == 5);
  CHECK(s.targets.at("a").requests == 4);
  // A removed, idle group entry no longer counts; its failures are forgotten with it.
  in_flight(*api.counters[0], 1, -1);
  r.publish(1, {}, 2);
  CHECK(r.load("a") ==
        TargetLoad{.outstanding = 3, .consecutive_failures = 2, .failure_streaks = 3});
}

TEST_CASE("target counters: a slot counts failures into streaks and a success ends the run") {
  TargetCounters c(1);
  auto& slot = c.slots[0];
  for (int i = 0; i < 4; ++i) slot.count_failure(5);
  slot.count_success();
  CHECK(c.read_load() == TargetLoad{});
  for (int i = 0; i < 5; ++i) slot.count_failure(5);
  slot.count_success();
  CHECK(c.read_load() == TargetLoad{.failure_streaks = 1});
  for (int i = 0; i < 11; ++i) slot.count_failure(5);
  CHECK(c.read_load() == TargetLoad{.consecutive_failures = 11, .failure_streaks = 3});
  CHECK(c.read_stats().consecutive_failures == 11);
}
