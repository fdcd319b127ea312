#include <doctest/doctest.h>

#include <map>
#include <memory>
#include <string>

#include "core/virtual_scheduler.h"
#include "fake_provider.h"
#include "metrics/collector.h"
#include "replay_support.h"
#include "scaling/scaling_loop.h"
#include "scaling/scheduled.h"
#include "scaling/step_scaling.h"
#include "scaling/target_tracking.h"

using namespace flotilla;
using flotilla::testing::FakeProvider;

namespace {

// Every worker the group tracks (whatever its state) reports the CPU the test set for it, as a
// worker's /metrics would.
class FleetCpuSource final : public MetricSource {
 public:
  explicit FleetCpuSource(const Group& group) : group_(group) {}
  void collect(Time, Done done) override {
    std::vector<Sample> out;
    for (const auto& w : group_.state().workers) {
      auto it = cpu.find(w.id);
      out.push_back(
          {instance_metric(kMetricCpuUtilization, w.id), it == cpu.end() ? fallback : it->second});
    }
    done(std::move(out));
  }
  std::map<WorkerId, double> cpu;
  double fallback = 0;

 private:
  const Group& group_;
};

GroupConfig group_config() {
  GroupConfig c;
  c.name = "asg";
  c.min = 1;
  c.max = 10;
  c.desired = 2;
  c.health_check_grace = 60s;
  c.drain_delay = 1s;
  return c;
}

std::unique_ptr<ScalingPolicy> cpu_policy() {
  TargetTrackingConfig c;
  c.name = "cpu-target";
  c.target_value = 50;
  c.scale_out_periods = 3;
  c.scale_in_periods = 4;
  c.warmup = 5s;
  return std::make_unique<TargetTrackingPolicy>(c);
}

}  // namespace

TEST_CASE("ScalingLoop: scales out by the formula and excludes warming workers and scales in") {
  VirtualScheduler sched;
  MetricStore store;
  FakeProvider provider(sched, 1s);
  Group group(sched, provider, group_config());
  group.start();
  for (const auto& id : provider.launched) group.mark_healthy(id);

  auto source = std::make_shared<FleetCpuSource>(group);
  Collector collector(sched, store, 10s);
  collector.add_source(source);
  collector.start();  // ticks at 10, 20, ...

  ScalingLoopConfig lc;
  lc.period = 10s;
  lc.evaluation_delay = 1s;
  ScalingLoop loop(sched, store, group, lc);
  loop.add_policy(cpu_policy());
  CHECK(loop.warmup() == 5s);
  loop.start();  // ticks at 11, 21, ... evaluating the periods ending at 10, 20, ...

  const WorkerId a = provider.launched[0], b = provider.launched[1];
  source->cpu[a] = 70;
  source->cpu[b] = 90;  // group average 80
  source->fallback = 0;

  sched.run_until(21s);
  CHECK(group.desired() == 2);  // 2 of 3 periods
  REQUIRE(loop.records().size() == 2);
  CHECK(loop.records()[1].reason.find("for 2 of 3 periods") != std::string::npos);

  sched.run_until(31s);
  CHECK(group.desired() == 4);
  const DecisionRecord& out = loop.records().back();
  CHECK(out.t == Time(31s));
  CHECK(out.period_end == Time(30s));
  CHECK(out.group_cpu == 80.0);
  CHECK(out.desired_before == 2);
  CHECK(out.combined == 4);
  CHECK(out.desired_after == 4);
  REQUIRE(out.policies.size() == 1);
  CHECK(out.policies[0].policy == "cpu-target");
  REQUIRE(out.policies[0].values.size() == 4);
  CHECK(out.policies[0].values[0].value == std::nullopt);  // before the first period
  CHECK(out.policies[0].values[3].end == Time(30s));
  CHECK(out.policies[0].values[3].value == 80.0);
  CHECK(out.reason ==
        "cpu-target: CPUUtilization 80 > 50 for 3 periods: desired 2 -> 4 "
        "(ceil(2 x 80 / 50))");
  CHECK(group.activities().back().cause == out.reason);
  CHECK(store.statistic(group_metric(kNamespaceEc2, kMetricCpuUtilization, "asg"),
                        Statistic::average, 30s, 10s) == 80.0);
  CHECK(store.statistic(group_metric(kNamespaceAutoScaling, "GroupDesiredCapacity", "asg"),
                        Statistic::maximum, 31s, 1s) == 4.0);
  CHECK(store.statistic(group_metric(kNamespaceAutoScaling, "GroupPendingInstances", "asg"),
                        Statistic::maximum, 31s, 1s) == 2.0);
  CHECK(store.statistic(group_metric(kNamespaceAutoScaling, "GroupInServiceInstances", "asg"),
                        Statistic::maximum, 31s, 1s) == 2.0);

  // The new workers become healthy at 36 s and report 0% CPU. Warm-up (5 s) keeps them out of
  // the period ending at 40 s; they count from the period ending at 50 s.
  REQUIRE(provider.launched.size() == 4);
  const WorkerId c = provider.launched[2], d = provider.launched[3];
  sched.run_until(36s);
  group.mark_healthy(c);
  group.mark_healthy(d);
  sched.run_until(41s);
  CHECK(loop.records().back().group_cpu == 80.0);
  CHECK(group.desired() == 4);  // ceil(2 x 80 / 50) = 4: the capacity on its way covers it
  CHECK(loop.records().back().reason.find("already covers") != std::string::npos);

  // From now on every worker idles at 10%: the period ending at 50 s includes all four.
  for (auto& [id, v] : source->cpu) v = 10;
  source->fallback = 10;
  sched.run_until(51s);
  CHECK(loop.records().back().group_cpu == 10.0);
  sched.run_until(71s);
  CHECK(group.desired() == 4);  // 3 of 4 periods below 45
  sched.run_until(81s);
  CHECK(group.desired() == 1);  // ceil(4 x 10 / 50) = 1
  CHECK(loop.records().back().reason ==
        "cpu-target: CPUUtilization 10 < 45 (90% of 50) for 4 periods: desired 4 -> 1 "
        "(ceil(4 x 10 / 50))");
  auto s = group.state();
  CHECK(s.in_service == 1);
  CHECK(s.draining == 3);
  sched.run_until(90s);  // drained (1 s), stopped, exited (1 s later)
  s = group.state();
  CHECK(s.workers.size() == 1);
  CHECK(provider.stops.size() == 3);
  CHECK(s.workers[0].id == d);  // scale-in removes the oldest launched first
}

