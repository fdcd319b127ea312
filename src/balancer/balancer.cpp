// The balancer's public face: configuration checks, the IO threads' start and stop, publishing
// target sets to them and assembling stats from their counters. The proxy itself is in
// io_thread.*, listener.* and proxy_session.* (balancer.h lists the rooms).
#include "balancer/balancer.h"

#include <algorithm>
#include <atomic>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <cassert>
#include <future>
#include <limits>
#include <mutex>
#include <optional>
#include <thread>

#include "balancer/counters.h"
#include "balancer/io_thread.h"
#include "balancer/listener.h"
#include "balancer/picker.h"
#include "balancer/route_table.h"
#include "core/errors.h"
#include "core/random.h"

namespace flotilla {

namespace {

namespace asio = boost::asio;
using proxy::IoThread;

void validate(const BalancerConfig& config) {
  if (config.threads < 1) throw UserError("balancer: threads must be at least 1");
  if (config.max_retries < 0) throw UserError("balancer: max_retries must be at least 0");
  if (!(config.retry_budget_percent >= 0 && config.retry_budget_percent <= 100)) {
    throw UserError("balancer: retry_budget_percent must be 0-100");
  }
  if (config.retry_budget_min_concurrency < 0) {
    throw UserError("balancer: retry_budget_min_concurrency must be at least 0");
  }
  if (config.max_header_bytes < 1024) {
    throw UserError("balancer: max_header_bytes must be at least 1024");
  }
}

// The group names and their algorithms, by group index, of a valid configuration. Group 0 is
// "default"; its algorithm may be overridden by a target_groups entry.
std::vector<std::string> checked_group_names(const BalancerConfig& config,
                                             std::vector<std::string>& algorithms) {
  validate(config);
  std::vector<std::string> names = {std::string(kDefaultTargetGroup)};
  algorithms = {config.algorithm};
  for (const auto& g : config.target_groups) {
    if (g.name.empty()) throw UserError("balancer: a target group needs a name");
    if (g.name == kDefaultTargetGroup) {
      algorithms[0] = g.algorithm;
      continue;
    }
    if (std::find(names.begin(), names.end(), g.name) != names.end()) {
      throw UserError("balancer: target group \"" + g.name + "\" is configured twice");
    }
    names.push_back(g.name);
    algorithms.push_back(g.algorithm);
  }
  for (const auto& algorithm : algorithms) make_picker(algorithm, 0);  // UserError if unknown
  return names;
}

}  // namespace

struct Balancer::Impl {
  explicit Impl(BalancerConfig c)
      : config(std::move(c)),
        group_names(checked_group_names(config, algorithms)),
        routes(config.routing, group_names),
        registry(config.threads) {
    SeededRandom seeds(config.seed);
    for (int i = 0; i < config.threads; ++i) {
      threads.push_back(
          std::make_unique<IoThread>(i, config, routes, algorithms, seeds.next_u64()));
    }
  }

  std::size_t group_index(const std::string& name) const {
    const auto it = std::find(group_names.begin(), group_names.end(), name);
    if (it == group_names.end()) {
      throw UserError("balancer: unknown target group \"" + name + "\"");
    }
    return static_cast<std::size_t>(it - group_names.begin());
  }

  // The lowest snapshot serial every IO thread has switched to.
  std::uint64_t applied_everywhere() const {
    std::uint64_t lowest = std::numeric_limits<std::uint64_t>::max();
    for (const auto& t : threads) {
      lowest = std::min(lowest, t->applied_serial.load(std::memory_order_acquire));
    }
    return lowest;
  }

