// The orchestrator's MetricSources (balancer counters, worker /metrics) through a real Collector
// and MetricStore in virtual time: no sockets.
#include <doctest/doctest.h>

#include <memory>
#include <string>

#include "core/virtual_scheduler.h"
#include "metrics/collector.h"
#include "orchestrator/balancer_metrics_source.h"
#include "orchestrator/worker_metrics_source.h"
#include "worker/status_json.h"
#include "worker/worker_model.h"

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

namespace {

std::optional<double> value_of(const std::vector<Sample>& samples, const MetricId& id) {
  for (const Sample& s : samples)
    if (s.id == id) return s.value;
  return std::nullopt;
}

MetricId worker_metric(const char* name) {
  return make_metric_id(kNamespaceFlotillaWorker, name, {{kDimensionInstanceId, "w-1"}});
}

const MetricId kCpu = instance_metric(kMetricCpuUtilization, "w-1");

}  // namespace

TEST_CASE("parse_worker_reading: every field, missing fields, not an object") {
  const auto full = parse_worker_reading(
      R"({"worker_id":"w-1","in_flight":3,"queued":1,"served":100,"rejected":2,)"
      R"("cpu_utilization":42.5,"capacity":8,"booted":true,"uptime_seconds":3.5,)"
      R"("busy_seconds":1.25})");
  REQUIRE(full);
  CHECK(*full == WorkerReading{3, 1, 8, 100, 2, 1.25, 3.5, 42.5});
  // An older worker without busy_seconds; a field of the wrong type counts as missing.
  const auto partial = parse_worker_reading(R"({"in_flight":"many","served":7,"capacity":2})");
  REQUIRE(partial);
  CHECK(*partial == WorkerReading{std::nullopt, std::nullopt, 2, 7, std::nullopt, std::nullopt,
                                  std::nullopt, std::nullopt});
  CHECK_FALSE(parse_worker_reading("not json"));
  CHECK_FALSE(parse_worker_reading("[1,2]"));
  CHECK(parse_worker_reading("{}") == WorkerReading{});
}

TEST_CASE(
    "worker_samples: CPUUtilization is the average over the interval since the last reading") {
  // A reading with only what CPUUtilization uses.
  auto cpu_reading = [](std::optional<double> busy, std::optional<double> uptime,
                        std::optional<double> capacity,
                        std::optional<double> window = std::nullopt) {
    WorkerReading r;
    r.busy_seconds = busy;
    r.uptime_seconds = uptime;
    r.capacity = capacity;
    r.cpu_utilization = window;
    return r;
  };
  struct Read {
    WorkerReading reading;
    std::optional<double> cpu;  // the datapoint it publishes
  };
  struct Row {
    const char* what;
    std::vector<Read> reads;  // one worker's readings in turn
  };
  const Row rows[] = {
      {"busy for 1 s of a 60 s interval",
       {{cpu_reading(10, 100, 1, 90), 10.0}, {cpu_reading(11, 160, 1, 90), 100.0 / 60}}},
      {"busy slot-seconds over capacity x seconds",
       {{cpu_reading(0, 5, 4), 0.0}, {cpu_reading(120, 65, 4), 50.0}}},
      {"first reading: the average since the worker started, not its window",
       {{cpu_reading(3, 10, 2, 90), 15.0}}},
      {"restarted (uptime went down): the average since it started again",
       {{cpu_reading(50, 100, 1), 50.0},
        {cpu_reading(1, 5, 1), 20.0},
        {cpu_reading(4, 15, 1), 30.0}}},
      {"busy_seconds went down: a restart too",
       {{cpu_reading(50, 100, 1), 50.0}, {cpu_reading(10, 200, 1), 5.0}}},
      {"no time passed since the last reading: the average since the start",
       {{cpu_reading(5, 10, 1), 50.0}, {cpu_reading(5, 10, 1), 50.0}}},
      {"a reading without busy_seconds: the worker's window; the next averages over both intervals",
       {{cpu_reading(10, 100, 1), 10.0},
        {cpu_reading(std::nullopt, 160, 1, 70), 70.0},
        {cpu_reading(40, 200, 1, 70), 30.0}}},
      {"no capacity: the worker's window", {{cpu_reading(10, 100, std::nullopt, 33), 33.0}}},
      {"capacity 0: the worker's window", {{cpu_reading(10, 100, 0, 33), 33.0}}},
      {"nothing about CPU: no datapoint", {{cpu_reading(std::nullopt, 100, 1), std::nullopt}}},
      {"uptime 0: the worker's window, or nothing",
       {{cpu_reading(0, 0, 1, 0), 0.0}, {cpu_reading(0, 0, 1), std::nullopt}}},
      {"more busy than capacity allows: clamped to 100",
       {{cpu_reading(0, 10, 1), 0.0}, {cpu_reading(30, 20, 1), 100.0}}},
  };
  for (const Row& row : rows) {
    CAPTURE(std::string(row.what));
    WorkerBaseline baseline;
    int n = 0;
    for (const Read& read : row.reads) {
      CAPTURE(n++);
      const auto got = value_of(worker_samples("w-1", read.reading, baseline), kCpu);
      REQUIRE(got.has_value() == read.cpu.has_value());
      if (got) CHECK(*got == doctest::Approx(*read.cpu));
    }
  }
}