TEST_CASE(
    "ScalingLoop: a warming worker's samples do not count (only warming workers -> no data)") {
  VirtualScheduler sched;
  MetricStore store;
  FakeProvider provider;
  GroupConfig gc = group_config();
  gc.desired = 1;
  Group group(sched, provider, gc);
  group.start();
  const WorkerId a = provider.launched[0];

  ScalingLoopConfig lc;
  lc.period = 10s;
  ScalingLoop loop(sched, store, group, lc);
  TargetTrackingConfig tc;
  tc.name = "slow-warmup";
  tc.warmup = 25s;
  loop.add_policy(std::make_unique<TargetTrackingPolicy>(tc));

  sched.run_until(5s);
  group.mark_healthy(a);  // warm at 30 s
  for (int t = 10; t <= 40; t += 10) {
    store.put(instance_metric(kMetricCpuUtilization, a), Time(std::chrono::seconds(t)), 95);
  }
  sched.run_until(20s);
  loop.tick();
  CHECK(loop.records().back().group_cpu == std::nullopt);
  CHECK(loop.records().back().reason.find("insufficient data") != std::string::npos);
  sched.run_until(30s);
  loop.tick();
  CHECK(loop.records().back().group_cpu == 95.0);
  CHECK(group.desired() == 1);
}

namespace {

class FixedPolicy final : public ScalingPolicy {
 public:
  FixedPolicy(std::string name, std::optional<int> desired, PolicyRole role = PolicyRole::alarm,
              bool may_scale_in = true)
      : name_(std::move(name)), desired_(desired), role_(role), may_scale_in_(may_scale_in) {}
  const std::string& name() const override { return name_; }
  const std::string& type() const override { return name_; }
  std::vector<MetricRequest> metrics() const override { return {}; }
  PolicyRole role() const override { return role_; }
  bool may_scale_in() const override { return may_scale_in_; }
  Decision decide(const MetricsSnapshot&, const GroupState&, Time) override {
    Decision d;
    d.desired = desired_;
    d.reason = desired_ ? "wants " + std::to_string(*desired_) : "no opinion";
    d.unclamped = desired_;
    return d;
  }

 private:
  std::string name_;
  std::optional<int> desired_;
  PolicyRole role_;
  bool may_scale_in_;
};

}  // namespace

