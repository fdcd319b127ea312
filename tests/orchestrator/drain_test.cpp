// The graceful stop of a world's data plane, in virtual time: what is in flight finishes within
// the drain timeout, arrivals after stop_accepting() are refused.
#include "orchestrator/drain.h"

#include <doctest/doctest.h>

#include <vector>

#include "orchestrator/environment.h"
#include "scenario/rate_schedule.h"

using namespace flotilla;
using namespace std::chrono_literals;

TEST_CASE("drain_data_plane: requests in flight finish, a short timeout cuts them off") {
  struct Row {
    const char* name;
    Duration timeout;
    DrainOutcome outcome;
    Duration took;
    std::int64_t cut_off;
  };
  // 100 requests/s, each served in 300 ms; the drain starts at 1 s, after the request sent at
  // 995 ms, which ends at 1295 ms. At 1100 ms those sent after 800 ms are still in flight.
  const Row rows[] = {
      {"drained", 5s, DrainOutcome::kDrained, 295ms, 0},
      {"timed out", 100ms, DrainOutcome::kTimedOut, 100ms, 20},
  };
  for (const Row& row : rows) {
    CAPTURE(row.name);
    SimulatedOptions options;
    options.profile.capacity = 1000;
    options.profile.queue_limit = 1000;
    options.profile.service_time.distribution = ServiceDistribution::kConstant;
    options.profile.service_time.mean = 300ms;
    options.profile.boot_time = Duration::zero();
    const auto env = make_simulated(options);
    std::vector<BalancerTarget> targets;
    env->provider().set_callbacks({[&](const WorkerId& id, const Endpoint& e) {
                                     targets.push_back({id, e});
                                   },
                                   {}});
    env->provider().launch({});
    REQUIRE(env->run_until([&] { return !targets.empty(); }, 1s));
    env->data_plane().start();
    env->data_plane().set_targets(targets);
    LoadConfig load;
    load.schedule = RateSchedule({RatePoint{Duration::zero(), 100}}, 2s);
    const auto traffic = env->make_traffic(load);
    const Time start = env->scheduler().now();
    traffic->start();
    env->run_until([] { return false; }, 1s);

    const Time drain_start = env->scheduler().now();
    const DrainResult result = drain_data_plane(*env, row.timeout);
    CHECK(result.outcome == row.outcome);
    CHECK(env->scheduler().now() - drain_start == row.took);
    CHECK(result.open_connections == row.cut_off);

    env->run_until([] { return false; }, 5s);
    const LoadSnapshot s = traffic->snapshot();
    CHECK(s.sent == 200);
    CHECK(s.by_kind[LoadErrorKind::kConnectError] == 100);  // those sent from 1005 ms on
    CHECK(drain_start - start == 1s);
  }
}
