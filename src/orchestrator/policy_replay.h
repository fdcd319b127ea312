#pragma once
// PolicyReplay: scaling policies run over a recorded load in virtual time, through the real
// ScalingLoop and Group, over workers that serve nothing. `flotilla policy replay` runs one
// policy file over a recorded metric with it (replay_recorded_metric below), and the golden tests
// run every shipped policy file over a recorded load.
//
// Timeline (virtual time from 0, the group's creation):
// - The group starts at 0 and launches its desired capacity. A launched worker announces itself
//   `boot` after its launch and goes in service at once (its health check passes then); a
//   stopped worker exits (exit 0) `exit_after_stop` after stop(). Nothing else happens to a
//   worker: the provider is a fleet of idle workers, not the simulated world's (sim/), because a
//   replay dictates the metric instead of modelling the load that would produce it.
// - Period k (0 <= k < periods) ends at first_period_end + k x period. At that time the feed
//   writes the period's datapoints into the store, then the loop evaluates the period
//   evaluation_delay later. The feed always runs before the loop's evaluation of the same
//   period, so an evaluation_delay of 0 is fine.
// - Policies read scenario time 0 (ScalingPolicy::set_origin) at `origin`.
//
// Threading: one thread; run() drives the virtual scheduler to the last evaluation and returns.
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "core/virtual_scheduler.h"
#include "metrics/metric_store.h"
#include "orchestrator/metric_file.h"
#include "scaling/group.h"
#include "scaling/scaling_loop.h"

namespace flotilla {

struct ReplayTiming {
  Duration period = std::chrono::seconds(60);
  Duration evaluation_delay = Duration::zero();
  Time first_period_end{};  // > 0: the group is created before the first period ends
  Time origin{};
  std::size_t periods = 0;
  Duration boot = Duration::zero();
  Duration exit_after_stop = Duration::zero();
};

// What the feed gets for one period: write the datapoints that the workers and the balancer
// would have published for it, stamped `end`.
struct ReplayPeriod {
  std::size_t index;
  Time end;
  const GroupState& group;  // as it is at the period's end
  const ScalingLoop& loop;  // its policies and alarms say which metrics are read
  MetricStore& store;
};
using ReplayFeed = std::function<void(const ReplayPeriod&)>;

class PolicyReplay {
 public:
  // `group` must satisfy Group's limits (0 <= min <= desired <= max).
  PolicyReplay(GroupConfig group, ReplayTiming timing, ReplayFeed feed);
  ~PolicyReplay();
  PolicyReplay(const PolicyReplay&) = delete;
  PolicyReplay& operator=(const PolicyReplay&) = delete;

  // Before run().
  void add_policy(std::unique_ptr<ScalingPolicy> policy);
  // Runs every period, once.
  void run();

  const ScalingLoop& loop() const { return loop_; }
  const Group& group() const { return group_; }
  const ReplayTiming& timing() const { return timing_; }

 private:
  class IdleFleet;

  ReplayTiming timing_;
  ReplayFeed feed_;
  VirtualScheduler scheduler_;
  MetricStore store_;
  std::unique_ptr<IdleFleet> fleet_;
  Group group_;
  std::size_t next_period_ = 0;
  PeriodicTask feed_task_;
  ScalingLoop loop_;
};

// --- `flotilla policy replay` ---------------------------------------------------------------

// The group a recorded metric is replayed on: `capacity` workers in service at the start.
struct ReplayCapacity {
  int min = 1;
  int max = 10;
  int capacity = 1;
};

// Virtual time of a recorded metric's first row: the group is created this long before it, so
// that the starting workers are past any warm-up and no cooldown runs from the group's creation
// (the group had been running before the recording started).
inline constexpr Duration kReplayLeadIn = std::chrono::hours(24);

// Replays `policy` (loaded at time scale 1) over `metric`, at the metric's own period:
// - The group ("replay") starts with `capacity` workers in service and applies every decision;
//   a launched worker is in service at once (the policy's warm-up keeps it out of the metric,
//   ScalingLoop's rule), a removed one leaves service at once.
// - The metric is taken as measured: for each period with a row, every in-service worker
//   reports the row's value as its CPUUtilization and as any per-worker metric the policy reads
//   (so the group average is the row's value), and every other metric the policy or its alarms
//   read (RequestCountPerTarget, a customized metric, an alarm's metric) is the row's value as
//   is. A period without a row is missing data.
// - Row k is the period ending at kReplayLeadIn + k x period: the loop evaluates it with the
//   row's own timestamp as the evaluation time (recorded_time_label).
// UserError when an alarm's Period is shorter than the metric's (the alarm would only see
// missing data).
std::unique_ptr<PolicyReplay> replay_recorded_metric(std::unique_ptr<ScalingPolicy> policy,
                                                     const RecordedMetric& metric,
                                                     const ReplayCapacity& capacity);
// The origin to pass decisions_json so that its times are the file's, in seconds (Unix seconds
// for RFC 3339 timestamps): a decision's `t` is the timestamp of the newest row it used.
Time recorded_time_origin(const RecordedMetric& metric);
// A replay time as the metric file writes its timestamps ("2026-11-24T09:03:00Z", "180").
std::string recorded_time_label(const RecordedMetric& metric, Time t);

}  // namespace flotilla