// The rule itself is combine_test.cpp's table; this checks that the loop hands each policy's
// role and may_scale_in to it and applies its result.
TEST_CASE("ScalingLoop: combines with each policy's role and may_scale_in") {
  struct Row {
    const char* name;
    PolicyRole a_role;
    std::optional<int> a;
    PolicyRole b_role;
    bool b_may_scale_in;
    std::optional<int> b;
    int want;  // desired after, starting from 4 (min 1, max 8)
    const char* reason;
    bool held;  // kClampOtherPolicies
  };
  const auto none = std::nullopt;
  const auto tracking = PolicyRole::tracking;
  const auto alarm = PolicyRole::alarm;
  const Row rows[] = {
      {"out beats in", tracking, 2, alarm, true, 6, 6, "b: wants 6", false},
      {"tracking in, an idle tracking policy: held", tracking, 2, tracking, true, none, 4,
       "needs every tracking policy that may scale in to agree, and b did not", true},
      {"tracking in, an idle one that may not scale in: in", tracking, 2, tracking, false, none, 2,
       "a: wants 2; the only policy that triggered", false},
      {"step in, an idle tracking policy: in", alarm, 3, tracking, true, none, 3,
       "a: wants 3; the only policy that triggered", false},
  };
  for (const Row& r : rows) {
    const std::string row = r.name;
    CAPTURE(row);
    VirtualScheduler sched;
    MetricStore store;
    FakeProvider provider;
    GroupConfig gc = group_config();
    gc.desired = 4;
    gc.max = 8;
    Group group(sched, provider, gc);
    group.start();
    ScalingLoop loop(sched, store, group, ScalingLoopConfig{});
    loop.add_policy(std::make_unique<FixedPolicy>("a", r.a, r.a_role));
    loop.add_policy(std::make_unique<FixedPolicy>("b", r.b, r.b_role, r.b_may_scale_in));
    loop.tick();
    CHECK(group.desired() == r.want);
    REQUIRE(loop.records().size() == 1);
    const DecisionRecord& rec = loop.records()[0];
    CHECK(rec.desired_after == r.want);
    CHECK(rec.policies[1].role == r.b_role);
    CHECK(rec.policies[1].may_scale_in == r.b_may_scale_in);
    CAPTURE(rec.reason);
    CHECK(rec.reason.find(r.reason) != std::string::npos);
    CHECK((rec.clamped_by == std::vector<std::string>{kClampOtherPolicies}) == r.held);
    if (r.want != 4) CHECK(group.activities().back().cause == rec.reason);
  }
}

// Two shipped policy files of two types on one group: target tracking on CPU that may not scale
// in, and a step policy that removes a worker while CPU is low (scenarios/tracking-and-step.json
// runs the same pair live). The old rule (scale in only if every policy says in) never let the
// step policy scale in: the tracking policy never says in.
TEST_CASE("ScalingLoop: a scale-out-only target tracking policy and a step scale-in policy") {
  flotilla::testing::Series series;
  // 2 workers at 10%, a spike to 80% each, then back to the first load.
  for (int i = 0; i < 10; ++i) series.cpu_demand.push_back(20);
  for (int i = 0; i < 20; ++i) series.cpu_demand.push_back(160);
  for (int i = 0; i < 25; ++i) series.cpu_demand.push_back(20);
  series.requests = series.cpu_demand;
  GroupConfig gc = flotilla::testing::replay_group_config();
  gc.min = 2;
  const std::string dir = std::string(FLOTILLA_SOURCE_DIR) + "/policies/";
  const auto replay = flotilla::testing::make_replay(
      {dir + "cpu-target-50-out-only.json", dir + "step-cpu-low.json"}, series, gc);
  replay->run();

  int outs = 0, ins = 0;
  for (const Activity& a : replay->group().activities()) {
    if (a.from == 0) continue;  // the group's creation
    if (a.to > a.from) {
      ++outs;
      CHECK(a.cause.find("cpu-target-50-out-only: ") == 0);
    } else if (a.to < a.from) {
      ++ins;
      CHECK(a.cause.find("step-cpu-low: ") == 0);
      CHECK(a.cause.find("the only policy that triggered") != std::string::npos);
    }
  }
  CHECK(outs >= 1);
  CHECK(ins >= 1);
  int peak = 0;
  for (const DecisionRecord& r : replay->loop().records()) peak = std::max(peak, r.desired_after);
  CHECK(peak == 4);                      // ceil(2 x 80 / 50)
  CHECK(replay->group().desired() == 2);  // back to min, one worker per period
  // The tracking policy saw low CPU but had no say: nothing was held back for it.
  int held = 0;
  for (const DecisionRecord& r : replay->loop().records()) held += !r.clamped_by.empty();
  CHECK(held == 0);
}