TEST_CASE("worker_samples: gauges, and counters as increases") {
  WorkerReading first{3, 1, 8, 100, 2, 0.5, 3, 42.5};
  WorkerReading second{0, 0, 8, 160, 2, 2.5, 4, 50};
  WorkerBaseline baseline;
  const auto a = worker_samples("w-1", first, baseline);
  CHECK(value_of(a, worker_metric("in_flight")) == 3.0);
  CHECK(value_of(a, worker_metric("queued")) == 1.0);
  CHECK(value_of(a, worker_metric("capacity")) == 8.0);
  CHECK(value_of(a, worker_metric("RequestsServed")) == std::nullopt);  // first: a baseline
  CHECK(value_of(a, worker_metric("RequestsRejected")) == std::nullopt);
  const auto b = worker_samples("w-1", second, baseline);
  CHECK(value_of(b, worker_metric("RequestsServed")) == 60.0);
  CHECK(value_of(b, worker_metric("RequestsRejected")) == 0.0);
  CHECK(value_of(b, kCpu).value_or(-1) == doctest::Approx(100.0 * 2 / 8));
  // Without `rejected`: no counters, and the baseline stays for the next complete reading.
  WorkerReading partial = second;
  partial.served = 170;
  partial.rejected.reset();
  const auto c = worker_samples("w-1", partial, baseline);
  CHECK(value_of(c, worker_metric("RequestsServed")) == std::nullopt);
  CHECK(value_of(c, worker_metric("in_flight")) == 0.0);
  WorkerReading third = second;
  third.served = 175;
  third.rejected = 5;
  const auto d = worker_samples("w-1", third, baseline);
  CHECK(value_of(d, worker_metric("RequestsServed")) == 15.0);
  CHECK(value_of(d, worker_metric("RequestsRejected")) == 3.0);
  // Restarted: counters went down, so they count from zero.
  WorkerReading restarted{1, 0, 8, 9, 1, 0.1, 1, 10};
  const auto e = worker_samples("w-1", restarted, baseline);
  CHECK(value_of(e, worker_metric("RequestsServed")) == 9.0);
  CHECK(value_of(e, worker_metric("RequestsRejected")) == 1.0);
  CHECK(value_of(e, kCpu).value_or(-1) == doctest::Approx(100.0 * 0.1 / 8));
  // An empty reading publishes nothing.
  WorkerBaseline fresh;
  CHECK(worker_samples("w-1", WorkerReading{}, fresh).empty());
}

TEST_CASE("worker_samples: a model's status gives the same samples as its /metrics JSON") {
  WorkerProfile profile;
  profile.capacity = 2;
  profile.queue_limit = 1;
  profile.boot_time = 1s;
  WorkerModel model(profile);
  WorkerBaseline live, simulated;
  auto same = [&](Time now) {
    const WorkerStatus status = model.status(now);
    const auto reading = parse_worker_reading(worker_status_json("w-1", status));
    REQUIRE(reading);
    CHECK(*reading == worker_reading(status));
    const auto from_json = worker_samples("w-1", *reading, live);
    const auto from_model = worker_samples("w-1", worker_reading(status), simulated);
    REQUIRE(from_json.size() == from_model.size());
    for (std::size_t i = 0; i < from_json.size(); ++i) {
      CAPTURE(from_json[i].id.to_string());
      CHECK(from_json[i].id == from_model[i].id);
      CHECK(from_json[i].value == from_model[i].value);
    }
    return from_model;
  };
  model.admit(500ms);  // booting: rejected
  same(900ms);
  CHECK(model.admit(1s) == Admission::kServe);
  CHECK(model.admit(1300ms) == Admission::kServe);
  CHECK(model.admit(1400ms) == Admission::kQueued);
  CHECK(model.finish(1700ms));
  const auto samples = same(3s);
  // Since the reading at 0.9 s: slot one busy 1 s - 3 s (its work, then the queued one), slot two
  // 1.3 s - 3 s: 3.7 of 2 x 2.1 slot-seconds.
  const auto cpu = value_of(samples, kCpu);
  REQUIRE(cpu);
  CHECK(*cpu == doctest::Approx(100.0 * 3.7 / 4.2));
  CHECK(value_of(samples, worker_metric("RequestsServed")) == 1.0);
  CHECK(value_of(samples, worker_metric("RequestsRejected")) == 0.0);
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
