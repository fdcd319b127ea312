#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "metrics/metric_id.h"
#include "metrics/metric_store.h"

using namespace flotilla;

namespace {

// One statistic of one series over (end - period, end], and what it should be.
struct StatRow {
  const char* name;
  Statistic s;
  Time end;
  Duration period;
  std::optional<double> want;
};

// Exact comparison, or within `epsilon` (relative) when it is not zero.
template <std::size_t N>
void check_rows(const MetricStore& store, const MetricId& id, const StatRow (&rows)[N],
                double epsilon = 0) {
  for (const StatRow& r : rows) {
    const std::string row = r.name;
    CAPTURE(row);
    const auto got = store.statistic(id, r.s, r.end, r.period);
    REQUIRE(got.has_value() == r.want.has_value());
    if (!r.want) continue;
    if (epsilon == 0)
      CHECK(*got == *r.want);
    else
      CHECK(*got == doctest::Approx(*r.want).epsilon(epsilon));
  }
}

}  // namespace

TEST_CASE("MetricId: dimension order does not matter once canonical") {
  const MetricId a = make_metric_id("AWS/EC2", "CPUUtilization", {{"b", "2"}, {"a", "1"}});
  const MetricId b = make_metric_id("AWS/EC2", "CPUUtilization", {{"a", "1"}, {"b", "2"}});
  CHECK(a == b);
  CHECK(std::hash<MetricId>{}(a) == std::hash<MetricId>{}(b));
  CHECK(a.to_string() == "AWS/EC2 CPUUtilization{a=1,b=2}");
  const MetricId c = make_metric_id("AWS/EC2", "CPUUtilization", {{"a", "1"}, {"b", "3"}});
  CHECK(a != c);
  CHECK(a < c);
  std::unordered_set<MetricId> set{a, b, c};
  CHECK(set.size() == 2);
  CHECK(instance_metric("CPUUtilization", "i-1").to_string() ==
        "AWS/EC2 CPUUtilization{InstanceId=i-1}");
}

TEST_CASE("MetricStore: a non-canonical id reaches the same series") {
  MetricStore store;
  MetricId unsorted{"ns", "m", {{"z", "1"}, {"a", "2"}}};
  store.put(unsorted, 1s, 5);
  CHECK(store.contains(make_metric_id("ns", "m", {{"a", "2"}, {"z", "1"}})));
  CHECK(store.statistic(unsorted, Statistic::sum, 1s, 1s) == 5.0);
  CHECK(store.series_count() == 1);
}

TEST_CASE("MetricStore: statistics over the half-open period ending at end") {
  MetricStore store;
  const MetricId id = make_metric_id("ns", "m");
  // Datapoints at 10, 20, 30, 40 s with values 1, 2, 3, 10.
  store.put(id, 10s, 1);
  store.put(id, 20s, 2);
  store.put(id, 30s, 3);
  store.put(id, 40s, 10);

  const StatRow rows[] = {
      {"average of all", Statistic::average, 40s, 40s, 4.0},
      {"sum of all", Statistic::sum, 40s, 40s, 16.0},
      {"minimum", Statistic::minimum, 40s, 40s, 1.0},
      {"maximum", Statistic::maximum, 40s, 40s, 10.0},
      {"sample count", Statistic::sample_count, 40s, 40s, 4.0},
      {"start is exclusive", Statistic::sum, 40s, 30s, 15.0},  // (10, 40]: 2 + 3 + 10
      {"end is inclusive", Statistic::sum, 30s, 10s, 3.0},     // (20, 30]
      {"window between points", Statistic::average, 29s, 5s, std::nullopt},
      {"before any data", Statistic::average, 5s, 5s, std::nullopt},
      {"sample count of nothing is no datapoint", Statistic::sample_count, 100s, 10s, std::nullopt},
      {"after all data", Statistic::maximum, 60s, 15s, std::nullopt},
      {"one point", Statistic::average, 20s, 1s, 2.0},
  };
  check_rows(store, id, rows);
  CHECK(store.statistic(make_metric_id("ns", "unknown"), Statistic::sum, 40s, 40s) == std::nullopt);
}

