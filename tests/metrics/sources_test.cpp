// The orchestrator's MetricSources (balancer counters, worker /metrics) through a real Collector
// and MetricStore in virtual time: no sockets.
#include <doctest/doctest.h>

#include <memory>
#include <string>

#include "core/virtual_scheduler.h"
#include "metrics/collector.h"
#include "orchestrator/balancer_metrics_source.h"
#include "orchestrator/worker_metrics_source.h"

using namespace flotilla;

namespace {

MetricId tg(const char* name) { return target_group_metric(name, "web-tg"); }

}  // namespace

TEST_CASE("BalancerMetricsSource: counts per interval, per target, and host counts") {
  VirtualScheduler sched;
  MetricStore store;
  Collector collector(sched, store, 10s);
  BalancerStats stats;
  stats.requests = 500;  // before the source existed: not counted
  HostCounts hosts{2, 1};
  auto source = std::make_shared<BalancerMetricsSource>(
      BalancerMetricsConfig{"web-tg", ""}, [&] { return stats; }, [&] { return hosts; });
  collector.add_source(source);
  collector.start();

  struct Interval {
    std::uint64_t requests, r2xx, r5xx, elb502, elb503, elb504;
    HostCounts hosts;
  };
  // Cumulative counters at each tick (10 s, 20 s, 30 s, 40 s).
  const Interval intervals[] = {
      {500 + 100, 90, 10, 0, 0, 0, {2, 1}},
      {500 + 100, 90, 10, 0, 0, 0, {2, 1}},  // idle: zeros, not missing data
      {500 + 400, 350, 40, 3, 2, 1, {3, 0}},
      {50, 50, 0, 0, 0, 0, {0, 3}},  // balancer restarted: counts from zero; no healthy target
  };
  Time t = 0s;
  for (const Interval& i : intervals) {
    stats.requests = i.requests;
    stats.responses_2xx = i.r2xx;
    stats.responses_5xx = i.r5xx;
    stats.elb_502 = i.elb502;
    stats.elb_503 = i.elb503;
    stats.elb_504 = i.elb504;
    hosts = i.hosts;
    t += 10s;
    sched.run_until(t);
  }

  struct Row {
    const char* metric;
    Statistic s;
    Time end;
    std::optional<double> want;
  };
  const Row rows[] = {
      {kMetricRequestCount, Statistic::sum, 10s, 100.0},
      {kMetricRequestCount, Statistic::sum, 20s, 0.0},
      {kMetricRequestCount, Statistic::sum, 30s, 300.0},
      {kMetricRequestCount, Statistic::sum, 40s, 50.0},
      {kMetricRequestCountPerTarget, Statistic::sum, 10s, 50.0},
      {kMetricRequestCountPerTarget, Statistic::sum, 30s, 100.0},
      {kMetricRequestCountPerTarget, Statistic::sum, 40s, std::nullopt},
      {kMetricHealthyHostCount, Statistic::minimum, 30s, 3.0},
      {kMetricUnHealthyHostCount, Statistic::maximum, 40s, 3.0},
      {kMetricTarget2xxCount, Statistic::sum, 30s, 260.0},
      {kMetricTarget5xxCount, Statistic::sum, 10s, 10.0},
      {kMetricTarget5xxCount, Statistic::sum, 30s, 30.0},
      {kMetricElb5xxCount, Statistic::sum, 30s, 6.0},
      {"HTTPCode_ELB_503_Count", Statistic::sum, 30s, 2.0},
  };
  for (const Row& r : rows) {
    const std::string metric = r.metric;
    CAPTURE(metric);
    CAPTURE(r.end);
    CHECK(store.statistic(tg(r.metric), r.s, r.end, 10s) == r.want);
  }
  // A period of several intervals adds the counts up.
  CHECK(store.statistic(tg(kMetricRequestCount), Statistic::sum, 40s, 40s) == 450.0);
  CHECK(store.list(kNamespaceApplicationElb, kMetricRequestCount).size() == 1);
}

