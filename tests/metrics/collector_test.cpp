#include <doctest/doctest.h>

#include <memory>
#include <vector>

#include "core/virtual_scheduler.h"
#include "metrics/collector.h"

using namespace flotilla;

namespace {

// Answers inline with `value`, or holds the answer until release() when `async`.
class FakeSource : public MetricSource {
 public:
  FakeSource(std::string instance, double value, bool async = false)
      : id_(instance_metric("CPUUtilization", std::move(instance))), value_(value), async_(async) {}

  void collect(Time now, Done done) override {
    asked_at.push_back(now);
    if (async_) {
      held_.push_back(std::move(done));
      return;
    }
    done({{id_, value_}});
  }
  void release() {
    auto held = std::move(held_);
    held_.clear();
    for (auto& d : held) d({{id_, value_}});
  }
  void set_value(double v) { value_ = v; }

  std::vector<Time> asked_at;

 private:
  MetricId id_;
  double value_;
  bool async_;
  std::vector<Done> held_;
};

}  // namespace

TEST_CASE("Collector: each tick stores every source's samples at the tick's time") {
  VirtualScheduler sched;
  MetricStore store;
  Collector collector(sched, store, 10s);
  auto a = std::make_shared<FakeSource>("i-a", 40);
  auto b = std::make_shared<FakeSource>("i-b", 60);
  collector.add_source(a);
  collector.add_source(b);
  collector.start();
  sched.run_until(30s);
  CHECK(a->asked_at == std::vector<Time>{10s, 20s, 30s});
  CHECK(store.datapoints(instance_metric("CPUUtilization", "i-a")) ==
        std::vector<Datapoint>{{10s, 40}, {20s, 40}, {30s, 40}});
  CHECK(store.statistic(instance_metric("CPUUtilization", "i-b"), Statistic::average, 30s, 10s) ==
        60.0);
  CHECK(collector.samples_stored() == 6);
}

TEST_CASE(
    "Collector: a late answer is stamped with the tick that asked, slow sources are not piled up") {
  VirtualScheduler sched;
  MetricStore store;
  Collector collector(sched, store, 10s);
  auto slow = std::make_shared<FakeSource>("i-slow", 70, /*async=*/true);
  collector.add_source(slow);
  collector.start();
  sched.run_until(10s);
  CHECK(collector.in_flight() == 1);
  sched.run_until(20s);  // still outstanding: not asked again
  CHECK(slow->asked_at == std::vector<Time>{10s});
  CHECK(collector.skipped() == 1);
  sched.run_until(25s);
  slow->release();
  CHECK(collector.in_flight() == 0);
  CHECK(store.datapoints(instance_metric("CPUUtilization", "i-slow")) ==
        std::vector<Datapoint>{{10s, 70}});
  sched.run_until(30s);
  CHECK(slow->asked_at == std::vector<Time>{10s, 30s});
}

TEST_CASE("Collector: removed sources are no longer asked but late answers are kept") {
  VirtualScheduler sched;
  MetricStore store;
  Collector collector(sched, store, 5s);
  auto slow = std::make_shared<FakeSource>("i-gone", 10, true);
  const auto id = collector.add_source(slow);
  collector.start();
  sched.run_until(5s);
  CHECK(collector.remove_source(id));
  CHECK_FALSE(collector.remove_source(id));
  sched.run_until(20s);
  CHECK(slow->asked_at.size() == 1);
  slow->release();
  CHECK(store.statistic(instance_metric("CPUUtilization", "i-gone"), Statistic::sum, 5s, 5s) ==
        10.0);
}

TEST_CASE("Collector: an answer after the collector is gone is dropped safely") {
  VirtualScheduler sched;
  MetricStore store;
  auto slow = std::make_shared<FakeSource>("i-x", 10, true);
  {
    Collector collector(sched, store, 5s);
    collector.add_source(slow);
    collector.collect_now();
  }
  slow->release();
  CHECK(store.series_count() == 0);
  CHECK(sched.pending() == 0);  // stopping on destruction cancelled the timer
}

TEST_CASE("Collector: stop() ends the ticks and values change between ticks") {
  VirtualScheduler sched;
  MetricStore store;
  Collector collector(sched, store, 1s);
  auto src = std::make_shared<FakeSource>("i-v", 1);
  collector.add_source(src);
  collector.start(Time(500ms));
  sched.run_until(Time(1500ms));
  src->set_value(2);
  sched.run_until(Time(2500ms));
  collector.stop();
  sched.run_until(10s);
  CHECK(store.datapoints(instance_metric("CPUUtilization", "i-v")) ==
        std::vector<Datapoint>{{Time(500ms), 1}, {Time(1500ms), 1}, {Time(2500ms), 2}});
}
