#include "orchestrator/balancer_metrics_source.h"

#include <cassert>
#include <cstdint>
#include <map>

namespace flotilla {

namespace {

double increase(std::uint64_t before, std::uint64_t after) {
  return static_cast<double>(counter_increase(before, after));
}

// A LatencyHistogram's non-empty buckets: (bucket index -> count).
std::map<std::size_t, std::uint64_t> latency_buckets(const LatencyHistogram& h) {
  std::map<std::size_t, std::uint64_t> out;
  for (std::size_t i = 0; i < LatencyHistogram::kBucketCount; ++i)
    if (const std::uint64_t n = h.bucket_count(i); n != 0) out[i] = n;
  return out;
}

}  // namespace

MetricHistogram latency_increase_seconds(const LatencyHistogram& before,
                                         const LatencyHistogram& after) {
  MetricHistogram out;
  if (after.count() == before.count()) return out;
  auto buckets = latency_buckets(after);
  if (after.count() > before.count()) {
    auto earlier = latency_buckets(before);
    bool reset = false;
    for (const auto& [bucket, n] : earlier) {
      auto it = buckets.find(bucket);
      if (it == buckets.end() || it->second < n) {
        reset = true;
        break;
      }
    }
    if (!reset)
      for (const auto& [bucket, n] : earlier) buckets[bucket] -= n;
  }
  for (const auto& [bucket, n] : buckets) {
    if (n == 0) continue;
    // The last bucket is open-ended: its values are best told by the maximum.
    const double micros = bucket + 1 >= LatencyHistogram::kBucketCount
                              ? static_cast<double>(after.max().count()) / 1000.0
                              : (static_cast<double>(LatencyHistogram::bucket_lower(bucket)) +
                                 static_cast<double>(LatencyHistogram::bucket_upper(bucket))) /
                                    2.0;
    out.record(micros / 1e6, n);
  }
  return out;
}

std::vector<Sample> balancer_samples(const BalancerMetricsConfig& config,
                                     const BalancerStats& before, const BalancerStats& after,
                                     HostCounts hosts) {
  using Dimensions = std::vector<std::pair<std::string, std::string>>;
  std::vector<Dimensions> target_group_dims{{{kDimensionTargetGroup, config.target_group}}};
  const Dimensions lb{{kDimensionLoadBalancer, config.load_balancer}};
  if (!config.load_balancer.empty()) {
    target_group_dims.push_back({{kDimensionLoadBalancer, config.load_balancer},
                                 {kDimensionTargetGroup, config.target_group}});
    target_group_dims.push_back(lb);
  }

  // The group's counters, or the balancer's totals when it has no such group.
  BalancerGroupStats totals_before, totals_after;
  auto group_of = [&](const BalancerStats& s, BalancerGroupStats& totals) {
    if (auto it = s.groups.find(config.balancer_group); it != s.groups.end()) return &it->second;
    totals.requests = s.requests;
    totals.responses_2xx = s.responses_2xx;
    totals.responses_3xx = s.responses_3xx;
    totals.responses_4xx = s.responses_4xx;
    totals.responses_5xx = s.responses_5xx;
    totals.elb_502 = s.elb_502;
    totals.elb_503 = s.elb_503;
    totals.elb_504 = s.elb_504;
    totals.target_connection_errors = s.target_connection_errors;
    totals.target_response_time = s.target_response_time;
    totals.targets = s.targets;
    return static_cast<const BalancerGroupStats*>(&totals);
  };
  const BalancerGroupStats& b = *group_of(before, totals_before);
  const BalancerGroupStats& a = *group_of(after, totals_after);

  std::vector<Sample> out;
  auto publish = [&](const char* name, double value) {
    for (const Dimensions& dims : target_group_dims)
      out.emplace_back(make_metric_id(kNamespaceApplicationElb, name, dims), value);
  };
  auto count = [&](const char* name, std::uint64_t BalancerGroupStats::*field) {
    publish(name, increase(b.*field, a.*field));
  };

  const double requests = increase(b.requests, a.requests);
  publish(kMetricRequestCount, requests);
  if (hosts.healthy > 0) publish(kMetricRequestCountPerTarget, requests / hosts.healthy);
  publish(kMetricHealthyHostCount, hosts.healthy);
  publish(kMetricUnHealthyHostCount, hosts.unhealthy);
  count(kMetricTarget2xxCount, &BalancerGroupStats::responses_2xx);
  count(kMetricTarget3xxCount, &BalancerGroupStats::responses_3xx);
  count(kMetricTarget4xxCount, &BalancerGroupStats::responses_4xx);
  count(kMetricTarget5xxCount, &BalancerGroupStats::responses_5xx);
  count("HTTPCode_ELB_502_Count", &BalancerGroupStats::elb_502);
  count("HTTPCode_ELB_503_Count", &BalancerGroupStats::elb_503);
  count("HTTPCode_ELB_504_Count", &BalancerGroupStats::elb_504);
  const double elb_5xx = increase(b.elb_502, a.elb_502) + increase(b.elb_503, a.elb_503) +
                         increase(b.elb_504, a.elb_504);
  for (const Dimensions& dims : target_group_dims)
    if (dims != lb)
      out.emplace_back(make_metric_id(kNamespaceApplicationElb, kMetricElb5xxCount, dims), elb_5xx);
  count("TargetConnectionErrorCount", &BalancerGroupStats::target_connection_errors);
  MetricHistogram response_times =
      latency_increase_seconds(b.target_response_time, a.target_response_time);
  if (!response_times.empty())
    for (const Dimensions& dims : target_group_dims)
      out.emplace_back(make_metric_id(kNamespaceApplicationElb, kMetricTargetResponseTime, dims),
                       response_times);

  for (const auto& [id, t] : a.targets) {
    static const BalancerTargetStats kNone{};
    auto prev = b.targets.find(id);
    const BalancerTargetStats& p = prev == b.targets.end() ? kNone : prev->second;
    auto target = [&id = id](const char* name) {
      return make_metric_id(kNamespaceFlotillaTarget, name, {{kDimensionInstanceId, id}});
    };
    out.emplace_back(target(kMetricRequestCount), increase(p.requests, t.requests));
    out.emplace_back(target(kMetricTarget5xxCount), increase(p.responses_5xx, t.responses_5xx));
    out.emplace_back(target("TargetConnectionErrorCount"),
                     increase(p.target_connection_errors, t.target_connection_errors));
    if (t.response_time_count > p.response_time_count && t.response_time_sum >= p.response_time_sum)
      out.emplace_back(target(kMetricTargetResponseTime),
                       to_seconds(t.response_time_sum - p.response_time_sum) /
                           static_cast<double>(t.response_time_count - p.response_time_count));
  }

  if (!config.load_balancer.empty()) {
    out.emplace_back(make_metric_id(kNamespaceApplicationElb, "ActiveConnectionCount", lb),
                     static_cast<double>(after.active_connections));
    out.emplace_back(make_metric_id(kNamespaceApplicationElb, "NewConnectionCount", lb),
                     increase(before.new_connections, after.new_connections));
    out.emplace_back(make_metric_id(kNamespaceApplicationElb, kMetricElb4xxCount, lb),
                     increase(before.elb_4xx, after.elb_4xx));
    out.emplace_back(make_metric_id(kNamespaceApplicationElb, kMetricElb5xxCount, lb),
                     increase(before.elb_5xx, after.elb_5xx));
  }
  return out;
}

BalancerMetricsSource::BalancerMetricsSource(BalancerMetricsConfig config, StatsFn stats,
                                             HostsFn hosts)
    : config_(std::move(config)), stats_(std::move(stats)), hosts_(std::move(hosts)) {
  assert(!config_.target_group.empty() && stats_ && hosts_);
  previous_ = stats_();
}

void BalancerMetricsSource::collect(Time, Done done) {
  BalancerStats now = stats_();
  std::vector<Sample> samples = balancer_samples(config_, previous_, now, hosts_());
  previous_ = std::move(now);
  done(std::move(samples));
}

}  // namespace flotilla
