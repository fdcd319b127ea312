#pragma once
// Test support for GET /metrics's page: an input with something in every part, and the page's
// families as its # TYPE lines name them.
#include <chrono>
#include <map>
#include <sstream>
#include <string>

#include <doctest/doctest.h>

#include "serve/metrics_page.h"

namespace flotilla::test {

// A group mid scale-out, targets in several health states, one removed target still finishing
// requests, traffic and a running load.
inline MetricsPageInput populated_input() {
  using namespace std::chrono_literals;
  MetricsPageInput in;
  in.group.name = "web";
  in.group.min = 1;
  in.group.max = 6;
  in.group.desired = 5;
  in.group.pending = 1;
  in.group.in_service = 2;
  in.group.draining = 1;
  in.group.terminating = 1;

  in.target_group = "web-targets";
  auto target = [](const char* id, std::uint16_t port, TargetState state) {
    TargetInfo t;
    t.id = id;
    t.endpoint = {"127.0.0.1", port};
    t.state = state;
    return t;
  };
  in.targets = {
      target("w-1", 4001, TargetState::kHealthy), target("w-2", 4002, TargetState::kUnhealthy),
      target("w-3", 4003, TargetState::kDraining), target("w-4", 4004, TargetState::kHealthy)};
  in.targets[1].reason = "Target.FailedHealthChecks";
  in.targets[3].ejected = true;

  BalancerStats& b = in.balancer;
  b.requests = 130;
  b.responses_2xx = 100;
  b.responses_3xx = 1;
  b.responses_4xx = 2;
  b.responses_5xx = 5;
  b.elb_2xx = 4;
  b.elb_4xx = 1;
  b.elb_5xx = 3;
  b.elb_400 = 1;
  b.elb_502 = 1;
  b.elb_503 = 2;
  b.target_connection_errors = 2;
  b.retries = 4;
  b.retry_budget_exhausted = 1;
  b.active_connections = 6;
  b.new_connections = 9;
  b.accept_pauses = 3;
  b.target_response_time.record(2ms);
  b.target_response_time.record(20ms);
  b.target_response_time.record(200ms);
  auto& w1 = b.targets["w-1"];
  w1.requests = 100;
  w1.outstanding = 2;
  w1.responses_2xx = 95;
  w1.responses_5xx = 5;
  auto& w2 = b.targets["w-2"];
  w2.requests = 10;
  w2.errors = 3;
  w2.target_connection_errors = 2;
  auto& w9 = b.targets["w-9"];  // removed from the target group, a request still in flight
  w9.requests = 7;
  w9.outstanding = 1;
  w9.responses_2xx = 6;

  LoadSnapshot load;
  load.started = true;
  load.sent = 103;
  load.ok = 90;
  load.errors = 10;
  load.by_kind[LoadErrorKind::kHttp5xx] = 6;
  load.by_kind[LoadErrorKind::kConnectError] = 4;
  load.in_flight = 3;
  load.latency.record_n(4ms, 90);
  in.load = load;
  in.load_rate_rps = 50;
  in.scaling_activities = 7;
  in.start_time = std::chrono::system_clock::time_point(1'800'000'000s + 250ms);
  return in;
}

// Family name -> type ("counter", "gauge", "histogram"), from the page's # TYPE lines; a name
// typed twice is a failed CHECK.
inline std::map<std::string, std::string> family_types(const std::string& page) {
  std::map<std::string, std::string> types;
  std::istringstream lines(page);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("# TYPE ", 0) != 0) continue;
    std::istringstream words(line.substr(7));
    std::string name, type;
    words >> name >> type;
    CHECK_MESSAGE(types.emplace(name, type).second, "typed twice: " << name);
  }
  return types;
}

// The family a sample's metric name belongs to: the histogram X for X_bucket, X_sum and
// X_count when `types` has X as a histogram, else the name itself.
inline std::string family_of(const std::string& name,
                             const std::map<std::string, std::string>& types) {
  for (const std::string suffix : {"_bucket", "_sum", "_count"}) {
    if (name.size() <= suffix.size() || !name.ends_with(suffix)) continue;
    const auto base = types.find(name.substr(0, name.size() - suffix.size()));
    if (base != types.end() && base->second == "histogram") return base->first;
  }
  return name;
}

}  // namespace flotilla::test