TEST_CASE("balancer_samples: LoadBalancer dimensions as AWS publishes them") {
  BalancerStats before, after;
  after.requests = 10;
  after.active_connections = 4;
  after.new_connections = 6;
  const auto samples = balancer_samples({"tg", "app/lb/1"}, before, after, {5, 0});
  auto find = [&](const MetricId& id) -> std::optional<double> {
    for (const Sample& s : samples)
      if (s.id == id) return s.value;
    return std::nullopt;
  };
  CHECK(find(target_group_metric(kMetricRequestCount, "tg")) == 10.0);
  CHECK(find(make_metric_id(
            kNamespaceApplicationElb, kMetricRequestCount,
            {{kDimensionTargetGroup, "tg"}, {kDimensionLoadBalancer, "app/lb/1"}})) == 10.0);
  CHECK(find(make_metric_id(kNamespaceApplicationElb, kMetricRequestCountPerTarget,
                            {{kDimensionLoadBalancer, "app/lb/1"}})) == 2.0);
  CHECK(find(make_metric_id(kNamespaceApplicationElb, "ActiveConnectionCount",
                            {{kDimensionLoadBalancer, "app/lb/1"}})) == 4.0);
  CHECK(find(make_metric_id(kNamespaceApplicationElb, "NewConnectionCount",
                            {{kDimensionLoadBalancer, "app/lb/1"}})) == 6.0);
  // Without a load balancer name: TargetGroup only.
  const auto plain = balancer_samples({"tg", ""}, before, after, {5, 0});
  for (const Sample& s : plain) {
    CAPTURE(s.id.to_string());
    CHECK(s.id.dimensions.size() == 1);
    CHECK(s.id.ns == kNamespaceApplicationElb);
  }
}

TEST_CASE("parse_worker_metrics: gauges, and counters as increases") {
  const std::string first =
      R"({"worker_id":"w-1","in_flight":3,"queued":1,"served":100,"rejected":2,)"
      R"("cpu_utilization":42.5,"capacity":8,"booted":true,"uptime_seconds":3})";
  const std::string second =
      R"({"worker_id":"w-1","in_flight":0,"queued":0,"served":160,"rejected":2,)"
      R"("cpu_utilization":50,"capacity":8,"booted":true,"uptime_seconds":4})";
  auto value = [](const std::vector<Sample>& samples, const MetricId& id) -> std::optional<double> {
    for (const Sample& s : samples)
      if (s.id == id) return s.value;
    return std::nullopt;
  };
  auto worker = [](const char* name) {
    return make_metric_id(kNamespaceFlotillaWorker, name, {{kDimensionInstanceId, "w-1"}});
  };
  WorkerCounters counters;
  const auto a = parse_worker_metrics("w-1", first, &counters);
  CHECK(value(a, instance_metric(kMetricCpuUtilization, "w-1")) == 42.5);
  CHECK(value(a, worker("in_flight")) == 3.0);
  CHECK(value(a, worker("capacity")) == 8.0);
  CHECK(value(a, worker("RequestsServed")) == std::nullopt);  // first answer: a baseline
  const auto b = parse_worker_metrics("w-1", second, &counters);
  CHECK(value(b, worker("RequestsServed")) == 60.0);
  CHECK(value(b, worker("RequestsRejected")) == 0.0);
  // Without counters: gauges only. Garbage: nothing.
  CHECK(value(parse_worker_metrics("w-1", second), worker("RequestsServed")) == std::nullopt);
  CHECK(parse_worker_metrics("w-1", "not json").empty());
  CHECK(parse_worker_metrics("w-1", "[1,2]", &counters).empty());
}

