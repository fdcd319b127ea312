#include <doctest/doctest.h>

#include <string>

#include "scenario/scenario.h"
#include "support/paths.h"
#include "worker/profile.h"

namespace flotilla {
namespace {

// The soak (soak.cpp) sets the desired capacity itself, sends the traffic itself and sizes the
// fleet and the errors a stop may cost from the file's profile: the file must leave all of
// that to it.
TEST_CASE("the soak's scenario: a fixed-size group of a known profile, without traffic or faults") {
  const Scenario s =
      load_scenario((test::kSource / "tests/soak/soak.json").string(), ScenarioUse::kServe);
  CHECK(s.policies.empty());
  CHECK_FALSE(s.has_traffic);
  CHECK(s.faults.empty());
  const WorkerProfile profile = load_worker_profile(s.fleet.profile);
  CHECK(profile.capacity + profile.queue_limit == 68);
  CHECK(profile.service_time.mean == std::chrono::milliseconds(20));
}

}  // namespace
}  // namespace flotilla
