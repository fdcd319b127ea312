#include "sim/sim_worker.h"

#include <cassert>

namespace flotilla {

SimWorker::SimWorker(VirtualScheduler& scheduler, const WorkerProfile& profile, WorkerId id,
                     Endpoint endpoint, std::uint64_t seed, Client& client,
                     std::function<void()> on_drained)
    : scheduler_(scheduler),
      profile_(profile),
      id_(std::move(id)),
      endpoint_(std::move(endpoint)),
      client_(client),
      on_drained_(std::move(on_drained)),
      model_(profile, scheduler.now(), WorkerModel::CpuWindow::kSinceStart),
      sampler_(profile.service_time, seed),
      in_service_(static_cast<std::size_t>(profile.capacity), 0),
      queue_(static_cast<std::size_t>(profile.queue_limit), 0) {
  free_slots_.reserve(in_service_.size());
  for (std::size_t i = in_service_.size(); i-- > 0;)
    free_slots_.push_back(static_cast<std::uint32_t>(i));
}

Admission SimWorker::deliver(std::uint64_t token, Time now) {
  assert(accepting());
  const Admission a = model_.admit(now);
  if (a == Admission::kServe) {
    serve(token, now);
  } else if (a == Admission::kQueued) {
    assert(queue_size_ < queue_.size());
    queue_[(queue_head_ + queue_size_) % queue_.size()] = token;
    ++queue_size_;
  }
  return a;
}

void SimWorker::serve(std::uint64_t token, Time now) {
  assert(!free_slots_.empty());
  const std::uint32_t slot = free_slots_.back();
  free_slots_.pop_back();
  in_service_[slot] = token;
  scheduler_.post_event(now + sampler_.next(), *this, slot);
}

void SimWorker::on_event(std::uint64_t slot_arg) {
  // A worker killed while serving: its service timers still fire, for nothing.
  if (exited_) return;
  const auto slot = static_cast<std::uint32_t>(slot_arg);
  const std::uint64_t token = in_service_[slot];
  free_slots_.push_back(slot);
  const Time now = scheduler_.now();
  if (model_.finish(now)) {
    assert(queue_size_ > 0);
    const std::uint64_t next = queue_[queue_head_];
    queue_head_ = (queue_head_ + 1) % queue_.size();
    --queue_size_;
    serve(next, now);
  }
  client_.on_response(token, 200, now);
  drained_check();
}

int SimWorker::health_status(Time now) const {
  return model_.health(now) == WorkerHealth::kHealthy ? 200 : 503;
}

void SimWorker::begin_shutdown(Time) {
  if (exited_) return;
  model_.begin_shutdown();
  drained_check();
}

void SimWorker::drained_check() {
  if (drained_reported_ || !model_.drained()) return;
  drained_reported_ = true;
  if (on_drained_) on_drained_();
}

void SimWorker::kill(Time now) {
  if (exited_) return;
  exited_ = true;
  // Lost in the order they arrived: requests in service (by slot), then the queue.
  std::vector<std::uint64_t> lost;
  lost.reserve(in_service_.size() - free_slots_.size() + queue_size_);
  std::vector<bool> free(in_service_.size(), false);
  for (std::uint32_t s : free_slots_) free[s] = true;
  for (std::size_t s = 0; s < in_service_.size(); ++s)
    if (!free[s]) lost.push_back(in_service_[s]);
  for (std::size_t i = 0; i < queue_size_; ++i)
    lost.push_back(queue_[(queue_head_ + i) % queue_.size()]);
  queue_size_ = 0;
  for (std::uint64_t token : lost) client_.on_lost(token, now);
}

}  // namespace flotilla