TEST_CASE("latency_increase_seconds: the interval's responses from two cumulative snapshots") {
  LatencyHistogram before, after;
  before.record_n(10ms, 50);
  after.record_n(10ms, 50);
  // The interval: 90 more at 10 ms, 9 at 200 ms, 1 at 2 s.
  after.record_n(10ms, 90);
  after.record_n(200ms, 9);
  after.record(2s);
  const MetricHistogram h = latency_increase_seconds(before, after);
  CHECK(h.count() == 100);
  CHECK(h.percentile(50) == doctest::Approx(0.010).epsilon(0.02));
  CHECK(h.percentile(95) == doctest::Approx(0.200).epsilon(0.02));
  CHECK(h.percentile(100) == doctest::Approx(2.0).epsilon(0.02));
  CHECK(h.mean() == doctest::Approx((0.9 + 1.8 + 2.0) / 100).epsilon(0.02));
  // Nothing new: empty. A reset (fewer values than before): the later snapshot alone.
  CHECK(latency_increase_seconds(after, after).empty());
  LatencyHistogram restarted;
  restarted.record_n(30ms, 7);
  const MetricHistogram r = latency_increase_seconds(after, restarted);
  CHECK(r.count() == 7);
  CHECK(r.percentile(50) == doctest::Approx(0.030).epsilon(0.02));
  // More values but a bucket went down: a reset, the later snapshot alone.
  LatencyHistogram shifted;
  shifted.record_n(1ms, 60);
  CHECK(latency_increase_seconds(before, shifted).count() == 60);
}

TEST_CASE("balancer_samples: a named group, its TargetResponseTime and per-target metrics") {
  BalancerStats before, after;
  BalancerGroupStats& gb = before.groups["api"];
  gb.requests = 10;
  gb.target_response_time.record_n(20ms, 10);
  gb.targets["w-1"].requests = 10;
  gb.targets["w-1"].response_time_sum = 200ms;
  gb.targets["w-1"].response_time_count = 10;
  BalancerGroupStats& ga = after.groups["api"];
  ga = gb;
  ga.requests = 40;
  ga.responses_5xx = 3;
  ga.elb_503 = 2;
  ga.target_response_time.record_n(100ms, 30);
  ga.targets["w-1"].requests = 25;
  ga.targets["w-1"].response_time_sum = 200ms + 15 * 100ms;
  ga.targets["w-1"].response_time_count = 25;
  ga.targets["w-2"].requests = 15;  // new target
  ga.targets["w-2"].response_time_sum = 1500ms;
  ga.targets["w-2"].response_time_count = 15;
  after.requests = 1000;  // other groups' traffic: not this group's
  after.groups["default"].requests = 960;

  const auto samples = balancer_samples({"api-tg", "", "api"}, before, after, {3, 0});
  auto find = [&](const MetricId& id) -> const Sample* {
    for (const Sample& s : samples)
      if (s.id == id) return &s;
    return nullptr;
  };
  auto value = [&](const MetricId& id) -> std::optional<double> {
    const Sample* s = find(id);
    return s ? std::optional<double>(s->value) : std::nullopt;
  };
  CHECK(value(target_group_metric(kMetricRequestCount, "api-tg")) == 30.0);
  CHECK(value(target_group_metric(kMetricRequestCountPerTarget, "api-tg")) == 10.0);
  CHECK(value(target_group_metric(kMetricTarget5xxCount, "api-tg")) == 3.0);
  CHECK(value(target_group_metric(kMetricElb5xxCount, "api-tg")) == 2.0);
  const Sample* trt = find(target_group_metric(kMetricTargetResponseTime, "api-tg"));
  REQUIRE(trt);
  REQUIRE(trt->histogram);
  CHECK(trt->histogram->count() == 30);
  CHECK(trt->histogram->percentile(99) == doctest::Approx(0.100).epsilon(0.02));
  auto target = [](const char* name, const char* id) {
    return make_metric_id(kNamespaceFlotillaTarget, name, {{kDimensionInstanceId, id}});
  };
  CHECK(value(target(kMetricRequestCount, "w-1")) == 15.0);
  CHECK(value(target(kMetricRequestCount, "w-2")) == 15.0);
  CHECK(value(target(kMetricTargetResponseTime, "w-1")) == doctest::Approx(0.1));
  CHECK(value(target(kMetricTargetResponseTime, "w-2")) == doctest::Approx(0.1));

  // No responses in an interval: no TargetResponseTime datapoint.
  const auto idle = balancer_samples({"api-tg", "", "api"}, after, after, {3, 0});
  for (const Sample& s : idle) CHECK(s.id.name != kMetricTargetResponseTime);
}