TEST_CASE("MetricStore: consecutive periods oldest first with gaps") {
  MetricStore store;
  const MetricId id = make_metric_id("ns", "m");
  store.put(id, 1s, 10);
  store.put(id, 2s, 20);
  store.put(id, 2s, 40);
  store.put(id, 4s, 5);
  const auto v = store.statistics(id, Statistic::average, 4s, 1s, 4);
  REQUIRE(v.size() == 4);
  CHECK(v[0] == 10.0);  // (0, 1]
  CHECK(v[1] == 30.0);  // (1, 2]
  CHECK(v[2] == std::nullopt);
  CHECK(v[3] == 5.0);
}

TEST_CASE("MetricStore: retention by count drops the oldest") {
  MetricStore store(3);
  const MetricId id = make_metric_id("ns", "m");
  for (int i = 1; i <= 5; ++i) store.put(id, i * 1s, i);
  const auto points = store.datapoints(id);
  REQUIRE(points.size() == 3);
  CHECK(points[0] == Datapoint{3s, 3});
  CHECK(points[2] == Datapoint{5s, 5});
  CHECK(store.statistic(id, Statistic::sample_count, 10s, 10s) == 3.0);
  // Older than everything retained in a full ring: dropped.
  store.put(id, 1s, 100);
  CHECK(store.datapoints(id).front() == Datapoint{3s, 3});
}

TEST_CASE("MetricStore: prune_before drops the series nobody wrote to since the cutoff") {
  MetricStore store;
  const MetricId gone = instance_metric("CPUUtilization", "i-1");  // a worker long gone
  const MetricId live = instance_metric("CPUUtilization", "i-2");
  const MetricId group = group_metric("AWS/AutoScaling", "GroupDesiredCapacity", "g");
  for (int i = 1; i <= 10; ++i) {
    store.put(live, i * 1min, i);
    store.put(group, i * 1min, 2);
    if (i <= 3) store.put(gone, i * 1min, i);
  }
  store.put(group, 11min, 2);
  struct Row {
    Time cutoff;
    std::size_t dropped;
    bool gone_kept, live_kept, group_kept;
  };
  // Cumulative, in order: each row prunes the store the previous rows left.
  const Row rows[] = {
      {Time(2min), 0, true, true, true},          // every series has a datapoint since
      {Time(3min), 0, true, true, true},          // the newest at the cutoff itself is not older
      {Time(3min + 1s), 1, false, true, true},    // the gone worker's stopped at 3 min
      {Time(10min + 1s), 1, false, false, true},  // the live one's last was at 10 min
      {Time(1h), 1, false, false, false},
  };
  for (const Row& r : rows) {
    CAPTURE(r.cutoff.count());
    CHECK(store.prune_before(r.cutoff) == r.dropped);
    CHECK(store.contains(gone) == r.gone_kept);
    CHECK(store.contains(live) == r.live_kept);
    CHECK(store.contains(group) == r.group_kept);
  }
  CHECK(store.series_count() == 0);
  // A series written again after its prune starts over.
  store.put(live, 2h, 5);
  CHECK(store.datapoints(live) == std::vector<Datapoint>{{2h, 5}});
}

TEST_CASE("DatapointRing: late datapoints are inserted in time order") {
  DatapointRing ring(4);
  ring.push({10s, 1});
  ring.push({30s, 3});
  ring.push({20s, 2});
  ring.push({30s, 4});  // same time: after the earlier one
  REQUIRE(ring.size() == 4);
  CHECK(ring[0] == Datapoint{10s, 1});
  CHECK(ring[1] == Datapoint{20s, 2});
  CHECK(ring[2] == Datapoint{30s, 3});
  CHECK(ring[3] == Datapoint{30s, 4});
  ring.push({25s, 9});  // full: the oldest goes
  CHECK(ring[0] == Datapoint{20s, 2});
  CHECK(ring[1] == Datapoint{25s, 9});
  CHECK(ring[3] == Datapoint{30s, 4});
  CHECK(ring.first_after(25s) == 2);
  CHECK(ring.first_after(0s) == 0);
  CHECK(ring.first_after(30s) == 4);
}

TEST_CASE("MetricStore: list filters by namespace and name") {
  MetricStore store;
  store.put(instance_metric("CPUUtilization", "i-2"), 1s, 1);
  store.put(instance_metric("CPUUtilization", "i-1"), 1s, 1);
  store.put(group_metric("AWS/AutoScaling", "GroupDesiredCapacity", "g"), 1s, 1);
  CHECK(store.list().size() == 3);
  const auto cpu = store.list("AWS/EC2", "CPUUtilization");
  REQUIRE(cpu.size() == 2);
  CHECK(cpu[0] == instance_metric("CPUUtilization", "i-1"));
  CHECK(store.list("AWS/AutoScaling").size() == 1);
}

