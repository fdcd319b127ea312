#pragma once
// Internal to the balancer's .cpp files (it includes Asio): one IO thread of the proxy. Each has
// its own io_context, pickers, view of the target groups, upstream pools and counters, so the
// request path takes no lock shared with another thread. The one lock an IO thread takes on the
// request path is its own histogram lock, which only stats() readers share.
//
// Deadlines are checked by one sweep per thread (sweep()), not by a timer per operation; the
// same sweep closes the pooled connections that went idle too long or died.
//
// Threading: everything here runs on the thread's own io_context, but for the members marked
// otherwise; the control side reaches a thread by posting to `io`.
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "balancer/balancer.h"
#include "balancer/counters.h"
#include "balancer/handler_pool.h"
#include "balancer/picker.h"
#include "balancer/retry.h"
#include "balancer/route_table.h"
#include "balancer/upstream_pool.h"
#include "core/histogram.h"
#include "core/random.h"

namespace flotilla::proxy {

// What set_target_group() publishes: immutable, shared by every IO thread.
struct TargetSpec {
  std::string id;
  tcp::endpoint address;
  std::uint32_t weight = 1;
  std::shared_ptr<TargetCounters> counters;
  std::uint32_t failure_streak = 0;   // BalancerTarget's
  std::uint32_t share_percent = 100;  // BalancerTarget's
};
struct TargetSnapshot {
  std::uint64_t serial = 0;  // TargetCounterRegistry::Published::serial
  std::vector<TargetSpec> targets;
};

// One IO thread's view of a target. `outstanding` counts this thread's requests only: with N
// threads, least_outstanding_requests balances each thread's share of the traffic on its own,
// which needs no state shared between threads.
struct LocalTarget {
  std::string id;
  tcp::endpoint address;
  std::uint32_t weight = 1;
  std::shared_ptr<TargetCounters> counters;
  std::uint32_t failure_streak = 0;   // BalancerTarget's
  std::uint32_t share_percent = 100;  // BalancerTarget's
  std::uint32_t outstanding = 0;
  UpstreamPool idle;
  bool removed = false;
};

// One IO thread's view of a target group.
struct LocalGroup {
  std::unique_ptr<Picker> picker;
  std::vector<std::shared_ptr<LocalTarget>> targets;
  GroupCounters counters;
  LatencyHistogram response_time;  // guarded by IoThread::histogram_lock
};

// Keeps an io_context's run() going while it has nothing to do (the TS work guard is disabled
// by BOOST_ASIO_NO_TS_EXECUTORS).
using WorkGuard = decltype(asio::prefer(std::declval<asio::io_context::executor_type>(),
                                        asio::execution::outstanding_work.tracked));

class Session;

struct IoThread {
  IoThread(int index, const BalancerConfig& config, const RouteTable& routes,
           const std::vector<std::string>& algorithms, std::uint64_t seed);

  // Switches group `group` to `snapshot`: targets kept by id and endpoint (with the new
  // weight), new ones added, removed ones marked and their idle connections closed. Requests in
  // flight keep their own reference to a removed target and finish.
  void apply(std::size_t group, std::shared_ptr<const TargetSnapshot> snapshot);
  // Checks every session's deadline and the idle pools every `period`.
  void start_sweep(Duration period);
  void sweep();
  // Closes every session and idle connection; nothing new starts.
  void shutdown();
  // The graceful stop (Balancer::stop_accepting()): from now on every answer closes its
  // connection, and idle sessions are closed now.
  void stop_accepting();

  const int index;
  const BalancerConfig& config;
  const RouteTable& routes;
  const RetryPolicy retry_policy;
  std::string listener_port;  // as written into X-Forwarded-Port
  HandlerPool handler_pool;   // declared before `io`, which gives its blocks back as it goes
  asio::io_context io;
  std::optional<WorkGuard> guard;
  std::thread thread;
  SeededRandom random;
  ThreadCounters counters;
  std::vector<LocalGroup> groups;  // fixed at construction, by group index
  SpinLock histogram_lock;         // guards groups[*].response_time
  std::vector<PickCandidate> candidates;
  std::vector<Session*> sessions;
  int active_requests = 0;  // exchanges in progress (the retry budget's base)
  int active_retries = 0;   // of which hold a retry budget slot
  // The serial of the last snapshot applied, for any group; read by the control side.
  std::atomic<std::uint64_t> applied_serial{0};
  asio::steady_timer sweep_timer;
  Duration sweep_period{1s};
  bool stopping = false;
  bool draining = false;  // stop_accepting() ran here: answers close their connections
};

}  // namespace flotilla::proxy
