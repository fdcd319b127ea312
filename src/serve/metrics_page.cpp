#include "serve/metrics_page.h"

#include <array>
#include <set>
#include <string_view>
#include <tuple>

#include "metrics/prometheus_text.h"

namespace flotilla {

namespace {

using prom::ExpositionPage;
using prom::Labels;

constexpr std::array<TargetState, 5> kTargetStates = {TargetState::kInitial, TargetState::kHealthy,
                                                      TargetState::kUnhealthy,
                                                      TargetState::kDraining, TargetState::kUnused};

double number(std::uint64_t v) { return static_cast<double>(v); }

// Whole seconds and the fraction apart: nanoseconds since 1970 do not fit a double's 53 bits.
double unix_seconds(std::chrono::system_clock::time_point t) {
  const auto whole = std::chrono::floor<std::chrono::seconds>(t);
  return static_cast<double>(whole.time_since_epoch().count()) +
         std::chrono::duration<double>(t - whole).count();
}

void group_metrics(ExpositionPage& page, const GroupState& g) {
  const Labels labels = {{"group", g.name}};
  auto gauge = [&](const char* name, const char* help, int value) {
    page.gauge(name, help).add(labels, value);
  };
  gauge("flotilla_group_desired_capacity", "The group's desired capacity.", g.desired);
  gauge("flotilla_group_min_size", "The group's minimum size.", g.min);
  gauge("flotilla_group_max_size", "The group's maximum size.", g.max);
  gauge("flotilla_group_in_service_instances", "Workers in service.", g.in_service);
  gauge("flotilla_group_pending_instances", "Workers launched and not yet in service.", g.pending);
  gauge("flotilla_group_terminating_instances",
        "Workers draining or terminating (GroupTerminatingInstances).", g.draining + g.terminating);
  gauge("flotilla_group_total_instances", "Workers pending, in service, draining or terminating.",
        g.pending + g.in_service + g.draining + g.terminating);
}

void target_metrics(ExpositionPage& page, const MetricsPageInput& in) {
  const TargetHealthCounts counts = count_targets(in.targets);
  const Labels group = {{"target_group", in.target_group}};
  page.gauge("flotilla_target_group_healthy_targets",
             "Targets passing health checks (HealthyHostCount; ejected ones included).")
      .add(group, number(counts.healthy));
  page.gauge("flotilla_target_group_unhealthy_targets",
             "Targets failing health checks (UnHealthyHostCount).")
      .add(group, number(counts.unhealthy));

  auto& healthy = page.gauge("flotilla_target_healthy", "1 if the target is healthy, else 0.");
  auto& state = page.gauge("flotilla_target_state",
                           "1 for the target's health state (initial, healthy, unhealthy, "
                           "draining, unused), 0 for the others.");
  auto& ejected =
      page.gauge("flotilla_target_ejected", "1 if outlier detection has ejected the target.");
  auto& info = page.gauge("flotilla_target_info", "The target's endpoint; always 1.");
  auto& in_flight = page.gauge("flotilla_target_in_flight", "Requests in flight to the target.");
  auto& requests = page.counter("flotilla_target_requests_total",
                                "Requests routed to the target (a retry counts again).");
  auto& responses =
      page.counter("flotilla_target_responses_total", "The target's responses, by status class.");
  auto& errors = page.counter("flotilla_target_errors_total",
                              "Connect failures, dead connections, timeouts and bad responses.");
  auto& connection_errors = page.counter("flotilla_target_connection_errors_total",
                                         "Connections to the target that failed "
                                         "(TargetConnectionErrorCount).");

  auto traffic = [&](const Labels& labels, const std::string& id) {
    const auto it = in.balancer.targets.find(id);
    const BalancerTargetStats s =
        it == in.balancer.targets.end() ? BalancerTargetStats{} : it->second;
    in_flight.add(labels, static_cast<double>(s.outstanding));
    requests.add(labels, number(s.requests));
    const std::pair<const char*, std::uint64_t> classes[] = {{"2xx", s.responses_2xx},
                                                             {"3xx", s.responses_3xx},
                                                             {"4xx", s.responses_4xx},
                                                             {"5xx", s.responses_5xx}};
    for (const auto& [code, n] : classes) {
      Labels with_code = labels;
      with_code.emplace_back("code", code);
      responses.add(std::move(with_code), number(n));
    }
    errors.add(labels, number(s.errors));
    connection_errors.add(labels, number(s.target_connection_errors));
  };

  std::set<std::string> listed;
  for (const TargetInfo& t : in.targets) {
    // A re-registered id is listed once, as its latest entry would be: the first wins here.
    if (!listed.insert(t.id).second) continue;
    const Labels labels = {{"target_group", in.target_group}, {"target", t.id}};
    healthy.add(labels, t.state == TargetState::kHealthy ? 1 : 0);
    for (TargetState s : kTargetStates) {
      Labels with_state = labels;
      with_state.emplace_back("state", std::string(to_string(s)));
      state.add(std::move(with_state), s == t.state ? 1 : 0);
    }
    ejected.add(labels, t.ejected ? 1 : 0);
    Labels with_endpoint = labels;
    with_endpoint.emplace_back("endpoint", t.endpoint.to_string());
    info.add(std::move(with_endpoint), 1);
    traffic(labels, t.id);
  }
  // Removed from the target group, still finishing requests.
  for (const auto& [id, stats] : in.balancer.targets) {
    if (listed.count(id) != 0) continue;
    const Labels labels = {{"target_group", in.target_group}, {"target", id}};
    healthy.add(labels, 0);
    ejected.add(labels, 0);
    traffic(labels, id);
  }
}

void balancer_metrics(ExpositionPage& page, const BalancerStats& b) {
  page.counter("flotilla_balancer_requests_total", "Complete request headers from clients.")
      .add(number(b.requests));
  auto& responses = page.counter("flotilla_balancer_responses_total",
                                 "Responses to clients by status class: from a target, or the "
                                 "balancer's own.");
  const std::tuple<const char*, std::uint64_t, std::uint64_t> classes[] = {
      {"2xx", b.responses_2xx, b.elb_2xx},
      {"3xx", b.responses_3xx, b.elb_3xx},
      {"4xx", b.responses_4xx, b.elb_4xx},
      {"5xx", b.responses_5xx, b.elb_5xx}};
  for (const auto& [code, target, own] : classes) {
    responses.add({{"code", code}, {"source", "target"}}, number(target));
    responses.add({{"code", code}, {"source", "balancer"}}, number(own));
  }
  auto& error_responses = page.counter("flotilla_balancer_error_responses_total",
                                       "The balancer's own error responses, by status.");
  const std::pair<const char*, std::uint64_t> statuses[] = {
      {"400", b.elb_400}, {"408", b.elb_408}, {"413", b.elb_413}, {"431", b.elb_431},
      {"502", b.elb_502}, {"503", b.elb_503}, {"504", b.elb_504}};
  for (const auto& [code, n] : statuses) error_responses.add({{"code", code}}, number(n));
  page.counter("flotilla_balancer_retries_total", "Requests retried on another target.")
      .add(number(b.retries));
  page.counter("flotilla_balancer_retry_budget_exhausted_total",
               "Retries not made because the retry budget was spent.")
      .add(number(b.retry_budget_exhausted));
  page.counter("flotilla_balancer_target_connection_errors_total",
               "Connections to targets that failed (TargetConnectionErrorCount).")
      .add(number(b.target_connection_errors));
  page.gauge("flotilla_balancer_active_connections", "Client connections open now.")
      .add(static_cast<double>(b.active_connections));
  page.counter("flotilla_balancer_new_connections_total", "Client connections accepted.")
      .add(number(b.new_connections));
  page.counter("flotilla_balancer_accept_pauses_total",
               "Times the listener paused accepting for 100 ms, out of file descriptors or memory.")
      .add(number(b.accept_pauses));
  page.histogram("flotilla_balancer_target_response_time_seconds",
                 "From the request sent to a target to its response header (TargetResponseTime).")
      .add(prom::to_histogram_value(b.target_response_time));
}

void load_metrics(ExpositionPage& page, const MetricsPageInput& in) {
  const LoadSnapshot none;
  const LoadSnapshot& load = in.load ? *in.load : none;
  page.counter("flotilla_load_requests_total",
               "Requests the built-in load generator completed, by outcome (ok: status < 400).")
      .add({{"outcome", "ok"}}, number(load.ok))
      .add({{"outcome", "error"}}, number(load.errors));
  auto& errors = page.counter("flotilla_load_errors_total",
                              "The built-in load generator's failed requests, by kind.");
  for (std::size_t k = 0; k < kLoadErrorKindCount; ++k) {
    const auto kind = static_cast<LoadErrorKind>(k);
    errors.add({{"kind", std::string(to_string(kind))}}, number(load.by_kind[kind]));
  }
  page.gauge("flotilla_load_in_flight_requests", "The built-in load generator's open requests.")
      .add(number(load.in_flight));
  page.gauge("flotilla_load_running", "1 while the built-in load generator is sending.")
      .add(in.load_rate_rps ? 1 : 0);
  page.gauge("flotilla_load_rate_rps",
             "The rate the built-in load generator offers now, in requests per second.")
      .add(in.load_rate_rps.value_or(0));
  page.histogram("flotilla_load_response_time_seconds",
                 "The built-in load generator's successful requests, from the scheduled send "
                 "time to the end of the response.")
      .add(prom::to_histogram_value(load.latency));
}

}  // namespace

std::string metrics_page(const MetricsPageInput& input) {
  ExpositionPage page;
  group_metrics(page, input.group);
  target_metrics(page, input);
  balancer_metrics(page, input.balancer);
  load_metrics(page, input);
  page.counter(
          "flotilla_scaling_activities_total",
          "Scaling activities: changes of desired capacity and replacements of failed workers.")
      .add(number(input.scaling_activities));
  page.gauge("process_start_time_seconds", "When the process started, in seconds since the epoch.")
      .add(unix_seconds(input.start_time));
  return page.text();
}

}  // namespace flotilla
