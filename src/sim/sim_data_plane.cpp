#include "sim/sim_data_plane.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <optional>

#include "core/errors.h"

namespace flotilla {

namespace {

// Attempts one request may make; a larger max_retries is cut to this in the simulation.
constexpr int kMaxAttempts = 16;

void count_class(int status, std::uint64_t& c2, std::uint64_t& c3, std::uint64_t& c4,
                 std::uint64_t& c5) {
  switch (status / 100) {
    case 2:
      ++c2;
      break;
    case 3:
      ++c3;
      break;
    case 4:
      ++c4;
      break;
    default:
      ++c5;
      break;
  }
}

}  // namespace

struct SimDataPlane::Target {
  std::string id;
  Endpoint endpoint;
  std::uint32_t weight = 1;
  SimWorker* worker = nullptr;  // the worker behind the endpoint when it was published
  int index = -1;               // in current_; -1 once removed from the routable set
  std::int64_t outstanding = 0;
  BalancerTargetStats stats;         // its `outstanding` is filled in when read
  std::uint32_t failure_streak = 0;  // as published
  std::uint32_t share_percent = 100;  // as published
  std::uint32_t toward_streak = 0;   // failure_makes_streak()'s
  std::uint64_t failure_streaks = 0;

  // As the balancer's per-thread counters count them (counters.h).
  void count_failure() {
    ++stats.consecutive_failures;
    if (failure_makes_streak(toward_streak, failure_streak)) ++failure_streaks;
  }
  void count_success() {
    stats.consecutive_failures = 0;
    toward_streak = 0;
  }
};

struct SimDataPlane::Request {
  std::uint64_t client_token = 0;
  Sender* sender = nullptr;  // who is answered
  Target* target = nullptr;  // of the attempt in progress
  Time sent_at{};
  std::uint32_t generation = 0;
  int attempts = 0;
  AttemptFailure last_failure = AttemptFailure::kNone;
  bool holds_budget_slot = false;
  bool in_use = false;
  std::array<Target*, kMaxAttempts> tried{};
};

SimDataPlane::SimDataPlane(VirtualScheduler& scheduler, SimFleet& fleet, SimDataPlaneConfig config)
    : scheduler_(scheduler),
      fleet_(fleet),
      config_(std::move(config)),
      picker_(make_picker(config_.algorithm, config_.seed)) {
  if (config_.retry.max_retries < 0) throw UserError("balancer: max_retries must be at least 0");
  requests_.reserve(1024);
}

SimDataPlane::~SimDataPlane() = default;

void SimDataPlane::start() {
  const Duration period = std::clamp<Duration>(config_.response_timeout / 2, 5ms, 1s);
  sweep_ = std::make_unique<PeriodicTask>(scheduler_, period, [this] { sweep(); });
  sweep_->start();
}

void SimDataPlane::stop() { sweep_.reset(); }

void SimDataPlane::stop_accepting() { accepting_ = false; }

void SimDataPlane::sweep() {
  const Time now = scheduler_.now();
  for (std::uint32_t r = 0; r < requests_.size(); ++r) {
    Request& q = requests_[r];
    if (!q.in_use || q.target == nullptr || now - q.sent_at < config_.response_timeout) continue;
    // As the balancer: the attempt counts against its target, and the client gets 504.
    ++q.target->stats.errors;
    q.target->count_failure();
    release_target(q);
    give_up(r, 504);
  }
}

std::uint64_t SimDataPlane::token_of(std::uint32_t r) const {
  return (std::uint64_t{requests_[r].generation} << 32) | r;
}

std::optional<std::uint32_t> SimDataPlane::request_of(std::uint64_t token) const {
  const auto r = static_cast<std::uint32_t>(token & 0xffffffffu);
  if (r >= requests_.size()) return std::nullopt;
  const Request& q = requests_[r];
  if (!q.in_use || q.generation != static_cast<std::uint32_t>(token >> 32)) return std::nullopt;
  return r;
}

std::uint32_t SimDataPlane::allocate() {
  std::uint32_t r;
  if (!free_requests_.empty()) {
    r = free_requests_.back();
    free_requests_.pop_back();
  } else {
    r = static_cast<std::uint32_t>(requests_.size());
    requests_.emplace_back();
  }
  // Only what a request reads before it writes: `tried` is read up to `attempts` only.
  Request& q = requests_[r];
  q.target = nullptr;
  q.attempts = 0;
  q.last_failure = AttemptFailure::kNone;
  q.holds_budget_slot = false;
  q.in_use = true;
  return r;
}

void SimDataPlane::set_target_group(const std::string& name, std::vector<BalancerTarget> targets) {
  if (name != kDefaultTargetGroup)
    throw UserError("balancer: unknown target group \"" + name + "\"");
  for (Target* t : current_) t->index = -1;
  std::vector<Target*> next;
  next.reserve(targets.size());
  for (const BalancerTarget& bt : targets) {
    auto& same_id = targets_[bt.id];
    Target* found = nullptr;
    for (auto& t : same_id)
      if (t->endpoint == bt.endpoint) found = t.get();
    if (found == nullptr) {
      auto fresh = std::make_unique<Target>();
      fresh->id = bt.id;
      fresh->endpoint = bt.endpoint;
      fresh->worker = fleet_.at(bt.endpoint);
      found = fresh.get();
      same_id.push_back(std::move(fresh));
    }
    found->weight = bt.weight;
    found->failure_streak = bt.failure_streak;
    found->share_percent = bt.share_percent;
    found->index = static_cast<int>(next.size());
    next.push_back(found);
  }
  current_ = std::move(next);
  candidates_.resize(current_.size());
  for (std::size_t i = 0; i < current_.size(); ++i) {
    const Target& t = *current_[i];
    candidates_[i] = PickCandidate{static_cast<std::uint32_t>(std::max<std::int64_t>(0, t.outstanding)),
                                   t.weight, false,
                                   static_cast<std::uint8_t>(t.share_percent)};
  }
}

bool SimDataPlane::submit(std::uint64_t token) {
  if (!accepting_) return false;
  ++client_requests_;
  ++totals_.requests;
  const std::uint32_t r = allocate();
  requests_[r].client_token = token;
  requests_[r].sender = sender_;
  ++active_requests_;
  attempt(r);
  return true;
}

void SimDataPlane::attempt(std::uint32_t r) {
  Request& q = requests_[r];
  if (q.attempts >= kMaxAttempts) return give_up(r, give_up_status(q.last_failure));
  for (int i = 0; i < q.attempts; ++i)
    if (q.tried[static_cast<std::size_t>(i)]->index >= 0)
      candidates_[static_cast<std::size_t>(q.tried[static_cast<std::size_t>(i)]->index)]
          .excluded = true;
  const auto pick = picker_->pick(candidates_);
  for (int i = 0; i < q.attempts; ++i)
    if (q.tried[static_cast<std::size_t>(i)]->index >= 0)
      candidates_[static_cast<std::size_t>(q.tried[static_cast<std::size_t>(i)]->index)]
          .excluded = false;
  if (!pick) return give_up(r, give_up_status(q.last_failure));

  Target* t = current_[*pick];
  if (q.attempts > 0) {
    ++totals_.retries;
    ++q.tried[static_cast<std::size_t>(q.attempts - 1)]->stats.retries;
  }
  q.tried[static_cast<std::size_t>(q.attempts)] = t;
  ++q.attempts;
  q.target = t;
  ++t->outstanding;
  ++candidates_[*pick].outstanding;
  ++t->stats.requests;
  SimWorker* w = t->worker;
  if (w == nullptr || !w->accepting()) return connect_failed(r);
  const Time now = scheduler_.now();
  q.sent_at = now;
  // The worker's own 503 (booting, queue full) comes back at once.
  if (is_rejected(w->deliver(token_of(r), now))) finish(r, 503);
}

void SimDataPlane::connect_failed(std::uint32_t r) {
  Target& t = *requests_[r].target;
  ++totals_.target_connection_errors;
  ++t.stats.target_connection_errors;
  ++t.stats.errors;
  t.count_failure();
  release_target(requests_[r]);
  after_failure(r, AttemptFailure::kConnect);
}

void SimDataPlane::on_lost(std::uint64_t token, Time) {
  const auto r = request_of(token);
  if (!r) return;
  Target& t = *requests_[*r].target;
  ++t.stats.errors;
  t.count_failure();
  release_target(requests_[*r]);
  after_failure(*r, AttemptFailure::kDeadConnection);
}

void SimDataPlane::after_failure(std::uint32_t r, AttemptFailure failure) {
  Request& q = requests_[r];
  q.last_failure = failure;
  RetryFacts facts;
  facts.failure = failure;
  facts.attempts = q.attempts;
  facts.response_started = false;
  facts.replayable = true;  // the simulated clients send GETs without a body
  facts.idempotent = true;
  facts.holds_budget_slot = q.holds_budget_slot;
  facts.active_requests = active_requests_;
  facts.active_retries = active_retries_;
  const RetryDecision d = decide_retry(config_.retry, facts);
  if (d.verdict == RetryVerdict::kRetry) {
    if (d.takes_budget_slot) {
      q.holds_budget_slot = true;
      ++active_retries_;
    }
    return attempt(r);
  }
  if (d.verdict == RetryVerdict::kBudgetExhausted) ++retry_budget_exhausted_;
  give_up(r, d.status);
}

void SimDataPlane::give_up(std::uint32_t r, int status) {
  switch (status) {
    case 502:
      ++totals_.elb_502;
      break;
    case 504:
      ++totals_.elb_504;
      break;
    default:
      ++totals_.elb_503;
      break;
  }
  end_exchange(r, status);
}

void SimDataPlane::end_exchange(std::uint32_t r, int status) {
  Request& q = requests_[r];
  const std::uint64_t client = q.client_token;
  Sender* sender = q.sender;
  if (q.holds_budget_slot) --active_retries_;
  q.in_use = false;
  ++q.generation;
  free_requests_.push_back(r);
  --active_requests_;
  if (sender != nullptr) sender->on_reply(client, status, scheduler_.now());
}

void SimDataPlane::on_response(std::uint64_t token, int status, Time) {
  if (const auto r = request_of(token)) finish(*r, status);
}

void SimDataPlane::finish(std::uint32_t r, int status) {
  Request& q = requests_[r];
  Target& t = *q.target;
  const Time now = scheduler_.now();
  const Duration elapsed = now - q.sent_at;
  count_class(status, totals_.responses_2xx, totals_.responses_3xx, totals_.responses_4xx,
              totals_.responses_5xx);
  count_class(status, t.stats.responses_2xx, t.stats.responses_3xx, t.stats.responses_4xx,
              t.stats.responses_5xx);
  t.stats.response_time_sum += elapsed;
  ++t.stats.response_time_count;
  totals_.target_response_time.record(elapsed);
  if (status >= 500) {
    t.count_failure();
  } else {
    t.count_success();
  }
  release_target(q);
  end_exchange(r, status);
}

void SimDataPlane::release_target(Request& q) {
  Target* t = q.target;
  if (t == nullptr) return;
  --t->outstanding;
  if (t->index >= 0) --candidates_[static_cast<std::size_t>(t->index)].outstanding;
  q.target = nullptr;
}

TargetLoad SimDataPlane::target_load(const std::string& id) const {
  TargetLoad load;
  auto it = targets_.find(id);
  if (it == targets_.end()) return load;
  for (const auto& t : it->second) {
    load.outstanding += t->outstanding;
    load.consecutive_failures = std::max(load.consecutive_failures, t->stats.consecutive_failures);
    load.failure_streaks += t->failure_streaks;
  }
  return load;
}

BalancerStats SimDataPlane::stats() const {
  BalancerStats s;
  s.requests = client_requests_;
  s.responses_2xx = totals_.responses_2xx;
  s.responses_3xx = totals_.responses_3xx;
  s.responses_4xx = totals_.responses_4xx;
  s.responses_5xx = totals_.responses_5xx;
  s.elb_502 = totals_.elb_502;
  s.elb_503 = totals_.elb_503;
  s.elb_504 = totals_.elb_504;
  s.elb_5xx = totals_.elb_502 + totals_.elb_503 + totals_.elb_504;
  s.target_connection_errors = totals_.target_connection_errors;
  s.retries = totals_.retries;
  s.retry_budget_exhausted = retry_budget_exhausted_;
  s.active_connections = active_requests_;
  s.target_response_time = totals_.target_response_time;
  BalancerGroupStats group = totals_;
  // Current targets, and removed ones while requests are in flight to them.
  for (const auto& [id, same_id] : targets_) {
    for (const auto& t : same_id) {
      if (t->index < 0 && t->outstanding == 0) continue;
      BalancerTargetStats ts = t->stats;
      ts.outstanding = t->outstanding;
      add_target_stats(group.targets[id], ts);
    }
  }
  s.targets = group.targets;
  s.groups.emplace(std::string(kDefaultTargetGroup), std::move(group));
  return s;
}

}  // namespace flotilla
