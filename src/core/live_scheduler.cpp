#include "core/live_scheduler.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "core/event_queue.h"

namespace flotilla {

// One Asio timer armed for the earliest pending event; the queue keeps the order.
struct LiveScheduler::Impl {
  explicit Impl(boost::asio::io_context& io_context)
      : io(io_context), timer(io_context), epoch(std::chrono::steady_clock::now()) {}

  Time now() const {
    return std::chrono::duration_cast<Time>(std::chrono::steady_clock::now() - epoch);
  }

  void rearm() {
    const auto next = queue.next_time();
    if (!next) {
      if (armed) timer.cancel();
      armed = false;
      return;
    }
    if (armed && armed_for == *next) return;
    armed = true;
    armed_for = *next;
    timer.expires_at(epoch + *next);
    timer.async_wait([this, alive = alive](const boost::system::error_code& ec) {
      if (!*alive || ec) return;
      armed = false;
      run_due();
    });
  }

  void run_due() {
    // Events scheduled by callbacks for "now" run in this same pass, in order.
    while (queue.run_next(now(), [](Time) {})) {
    }
    rearm();
  }

  boost::asio::io_context& io;
  boost::asio::steady_timer timer;
  std::chrono::steady_clock::time_point epoch;
  EventQueue queue;
  bool armed = false;
  Time armed_for{};
  std::shared_ptr<bool> alive = std::make_shared<bool>(true);
};

LiveScheduler::LiveScheduler(boost::asio::io_context& io) : impl_(std::make_unique<Impl>(io)) {}

LiveScheduler::~LiveScheduler() {
  *impl_->alive = false;
  impl_->timer.cancel();
}

Time LiveScheduler::now() const { return impl_->now(); }

Scheduler::TimerId LiveScheduler::schedule_at(Time when, Callback callback) {
  const TimerId id = impl_->queue.push(when, std::move(callback));
  impl_->rearm();
  return id;
}

bool LiveScheduler::cancel(TimerId id) {
  const bool removed = impl_->queue.cancel(id);
  if (removed) impl_->rearm();
  return removed;
}

boost::asio::io_context& LiveScheduler::io_context() const { return impl_->io; }

}  // namespace flotilla
