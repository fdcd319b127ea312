#pragma once
// Balancer: the data plane, an HTTP/1.1 reverse proxy (AWS: an Application Load Balancer's
// listener with its rules). It accepts client connections, routes each request by the listener
// rules (routing.h) to a target group or a fixed response, picks a target of that group with the
// group's Picker, forwards the request's received bytes (with hop-by-hop headers removed and
// X-Forwarded-For/-Proto/-Port/-Host added) over a pooled keep-alive upstream connection, and
// streams the response back.
//
// Retries: a request is tried again on a different target of its group when the connection
// fails, is reset or closes before any response byte, up to max_retries and while the retry
// budget allows; never once a response byte reached the client, and a non-idempotent request
// (not GET, HEAD, OPTIONS, PUT, DELETE, TRACE) only when none of its bytes can have reached the
// target (the connect failed). A pooled connection found closed before use is not a retry: it is
// dropped and another one used.
//
// The balancer's own answers: 400 (malformed or ambiguous framing: see proxy_http.h), 408 (the
// request header did not arrive within request_header_timeout; then the connection closes),
// 413 (body over max_body_bytes), 431 (header over max_header_bytes), 502 (a target's response
// was malformed, or the target vanished after receiving the request), 503 (no target, or none
// could be connected to), 504 (no response header within response_timeout). They never name a
// target. Every 4xx from the balancer closes the connection except for fixed responses.
//
// Threading: N IO threads, each with its own io_context, pickers, upstream pools and counters;
// no lock is shared between IO threads. start(), stop(), set_targets() and set_target_group()
// are called from one control thread; stats() and port() may be called from any thread but an
// IO thread.
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "balancer/routing.h"
#include "core/endpoint.h"
#include "core/histogram.h"
#include "core/time.h"

namespace flotilla {

// A target group the routing rules may forward to, besides "default".
struct BalancerGroupConfig {
  std::string name;
  std::string algorithm = "round_robin";  // a make_picker() name
};

struct BalancerConfig {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;  // 0: the OS picks one; read it back with Balancer::port()
  int threads = 1;
  std::string algorithm = "round_robin";  // the default group's (unless target_groups names it)
  std::vector<BalancerGroupConfig> target_groups;
  RoutingConfig routing;  // no rules: every request goes to the default group

  Duration connect_timeout = 1s;    // per upstream connect; then another target is tried
  Duration response_timeout = 30s;  // request sent -> response header; then 504
  // A keep-alive client connection with no request in progress is closed after this.
  Duration client_idle_timeout = 60s;
  // From a request's first byte (or a new connection's accept) to the end of its header; then
  // 408 and close, so that slow clients (slowloris) cannot hold connections. HAProxy's
  // `timeout http-request`.
  Duration request_header_timeout = 10s;
  std::uint32_t max_header_bytes = 16 * 1024;  // request header; more -> 431
  std::uint64_t max_body_bytes = 0;            // request body; more -> 413. 0: no limit (ALB)

  int max_retries = 2;  // extra targets tried for one request
  // Retry budget (Envoy's): retries in flight on an IO thread may be at most this share of its
  // requests in flight, but always at least retry_budget_min_concurrency. Only retries that add
  // load count: those after a request may have reached a target (reset, closed before
  // answering). A retry after a failed connect replaces a request nobody received and is free.
  // 50% (Envoy: 20%): when one target of a group of 3 or more dies, everything that was in flight
  // to it (1/N of the requests) is retried; at 20% a 4-target group lost a few requests in the
  // failover benchmark.
  double retry_budget_percent = 50.0;
  int retry_budget_min_concurrency = 3;

