#include "sim/sim_worker.h"

#include <cassert>
#include <string>

namespace flotilla {

namespace {

// An event's argument: the epoch it was posted in (31 bits), whether it is a held answer (1
// bit), then the slot or the held answer's index (32 bits).
constexpr std::uint32_t kEpochMask = 0x7fffffffu;
constexpr std::uint64_t kAnswerBit = std::uint64_t{1} << 32;

}  // namespace

// One health check in progress: answered once, by the worker or by its timeout.
struct SimWorker::HealthCall {
  HealthDone done;
  Time started{};
  Time deadline{};
  bool finished = false;

  void finish(HttpGetResult result, Time now) {
    if (finished) return;
    finished = true;
    result.elapsed = now - started;
    auto callback = std::move(done);
    callback(std::move(result));
  }
};

SimWorker::SimWorker(VirtualScheduler& scheduler, const WorkerProfile& profile, WorkerId id,
                     Endpoint endpoint, std::uint64_t seed, Client& client,
                     std::function<void(int)> on_exit)
    : scheduler_(scheduler),
      profile_(profile),
      id_(std::move(id)),
      endpoint_(std::move(endpoint)),
      client_(client),
      on_exit_(std::move(on_exit)),
      model_(profile, scheduler.now(), WorkerModel::CpuWindow::kSinceStart, seed),
      sampler_(profile.service_time, seed),
      in_service_(static_cast<std::size_t>(profile.capacity), 0),
      service_due_(static_cast<std::size_t>(profile.capacity), Time::zero()),
      queue_(static_cast<std::size_t>(profile.queue_limit), 0) {
  free_slots_.reserve(in_service_.size());
  for (std::size_t i = in_service_.size(); i-- > 0;)
    free_slots_.push_back(static_cast<std::uint32_t>(i));
}

std::uint64_t SimWorker::event_arg(bool answer, std::uint32_t index) const {
  return (std::uint64_t{epoch_ & kEpochMask} << 33) | (answer ? kAnswerBit : 0) | index;
}

Admission SimWorker::deliver(std::uint64_t token, Time now) {
  assert(accepting());
  if (stopped_) {
    unread_.push_back({Unread::Kind::kWork, token, nullptr, {}});
    return Admission::kHeld;
  }
  return take(token, now);
}

Admission SimWorker::take(std::uint64_t token, Time now) {
  const Admission a = model_.admit(now);
  if (a == Admission::kServe) {
    serve(token, now);
  } else if (a == Admission::kQueued) {
    assert(queue_size_ < queue_.size());
    queue_[(queue_head_ + queue_size_) % queue_.size()] = token;
    ++queue_size_;
  } else if (const Duration delay = model_.answer_delay(); delay > Duration::zero()) {
    // The rejection's 503 takes the latency path too.
    hold(now + delay, 503, token, false);
    return Admission::kHeld;
  }
  return a;
}

void SimWorker::serve(std::uint64_t token, Time now) {
  assert(!free_slots_.empty());
  const std::uint32_t slot = free_slots_.back();
  free_slots_.pop_back();
  in_service_[slot] = token;
  service_due_[slot] = now + model_.service_time(sampler_.next());
  scheduler_.post_event(service_due_[slot], *this, event_arg(false, slot));
}

void SimWorker::on_event(std::uint64_t arg) {
  // A worker killed while serving: its timers still fire, for nothing.
  if (exited_) return;
  // Posted before a SIGSTOP: resume() posted it again.
  if (static_cast<std::uint32_t>(arg >> 33) != (epoch_ & kEpochMask)) return;
  assert(!stopped_);
  const auto index = static_cast<std::uint32_t>(arg & 0xffffffffu);
  if ((arg & kAnswerBit) != 0) return send_held(index, scheduler_.now());
  end_service(index, scheduler_.now());
}

void SimWorker::end_service(std::uint32_t slot, Time now) {
  const std::uint64_t token = in_service_[slot];
  free_slots_.push_back(slot);
  const Completion done = model_.complete(now);
  if (done.starts_next) {
    assert(queue_size_ > 0);
    const std::uint64_t next = queue_[queue_head_];
    queue_head_ = (queue_head_ + 1) % queue_.size();
    --queue_size_;
    serve(next, now);
  }
  answer(token, done.status, done.crash, now);
  drained_check();
}

void SimWorker::answer(std::uint64_t token, int status, bool crash_after, Time now) {
  const Duration delay = model_.answer_delay();
  if (delay <= Duration::zero()) {
    client_.on_response(token, status, now);
    if (crash_after) crash(now);
    return;
  }
  hold(now + delay, status, token, crash_after);
}

void SimWorker::hold(Time due, int status, std::uint64_t token, bool crash_after,
                     std::shared_ptr<HealthCall> health, WorkerHealth health_state) {
  std::uint32_t index;
  if (!free_held_.empty()) {
    index = free_held_.back();
    free_held_.pop_back();
  } else {
    index = static_cast<std::uint32_t>(held_.size());
    held_.emplace_back();
  }
  HeldAnswer& a = held_[index];
  a.due = due;
  a.status = status;
  a.token = token;
  a.crash = crash_after;
  a.health = std::move(health);
  a.health_state = health_state;
  a.in_use = true;
  scheduler_.post_event(due, *this, event_arg(true, index));
}

void SimWorker::send_held(std::uint32_t index, Time now) {
  HeldAnswer a = std::move(held_[index]);
  held_[index] = HeldAnswer{};
  free_held_.push_back(index);
  if (a.health) {
    HttpGetResult result;
    result.ok = true;
    result.status = a.status;
    result.body = a.status == 200 ? "ok\n" : std::string(to_string(a.health_state)) + "\n";
    a.health->finish(std::move(result), now);
  } else {
    client_.on_response(a.token, a.status, now);
  }
  if (a.crash) crash(now);
  drained_check();
}

void SimWorker::health_check(Time now, Duration timeout, HealthDone done) {
  auto call = std::make_shared<HealthCall>();
  call->done = std::move(done);
  call->started = now;
  call->deadline = now + timeout;
  if (stopped_) {
    unread_.push_back({Unread::Kind::kHealth, 0, call, {}});
  } else {
    answer_health(call, now);
    if (call->finished) return;
  }
  scheduler_.schedule_at(call->deadline, [call, &scheduler = scheduler_] {
    HttpGetResult result;
    result.error = "timeout";
    call->finish(std::move(result), scheduler.now());
  });
}

void SimWorker::answer_health(const std::shared_ptr<HealthCall>& call, Time now) {
  const WorkerHealth health = model_.health(now);
  const int status = health == WorkerHealth::kHealthy ? 200 : 503;
  const Duration delay = model_.answer_delay();
  if (delay <= Duration::zero()) {
    HttpGetResult result;
    result.ok = true;
    result.status = status;
    result.body = status == 200 ? "ok\n" : std::string(to_string(health)) + "\n";
    return call->finish(std::move(result), now);
  }
  // An answer due at or after the deadline would find the prober gone: the timeout answers.
  if (now + delay >= call->deadline) return;
  hold(now + delay, status, 0, false, call, health);
}

int SimWorker::health_status(Time now) const {
  return model_.health(now) == WorkerHealth::kHealthy ? 200 : 503;
}

void SimWorker::apply_faults(const WorkerFaults& change, Time now) {
  if (exited_) return;
  if (stopped_) {
    unread_.push_back({Unread::Kind::kControl, 0, nullptr, change});
    return;
  }
  model_.apply_faults(change, now);
}

void SimWorker::begin_shutdown(Time) {
  if (exited_) return;
  // A stopped process takes the signal when it runs again.
  if (stopped_) {
    term_pending_ = true;
    return;
  }
  model_.begin_shutdown();
  drained_check();
}

void SimWorker::drained_check() {
  if (drained_reported_ || exited_ || stopped_ || !model_.drained()) return;
  if (held_.size() != free_held_.size()) return;  // answers still waiting out the latency
  drained_reported_ = true;
  if (on_exit_) on_exit_(0);
}

std::vector<std::uint32_t> SimWorker::busy_slots() const {
  std::vector<bool> free(in_service_.size(), false);
  for (std::uint32_t s : free_slots_) free[s] = true;
  std::vector<std::uint32_t> busy;
  busy.reserve(in_service_.size() - free_slots_.size());
  for (std::uint32_t s = 0; s < in_service_.size(); ++s)
    if (!free[s]) busy.push_back(s);
  return busy;
}

void SimWorker::stop(Time now) {
  if (exited_ || stopped_) return;
  stopped_ = true;
  ++epoch_;
  for (std::uint32_t s : busy_slots()) service_due_[s] -= now;
  for (HeldAnswer& a : held_)
    if (a.in_use) a.due -= now;
}

void SimWorker::resume(Time now) {
  if (exited_ || !stopped_) return;
  stopped_ = false;
  for (std::uint32_t s : busy_slots()) {
    service_due_[s] += now;
    scheduler_.post_event(service_due_[s], *this, event_arg(false, s));
  }
  for (std::uint32_t i = 0; i < held_.size(); ++i) {
    if (!held_[i].in_use) continue;
    held_[i].due += now;
    scheduler_.post_event(held_[i].due, *this, event_arg(true, i));
  }
  std::vector<Unread> unread;
  unread.swap(unread_);
  for (Unread& u : unread) {
    if (exited_) return;
    switch (u.kind) {
      case Unread::Kind::kWork:
        // Nobody waits on deliver() now: the worker answers a rejection itself.
        if (is_rejected(take(u.token, now))) client_.on_response(u.token, 503, now);
        break;
      case Unread::Kind::kHealth:
        if (!u.health->finished) answer_health(u.health, now);
        break;
      case Unread::Kind::kControl:
        model_.apply_faults(u.faults, now);
        break;
    }
  }
  if (term_pending_) {
    term_pending_ = false;
    model_.begin_shutdown();
  }
  drained_check();
}

void SimWorker::kill(Time now) {
  if (exited_) return;
  exited_ = true;
  lose_everything(now);
}

void SimWorker::crash(Time now) {
  if (exited_) return;
  exited_ = true;
  lose_everything(now);
  if (on_exit_) on_exit_(kCrashExitCode);
}

void SimWorker::lose_everything(Time now) {
  assert(exited_);
  // Lost in the order they arrived: requests in service (by slot), then the queue, then answers
  // waiting out the latency, then what a stopped worker had not read.
  std::vector<std::uint64_t> lost;
  std::vector<std::shared_ptr<HealthCall>> checks;
  for (std::uint32_t s : busy_slots()) lost.push_back(in_service_[s]);
  for (std::size_t i = 0; i < queue_size_; ++i)
    lost.push_back(queue_[(queue_head_ + i) % queue_.size()]);
  queue_size_ = 0;
  for (HeldAnswer& a : held_) {
    if (!a.in_use) continue;
    if (a.health)
      checks.push_back(std::move(a.health));
    else
      lost.push_back(a.token);
    a = HeldAnswer{};
  }
  for (Unread& u : unread_) {
    if (u.kind == Unread::Kind::kWork) lost.push_back(u.token);
    if (u.kind == Unread::Kind::kHealth) checks.push_back(std::move(u.health));
  }
  unread_.clear();
  for (std::uint64_t token : lost) client_.on_lost(token, now);
  // The probers learn of it through the scheduler, not from inside the signal that killed it.
  for (auto& call : checks) {
    scheduler_.schedule_at(now, [call, &scheduler = scheduler_] {
      HttpGetResult result;
      result.error = "connection closed";
      call->finish(std::move(result), scheduler.now());
    });
  }
}

}  // namespace flotilla
