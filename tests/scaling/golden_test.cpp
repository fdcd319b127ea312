// Golden tests: every policy file shipped in policies/ replays a recorded metric series in
// virtual time (the scaling loop over a group of fake workers) and its decisions are compared
// with the ones recorded in tests/scaling/golden/<file>.json. A change of behaviour shows up as
// a diff of that file: rerun with FLOTILLA_UPDATE_GOLDEN=1 to rewrite the expectations, and
// review the diff.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/config.h"
#include "core/virtual_scheduler.h"
#include "fake_provider.h"
#include "scaling/decision_log.h"
#include "scaling/policy_file.h"
#include "scaling/scaling_loop.h"

using namespace flotilla;
using flotilla::testing::FakeProvider;

namespace fs = std::filesystem;

namespace {

constexpr Duration kPeriod = std::chrono::seconds(2);
constexpr Duration kBoot = std::chrono::seconds(1);

// The recorded series: per period, the fleet's total CPU demand (in percent of one worker) and
// the requests the balancer received. A worker's CPUUtilization is its share of the demand
// (at most 100); RequestCountPerTarget is the requests over the in-service workers.
struct Series {
  std::vector<double> cpu_demand;
  std::vector<double> requests;
};

Series load_series(const nlohmann::json& j) {
  Series s;
  for (const auto& v : j.at("cpu_demand")) s.cpu_demand.push_back(v.get<double>());
  for (const auto& v : j.at("requests")) s.requests.push_back(v.get<double>());
  return s;
}

// Replays `series` against the policy in `policy_file`; returns the decision log (times in
// seconds since the start), reduced to what the golden file records.
nlohmann::json replay(const std::string& policy_file, const Series& series) {
  VirtualScheduler sched;
  MetricStore store;
  FakeProvider provider(sched, std::chrono::milliseconds(500));
  GroupConfig gc;
  gc.name = "golden";
  gc.min = 1;
  gc.max = 10;
  gc.desired = 2;
  gc.health_check_grace = std::chrono::seconds(60);
  gc.drain_delay = std::chrono::seconds(1);
  Group group(sched, provider, gc);
  group.start();

  // Workers pass their health check kBoot after launch.
  PeriodicTask health(sched, std::chrono::milliseconds(250), [&] {
    const GroupState s = group.state();
    for (const auto& w : s.workers)
      if (w.state == LifecycleState::pending && w.launched_at + kBoot <= sched.now())
        group.mark_healthy(w.id);
  });
  health.start(Time::zero());

  std::size_t k = 0;
  PeriodicTask feed(sched, kPeriod, [&] {
    if (k >= series.cpu_demand.size()) return;
    const Time t = sched.now();
    const GroupState s = group.state();
    const int n = std::max(s.in_service, 1);
    for (const auto& w : s.workers) {
      const double cpu = w.state == LifecycleState::in_service
                             ? std::min(100.0, series.cpu_demand[k] / n)
                             : 5.0;  // booting
      store.put(instance_metric(kMetricCpuUtilization, w.id), t, cpu);
    }
    store.put(target_group_metric(kMetricRequestCountPerTarget, "golden"), t,
              series.requests[k] / n);
    store.put(target_group_metric(kMetricRequestCount, "golden"), t, series.requests[k]);
    ++k;
  });
  feed.start(kPeriod);

  ScalingLoopConfig lc;
  lc.period = kPeriod;
  lc.evaluation_delay = std::chrono::milliseconds(100);
  ScalingLoop loop(sched, store, group, lc);
  PolicyLoadOptions options;
  options.time_scale = default_time_scale(kPeriod);
  loop.add_policy(load_policy_file(policy_file, options));
  loop.set_origin(Time::zero());
  loop.start(kPeriod + lc.evaluation_delay);

  sched.run_until(kPeriod * static_cast<Duration::rep>(series.cpu_demand.size()) +
                  std::chrono::milliseconds(500));

  nlohmann::json out = nlohmann::json::array();
  for (const auto& r : decisions_json(loop.records(), Time::zero())) {
    nlohmann::json p = r["policies"][0];
    out.push_back({{"t", r["t"]},
                   {"desired_before", r["desired_before"]},
                   {"desired_after", r["desired_after"]},
                   {"rule", p["rule"]},
                   {"raw", p["raw"]},
                   {"clamped_by", p["clamped_by"]},
                   {"reason", r["reason"]}});
  }
  return out;
}

}  // namespace

TEST_CASE("Golden: every shipped policy file replays its recorded series as recorded") {
  const fs::path policies = fs::path(FLOTILLA_SOURCE_DIR) / "policies";
  const fs::path golden = fs::path(FLOTILLA_SOURCE_DIR) / "tests/scaling/golden";
  const bool update = std::getenv("FLOTILLA_UPDATE_GOLDEN") != nullptr;
  int replayed = 0;
  for (const auto& entry : fs::directory_iterator(policies)) {
    const std::string name = entry.path().filename().string();
    if (name.find(".alarm.") != std::string::npos) continue;  // used by its policy
    CAPTURE(name);
    const fs::path expected_file = golden / (name + ".golden.json");
    REQUIRE_MESSAGE(fs::exists(expected_file),
                    "no golden file: run with FLOTILLA_UPDATE_GOLDEN=1 to record one");
    nlohmann::json expected = load_json_file(expected_file.string());
    const nlohmann::json decisions =
        replay(entry.path().string(), load_series(expected.at("series")));
    if (update) {
      expected["decisions"] = decisions;
      std::ofstream(expected_file) << expected.dump(2) << "\n";
    }
    // Compared as text so that a failure shows the first differing decision.
    CHECK(decisions.dump(1) == expected.at("decisions").dump(1));
    CHECK_FALSE(decisions.empty());  // a series that makes no decision checks nothing
    ++replayed;
  }
  CHECK(replayed >= 7);
}