  std::uint64_t seed = 1;  // picker rotation starts and weighted forwards, per IO thread
};

struct BalancerTarget {
  std::string id;
  Endpoint endpoint;
  std::uint32_t weight = 1;  // share for weighted pickers; 0 = no new requests
  bool operator==(const BalancerTarget&) const = default;
};

// Per target, with AWS's metric names where there is one.
struct BalancerTargetStats {
  std::uint64_t requests = 0;       // RequestCount: attempts routed here (a retry counts again)
  std::int64_t outstanding = 0;     // requests in flight to it now
  std::uint64_t errors = 0;         // connect failures, dead connections, timeouts, bad responses
  std::uint64_t responses_2xx = 0;  // HTTPCode_Target_2XX_Count ...
  std::uint64_t responses_3xx = 0;
  std::uint64_t responses_4xx = 0;
  std::uint64_t responses_5xx = 0;
  std::uint64_t target_connection_errors = 0;  // TargetConnectionErrorCount
  // Connect errors, resets, timeouts, bad responses or 5xx in a row, reset by any other
  // response. Counted per IO thread; this is the largest thread's count (passive outlier
  // detection polls it).
  std::uint64_t consecutive_failures = 0;
  // TargetResponseTime: request sent -> response header received, summed over responses.
  Duration response_time_sum{};
  std::uint64_t response_time_count = 0;
};

struct BalancerGroupStats {
  std::uint64_t requests = 0;       // RequestCount: requests routed to the group
  std::uint64_t responses_2xx = 0;  // HTTPCode_Target_2XX_Count ...
  std::uint64_t responses_3xx = 0;
  std::uint64_t responses_4xx = 0;
  std::uint64_t responses_5xx = 0;
  std::uint64_t elb_502 = 0;  // the balancer's answers to this group's requests
  std::uint64_t elb_503 = 0;
  std::uint64_t elb_504 = 0;
  std::uint64_t target_connection_errors = 0;
  std::uint64_t retries = 0;
  LatencyHistogram target_response_time;               // TargetResponseTime
  std::map<std::string, BalancerTargetStats> targets;  // current ones, and removed ones in use
};

// Counters since start(). Every field is a sum over IO threads, read without stopping them, so a
// snapshot may be a few requests out of step between fields.
struct BalancerStats {
  std::uint64_t requests = 0;       // RequestCount: complete request headers from clients
  std::uint64_t responses_2xx = 0;  // HTTPCode_Target_2XX_Count: responses from targets ...
  std::uint64_t responses_3xx = 0;
  std::uint64_t responses_4xx = 0;
  std::uint64_t responses_5xx = 0;
  // Answers from the balancer itself. elb_2xx..elb_5xx (HTTPCode_ELB_*XX_Count) count all of
  // them by class, fixed responses included; the others count single statuses.
  std::uint64_t elb_2xx = 0;
  std::uint64_t elb_3xx = 0;
  std::uint64_t elb_4xx = 0;
  std::uint64_t elb_5xx = 0;
  std::uint64_t elb_400 = 0;                   // malformed or ambiguous request
  std::uint64_t elb_408 = 0;                   // request header too slow
  std::uint64_t elb_413 = 0;                   // body too large
  std::uint64_t elb_431 = 0;                   // header too large
  std::uint64_t elb_502 = 0;                   // bad or vanished target response
  std::uint64_t elb_503 = 0;                   // no target could be reached
  std::uint64_t elb_504 = 0;                   // response timeout
  std::uint64_t target_connection_errors = 0;  // TargetConnectionErrorCount
  std::uint64_t retries = 0;
  std::uint64_t retry_budget_exhausted = 0;  // retries not made because of the budget
  std::int64_t active_connections = 0;       // ActiveConnectionCount: client connections now
  std::uint64_t new_connections = 0;         // NewConnectionCount: client connections accepted
  LatencyHistogram target_response_time;     // TargetResponseTime, every group's
  // Every group's targets by id (an id in several groups: summed, consecutive_failures the max).
  std::map<std::string, BalancerTargetStats> targets;
  std::map<std::string, BalancerGroupStats> groups;  // every configured group, "default" too
};

class Balancer {
 public:
  // Unknown algorithm, threads < 1, max_retries < 0, a retry budget outside 0-100 %, a bad or
  // duplicate group name, routing that validate_routing() refuses or that forwards to a group
  // not configured -> UserError.
  explicit Balancer(BalancerConfig config);
  ~Balancer();  // calls stop()
  Balancer(const Balancer&) = delete;
  Balancer& operator=(const Balancer&) = delete;

  // Binds and starts the IO threads. Port in use -> UserError("balancer: HOST:PORT is already in
  // use"). Call once.
  void start();
  // The bound port (after start()).
  std::uint16_t port() const;
  // Closes the listener and every connection, joins the threads. Idempotent.
  void stop();

  // Replaces a group's routable set. Each IO thread switches to it when it next runs; requests
  // in flight on a removed target finish, and its idle pooled connections are closed. A target
  // is the same one if its id and endpoint are (its weight may change). Unknown group ->
  // UserError.
  void set_target_group(const std::string& name, std::vector<BalancerTarget> targets);
  // set_target_group("default", targets).
  void set_targets(std::vector<BalancerTarget> targets);
  // The configured group names: "default" first, then BalancerConfig::target_groups.
  std::vector<std::string> target_group_names() const;
  BalancerStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace flotilla