TEST_CASE("ScalingLoop: the decision log is bounded") {
  VirtualScheduler sched;
  MetricStore store;
  FakeProvider provider;
  Group group(sched, provider, group_config());
  group.start();
  ScalingLoopConfig lc;
  lc.period = 1s;
  lc.max_records = 3;
  ScalingLoop loop(sched, store, group, lc);
  loop.add_policy(cpu_policy());
  loop.start();
  sched.run_until(10s);
  REQUIRE(loop.records().size() == 3);
  CHECK(loop.records().front().t == Time(8s));
  loop.stop();
  sched.run_until(20s);
  CHECK(loop.records().back().t == Time(10s));
}

namespace {

// A step policy on the group's CPU: alarm >= 60 for 2 of 2 periods; +1 below +20, +3 above.
std::unique_ptr<ScalingPolicy> step_policy() {
  AlarmConfig a;
  a.name = "cpu-high";
  a.metric = group_metric(kNamespaceEc2, kMetricCpuUtilization, "my-asg");  // AWS's own name
  a.period = 10s;
  a.evaluation_periods = 2;
  a.datapoints_to_alarm = 2;
  a.threshold = 60;
  a.comparison = ComparisonOperator::greater_than_or_equal_to_threshold;
  StepScalingConfig c;
  c.name = "cpu-steps";
  c.steps = {{0.0, 20.0, 1}, {20.0, std::nullopt, 3}};
  return std::make_unique<StepScalingPolicy>(c, a);
}

// The step policy's loop over two workers in service that report `cpu`: collected every 10 s,
// evaluated 1 s later. The test starts the loop.
struct StepLoop {
  explicit StepLoop(double cpu) {
    group.start();
    for (const auto& id : provider.launched) group.mark_healthy(id);
    source->fallback = cpu;
    collector.add_source(source);
    collector.start();
    loop.add_policy(step_policy());
  }
  static ScalingLoopConfig loop_config() {
    ScalingLoopConfig lc;
    lc.period = 10s;
    lc.evaluation_delay = 1s;
    return lc;
  }

  VirtualScheduler sched;
  MetricStore store;
  FakeProvider provider{sched, 1s};
  Group group{sched, provider, group_config()};
  std::shared_ptr<FleetCpuSource> source = std::make_shared<FleetCpuSource>(group);
  Collector collector{sched, store, 10s};
  ScalingLoop loop{sched, store, group, loop_config()};
};

}  // namespace

TEST_CASE("ScalingLoop: evaluates a step policy's alarm on the group's CPU and logs the step") {
  StepLoop f(90);
  auto& [sched, store, provider, group, source, collector, loop] = f;
  REQUIRE(loop.alarms().count("cpu-high") == 1);
  // The alarm reads the group's series under the running group's name, not the file's.
  CHECK(loop.alarms().at("cpu-high")->config().metric == loop.group_cpu_metric());
  loop.start();

  sched.run_until(11s);
  CHECK(group.desired() == 2);  // 1 of 2 periods
  CHECK(loop.alarms().at("cpu-high")->state() == AlarmState::insufficient_data);
  CHECK_FALSE(loop.records().back().logged());
  sched.run_until(21s);
  CHECK(loop.alarms().at("cpu-high")->state() == AlarmState::alarm);
  CHECK(group.desired() == 5);  // 90 is threshold + 30: the +3 step
  const DecisionRecord& r = loop.records().back();
  CHECK(r.logged());
  REQUIRE(r.policies.size() == 1);
  CHECK(r.policies[0].type == "step_scaling");
  CHECK(r.policies[0].decision.rule == "step [20, +inf): +3");
  CHECK(r.policies[0].values.size() == 4);  // the alarm's evaluation range
  CHECK(r.policies[0].values.back().value == 90.0);
}