TEST_CASE("MetricStore: percentiles over scalar datapoints are the exact nearest rank") {
  MetricStore store;
  const MetricId id = make_metric_id("AWS/EC2", "CPUUtilization");
  // One datapoint every 10 s: 10, 20, ..., 100 at 10 s .. 100 s.
  for (int i = 1; i <= 10; ++i) store.put(id, i * 10s, i * 10.0);
  const StatRow rows[] = {
      {"p50 of ten", Statistic::percentile_of(50), 100s, 100s, 50.0},
      {"p90 of ten", Statistic::percentile_of(90), 100s, 100s, 90.0},
      {"p99 of ten is the max", Statistic::percentile_of(99), 100s, 100s, 100.0},
      {"p99.9 of ten", Statistic::percentile_of(99.9), 100s, 100s, 100.0},
      {"p0 is the min", Statistic::percentile_of(0), 100s, 100s, 10.0},
      {"p50 over a period of 3 intervals", Statistic::percentile_of(50), 60s, 30s, 50.0},
      {"p10 over a period of 3 intervals", Statistic::percentile_of(10), 60s, 30s, 40.0},
      {"no data", Statistic::percentile_of(50), 200s, 30s, std::nullopt},
  };
  check_rows(store, id, rows);
}

TEST_CASE("MetricStore: distribution datapoints merge across periods") {
  MetricStore store;
  const MetricId id = target_group_metric(kMetricTargetResponseTime, "tg");
  // Period 1: 90 fast responses (10 ms) and 10 slow ones (1 s). Period 2: 100 at 20 ms.
  MetricHistogram first;
  first.record(0.010, 90);
  first.record(1.0, 10);
  MetricHistogram second;
  second.record(0.020, 100);
  store.put(id, 10s, first);
  store.put(id, 20s, second);
  store.put(id, 30s, MetricHistogram{});  // no requests: no datapoint
  CHECK(store.datapoints(id).size() == 2);
  CHECK(store.datapoints(id)[0].value == doctest::Approx(0.109));  // the mean

  const StatRow rows[] = {
      {"sample count counts values", Statistic::sample_count, 20s, 20s, 200.0},
      {"sum", Statistic::sum, 20s, 20s, 0.9 + 10 + 2},
      {"average over values, not datapoints", Statistic::average, 20s, 20s, 12.9 / 200},
      {"minimum", Statistic::minimum, 20s, 20s, 0.010},
      {"maximum", Statistic::maximum, 10s, 10s, 1.0},
      {"p90 of the first period", Statistic::percentile_of(90), 10s, 10s, 0.010},
      {"p91 of the first period", Statistic::percentile_of(91), 10s, 10s, 1.0},
      {"p50 of both", Statistic::percentile_of(50), 20s, 20s, 0.020},
      {"p95 of both", Statistic::percentile_of(95), 20s, 20s, 0.020},
      {"p96 of both", Statistic::percentile_of(96), 20s, 20s, 1.0},
      {"p99.9 of the second", Statistic::percentile_of(99.9), 20s, 10s, 0.020},
      {"empty period", Statistic::percentile_of(50), 30s, 10s, std::nullopt},
  };
  check_rows(store, id, rows, 0.01);
  // A scalar in the window joins the merge.
  store.put(id, 20s, 5.0);
  CHECK(store.statistic(id, Statistic::maximum, 20s, 10s) == 5.0);
  CHECK(store.statistic(id, Statistic::sample_count, 20s, 10s) == 101.0);
  CHECK(store.statistic(id, Statistic::percentile_of(100), 20s, 10s) == 5.0);
  CHECK(store.histogram(id, 20s, 20s).count() == 201);
}

TEST_CASE("MetricStore: memory stays bounded by retention with distributions") {
  MetricStore store(8);
  const MetricId id = make_metric_id("ns", "latency");
  for (int i = 1; i <= 100; ++i) {
    MetricHistogram h;
    h.record(i * 0.001, 3);
    store.put(id, i * 1s, h);
  }
  const auto points = store.datapoints(id);
  REQUIRE(points.size() == 8);
  CHECK(points.front().t == 93s);
  REQUIRE(points.front().histogram);
  CHECK(points.front().histogram->count() == 3);
  CHECK(store.statistic(id, Statistic::sample_count, 100s, 100s) == 24.0);
}
