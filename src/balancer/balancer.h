#pragma once
// Balancer: the data plane, an HTTP/1.1 reverse proxy (AWS: an Application Load Balancer's
// listener with its rules). It accepts client connections, routes each request by the listener
// rules (routing.h) to a target group or a fixed response, picks a target of that group with the
// group's Picker, forwards the request's received bytes (with hop-by-hop headers removed and
// X-Forwarded-For/-Proto/-Port/-Host added) over a pooled keep-alive upstream connection, and
// streams the response back.
//
// Retries (retry.h has the rules): a request is tried again on a different target of its group
// when the connection fails, is reset or closes before any response byte, up to max_retries and
// while the retry budget allows; never once a response byte reached the client, and a
// non-idempotent request (not GET, HEAD, OPTIONS, PUT, DELETE, TRACE) only when none of its bytes
// can have reached the target (the connect failed). A pooled connection found closed before use
// is not a retry: it is dropped and another one used.
//
// The balancer's own answers: 400 (malformed or ambiguous framing: see proxy_http.h), 408 (the
// request header did not arrive within request_header_timeout; then the connection closes),
// 413 (body over max_body_bytes), 431 (header over max_header_bytes), 502 (a target's response
// was malformed, or the target vanished after receiving the request), 503 (no target, or none
// could be connected to), 504 (no response header within response_timeout). They never name a
// target. Every 4xx from the balancer closes the connection except for fixed responses.
//
// The code, by room: listener.* (accept and hand-off to the IO threads), io_thread.* (one IO
// thread: its io_context, its view of the target groups, the deadline sweep), proxy_session.*
// (one client connection), upstream_pool.* (pooled keep-alive connections to targets),
// retry.* (whether a failed attempt is tried again), own_responses.* (what the balancer answers
// itself), counters.* (per-thread counters and the stats assembled from them), route_table.*
// (the routing rules compiled for the IO threads), byte_buffer.h.
//
// Threading: N IO threads, each with its own io_context, pickers, upstream pools and counters;
// no lock is shared between IO threads. start(), stop(), stop_accepting(), set_targets() and
// set_target_group() are called from one control thread; stats(), target_load() and port() may be
// called from any thread but an IO thread.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "balancer/data_plane.h"
#include "balancer/routing.h"
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

class Balancer final : public DataPlane {
 public:
  // Unknown algorithm, threads < 1, max_retries < 0, a retry budget outside 0-100 %, a bad or
  // duplicate group name, routing that validate_routing() refuses or that forwards to a group
  // not configured -> UserError.
  explicit Balancer(BalancerConfig config);
  ~Balancer() override;  // calls stop()
  Balancer(const Balancer&) = delete;
  Balancer& operator=(const Balancer&) = delete;

  // Binds and starts the IO threads. Port in use -> UserError("balancer: HOST:PORT is already in
  // use"). Call once.
  void start() override;
  // The bound port (after start()).
  std::uint16_t port() const;
  // Closes the listener and every connection, joins the threads. Idempotent.
  void stop() override;
  // The graceful stop of data_plane.h: closes the listener (on IO thread 0, and waits for it, so
  // that a connect after this returns is refused) and asks each IO thread to close its idle
  // client connections and to answer what it has in flight with `Connection: close`. A
  // connection still in the kernel's accept queue is reset by the close. A
  // connection accepted but with no request yet is kept until its first request (served and
  // closed) or request_header_timeout; so is one whose next request's bytes are already there.
  void stop_accepting() override;

  // Replaces a group's routable set. Each IO thread switches to it when it next runs; requests
  // in flight on a removed target finish, and its idle pooled connections are closed. A target
  // is the same one if its id and endpoint are (its weight may change). Unknown group ->
  // UserError.
  //
  // A removed target's counters stay while it has requests in flight: stats() reports it and
  // target_load() counts them; once idle it is reported no more. Its counters are freed by the
  // first set_target_group() call (for any group) that finds it idle after every IO thread
  // switched to a set without it, so that no request can reach it any more. A target named
  // again before that keeps counting where it was; one named again after starts from zero.
  void set_target_group(const std::string& name, std::vector<BalancerTarget> targets) override;
  // The configured group names: "default" first, then BalancerConfig::target_groups.
  std::vector<std::string> target_group_names() const;
  BalancerStats stats() const override;
  // Allocates nothing: sums the id's in-flight requests and failure streaks over IO threads and
  // groups, and takes the largest consecutive failure count among them. A streak is counted on
  // one IO thread: each thread keeps its own run of failures per target, as its own
  // consecutive_failures, so no counter is shared between threads on the response path.
  TargetLoad target_load(const std::string& id) const override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace flotilla
