#pragma once
// The admin server's GET /metrics: the group, its target group, the balancer and the built-in
// load generator as a page of Prometheus text (0.0.4), named as Prometheus names things (base
// units, counters ..._total, no ..._count gauges):
//
//   flotilla_group_{desired_capacity,min_size,max_size,in_service_instances,
//     pending_instances,terminating_instances,total_instances}{group}   gauges; terminating is
//     draining plus terminating, as GroupTerminatingInstances counts it
//   flotilla_target_group_{healthy,unhealthy}_targets{target_group}     gauges (AWS's
//     HealthyHostCount, UnHealthyHostCount; an ejected target counts as healthy)
//   flotilla_target_{healthy,ejected,in_flight}{target_group,target}    gauges
//   flotilla_target_state{target_group,target,state}                    1 for its health state,
//     0 for the four others
//   flotilla_target_info{target_group,target,endpoint}                  1
//   flotilla_target_{requests,errors,connection_errors}_total{target_group,target}
//   flotilla_target_responses_total{target_group,target,code="2xx".."5xx"}
//   flotilla_balancer_requests_total, _retries_total, _retry_budget_exhausted_total,
//     _target_connection_errors_total, _new_connections_total, _accept_pauses_total;
//     _active_connections (gauge)
//   flotilla_balancer_responses_total{code="2xx".."5xx",source="target"|"balancer"}
//   flotilla_balancer_error_responses_total{code="400"|"408"|"413"|"431"|"502"|"503"|"504"}
//   flotilla_balancer_target_response_time_seconds                      histogram
//   flotilla_load_requests_total{outcome="ok"|"error"}, flotilla_load_errors_total{kind}
//   flotilla_load_in_flight_requests, flotilla_load_running, flotilla_load_rate_rps  gauges
//   flotilla_load_response_time_seconds                                 histogram (successful
//     requests, from the scheduled send time)
//   flotilla_scaling_activities_total
//   process_start_time_seconds                                          Unix time
//
// Per-target series cover every target of `targets` and, with healthy 0 and no state or info,
// a removed target that the balancer still reports (requests in flight). The load generator's
// series are there with or without a load: zeros when none has run.
//
// Threading: none; a pure function of its input.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "balancer/data_plane.h"
#include "balancer/target_group.h"
#include "scaling/group_state.h"
#include "scenario/traffic.h"

namespace flotilla {

// What the page shows, each field as its owner hands it out.
struct MetricsPageInput {
  GroupState group;                                             // Group::state()
  std::string target_group = std::string(kDefaultTargetGroup);  // the label's value
  std::vector<TargetInfo> targets;                              // TargetGroup::targets()
  BalancerStats balancer;                                       // DataPlane::stats()
  // The built-in generator's Traffic::snapshot(): its totals and whole-run latency histogram
  // (a snapshot of only the recent seconds has no histogram, and would show none); nullopt
  // when none has run. If serve replaces the generator, its counters start over, which
  // Prometheus's rate() reads as a counter reset.
  std::optional<LoadSnapshot> load;
  // The rate it offers now (requests/s); nullopt when it is not running.
  std::optional<double> load_rate_rps;
  // Group activities since serve started (not only those its log still holds).
  std::uint64_t scaling_activities = 0;
  std::chrono::system_clock::time_point start_time{};  // when the process started
};

std::string metrics_page(const MetricsPageInput& input);

}  // namespace flotilla