TEST_CASE("ScalingLoop: prune_before keeps the newest record and each alarm's newest change") {
  StepLoop f(90);
  auto& [sched, store, provider, group, source, collector, loop] = f;
  loop.start();          // ticks at 11, 21, ...
  sched.run_until(21s);  // INSUFFICIENT_DATA -> ALARM at 20 s
  source->fallback = 10;
  sched.run_until(41s);  // ALARM -> OK at 30 s
  const Alarm& alarm = *loop.alarms().at("cpu-high");
  REQUIRE(alarm.history().size() == 2);
  REQUIRE(loop.records().size() == 4);
  CHECK(loop.records_recorded() == 4);

  struct Row {
    Time cutoff;
    std::size_t records;
    Time oldest_record;
    std::size_t transitions;
  };
  // Cumulative, in order.
  const Row rows[] = {
      {Time(11s), 4, Time(11s), 2},
      {Time(25s), 2, Time(31s), 1},  // the change at 20 s goes, the one at 30 s into OK stays
      {Time(1h), 1, Time(41s), 1},   // all older: the newest of each stays
  };
  for (const Row& r : rows) {
    CAPTURE(r.cutoff.count());
    loop.prune_before(r.cutoff);
    REQUIRE(loop.records().size() == r.records);
    CHECK(loop.records().front().t == r.oldest_record);
    CHECK(alarm.history().size() == r.transitions);
  }
  CHECK(alarm.history().back().state == AlarmState::ok);
  CHECK(loop.records().back().group_cpu == 10.0);
  // The count goes on past what was dropped: a reader that saw 4 resumes at the fifth.
  sched.run_until(51s);
  CHECK(loop.records_recorded() == 5);
  REQUIRE(loop.records().size() == 2);
  const std::size_t next = resume_index(loop.records().size(), loop.records_recorded(), 4);
  CHECK(next == 1);
  CHECK(loop.records()[next].t == Time(51s));
}

TEST_CASE("ScalingLoop: ALBRequestCountPerTarget per minute, and the group's clamp is logged") {
  VirtualScheduler sched;
  MetricStore store;
  FakeProvider provider;
  GroupConfig gc = group_config();
  gc.max = 3;
  Group group(sched, provider, gc);
  group.start();
  for (const auto& id : provider.launched) group.mark_healthy(id);
  ScalingLoopConfig lc;
  lc.period = 10s;
  lc.target_group = "tg";
  ScalingLoop loop(sched, store, group, lc);
  TargetTrackingConfig c;
  c.name = "rpt";
  c.metric = kAlbRequestCountPerTarget;
  c.target_value = 600;  // per target per minute: 10 rps
  c.scale_out_periods = 1;
  loop.add_policy(std::make_unique<TargetTrackingPolicy>(c));
  // 200 requests per target in 10 s: 1200 per minute, twice the target.
  store.put(target_group_metric(kMetricRequestCountPerTarget, "tg"), 10s, 150);
  store.put(target_group_metric(kMetricRequestCountPerTarget, "tg"), 10s, 50);
  sched.run_until(10s);
  loop.tick();
  const DecisionRecord& r = loop.records().back();
  REQUIRE(r.policies.size() == 1);
  REQUIRE_FALSE(r.policies[0].values.empty());
  CHECK(r.policies[0].values.back().value == 1200.0);
  CHECK(r.policies[0].decision.unclamped == 4);  // ceil(2 x 1200 / 600)
  CHECK(r.policies[0].decision.clamped_by == std::vector<std::string>{"max"});
  CHECK(group.desired() == 3);
}

TEST_CASE("ScalingLoop: a scheduled action sets limits and desired, overriding the others") {
  VirtualScheduler sched;
  MetricStore store;
  FakeProvider provider;
  Group group(sched, provider, group_config());
  group.start();
  ScalingLoopConfig lc;
  lc.period = 10s;
  ScalingLoop loop(sched, store, group, lc);
  loop.add_policy(std::make_unique<FixedPolicy>("wants-9", 9));
  ScheduledConfig sc;
  sc.name = "night";
  ScheduledAction a;
  a.name = "shrink";
  a.at = 15s;
  a.max = 3;
  a.desired = 1;
  sc.actions = {a};
  loop.add_policy(std::make_unique<ScheduledPolicy>(sc));
  loop.set_origin(5s);
  sched.run_until(10s);
  loop.tick();
  CHECK(group.desired() == 9);
  sched.run_until(20s);
  loop.tick();
  const DecisionRecord& r = loop.records().back();
  CHECK(group.desired() == 1);
  CHECK(group.state().max == 3);
  CHECK(r.max_after == 3);
  CHECK(r.logged());
  CHECK(r.reason.find("night: scheduled action shrink") == 0);
}
