#pragma once
// Live time: Asio timers on the wall clock (steady_clock), run by an io_context that the
// owner drives on the control-plane thread. The only code that reads the system clock.
#include <memory>

#include "core/scheduler.h"

namespace boost::asio {
class io_context;
}

namespace flotilla {

class LiveScheduler final : public Scheduler {
 public:
  explicit LiveScheduler(boost::asio::io_context& io);
  ~LiveScheduler() override;

  Time now() const override;
  TimerId schedule_at(Time when, Callback callback) override;
  bool cancel(TimerId id) override;

  boost::asio::io_context& io_context() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace flotilla