  BalancerConfig config;
  std::vector<std::string> algorithms;   // by group index
  std::vector<std::string> group_names;  // index = group index
  proxy::RouteTable routes;
  proxy::TargetCounterRegistry registry;
  std::vector<std::unique_ptr<IoThread>> threads;
  std::optional<proxy::Listener> listener;  // on threads[0]
  std::atomic<std::uint16_t> port{0};
  bool started = false;
  bool stopped = false;
  bool draining = false;  // stop_accepting() was called
};

Balancer::Balancer(BalancerConfig config) : impl_(std::make_unique<Impl>(std::move(config))) {}

Balancer::~Balancer() { stop(); }

void Balancer::start() {
  Impl& m = *impl_;
  assert(!m.started);
  // Started only once listening: after a start() that threw (the port in use), stop() and
  // stop_accepting() have no IO thread to wait for.
  m.listener.emplace(m.threads, m.config.host, m.config.port);
  m.started = true;
  m.port = m.listener->port();

  const Duration shortest =
      std::min({m.config.connect_timeout, m.config.response_timeout, m.config.client_idle_timeout,
                m.config.request_header_timeout});
  // About once a second; more often only when a configured timeout is short.
  const Duration sweep = std::clamp<Duration>(shortest / 2, 5ms, 1s);
  for (auto& t : m.threads) {
    t->listener_port = std::to_string(m.port.load());
    t->guard.emplace(asio::prefer(t->io.get_executor(), asio::execution::outstanding_work.tracked));
    IoThread* raw = t.get();
    asio::post(t->io, [raw, sweep] { raw->start_sweep(sweep); });
  }
  m.listener->start();
  for (auto& t : m.threads) {
    IoThread* raw = t.get();
    t->thread = std::thread([raw] { raw->io.run(); });
  }
}

std::uint16_t Balancer::port() const { return impl_->port.load(); }

void Balancer::stop() {
  Impl& m = *impl_;
  if (!m.started || m.stopped) return;
  m.stopped = true;
  for (std::size_t i = 0; i < m.threads.size(); ++i) {
    IoThread* raw = m.threads[i].get();
    asio::post(raw->io, [&m, raw, i] {
      if (i == 0) m.listener->close();
      raw->shutdown();
    });
  }
  for (auto& t : m.threads) t->guard.reset();
  for (auto& t : m.threads) {
    if (t->thread.joinable()) t->thread.join();
  }
}

void Balancer::stop_accepting() {
  Impl& m = *impl_;
  if (!m.started || m.stopped || m.draining) return;
  m.draining = true;
  // The listener lives on thread 0; waiting for it to close there means that a connect after
  // this call returns is refused.
  std::promise<void> closed;
  asio::post(m.threads[0]->io, [&m, &closed] {
    m.listener->close();
    closed.set_value();
  });
  for (auto& t : m.threads) {
    IoThread* raw = t.get();
    asio::post(t->io, [raw] { raw->stop_accepting(); });
  }
  closed.get_future().wait();
}

void Balancer::set_target_group(const std::string& name, std::vector<BalancerTarget> targets) {
  Impl& m = *impl_;
  const std::size_t group = m.group_index(name);
  auto snapshot = std::make_shared<proxy::TargetSnapshot>();
  std::vector<std::string> ids;
  ids.reserve(targets.size());
  for (auto& target : targets) {
    boost::system::error_code ec;
    const auto address = asio::ip::make_address(target.endpoint.host, ec);
    assert(!ec && "target endpoints are IP addresses");
    if (ec) continue;
    ids.push_back(target.id);
    snapshot->targets.push_back(
        proxy::TargetSpec{std::move(target.id), proxy::tcp::endpoint(address, target.endpoint.port),
                          target.weight, nullptr, target.failure_streak, target.share_percent});
  }
  auto published = m.registry.publish(group, ids, m.applied_everywhere());
  snapshot->serial = published.serial;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    snapshot->targets[i].counters = std::move(published.counters[i]);
  }
  std::shared_ptr<const proxy::TargetSnapshot> shared = std::move(snapshot);
  for (auto& t : m.threads) {
    IoThread* raw = t.get();
    asio::post(t->io, [raw, group, shared] { raw->apply(group, shared); });
  }
}

std::vector<std::string> Balancer::target_group_names() const { return impl_->group_names; }

BalancerStats Balancer::stats() const {
  const Impl& m = *impl_;
  BalancerStats s;
  for (const auto& name : m.group_names) s.groups[name];
  for (const auto& t : m.threads) {
    t->counters.add_to(s);
    for (std::size_t g = 0; g < m.group_names.size(); ++g) {
      t->groups[g].counters.add_to(s.groups[m.group_names[g]]);
    }
    std::lock_guard lock(t->histogram_lock);
    for (std::size_t g = 0; g < m.group_names.size(); ++g) {
      s.groups[m.group_names[g]].target_response_time.merge(t->groups[g].response_time);
    }
  }
  for (const auto& [name, group] : s.groups) {
    s.target_response_time.merge(group.target_response_time);
  }
  m.registry.add_to(s, m.group_names);
  return s;
}

TargetLoad Balancer::target_load(const std::string& id) const { return impl_->registry.load(id); }

}  // namespace flotilla
