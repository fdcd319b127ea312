#pragma once
// A Provider for tests: records launches, stops and signals; the test fires on_listening and
// on_exit itself (or lets stop() exit the worker after `exit_after_stop`, in virtual time).
#include <cstdio>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/scheduler.h"
#include "fleet/provider.h"

namespace flotilla::testing {

class FakeProvider final : public Provider {
 public:
  FakeProvider() = default;
  // With a scheduler, a stopped worker exits (signal 15) `exit_after_stop` later.
  FakeProvider(Scheduler& scheduler, Duration exit_after_stop)
      : scheduler_(&scheduler), exit_after_stop_(exit_after_stop) {}

  void set_callbacks(Callbacks callbacks) override { callbacks_ = std::move(callbacks); }

  WorkerId launch(const LaunchSpec& spec) override {
    char buf[32];
    std::snprintf(buf, sizeof buf, "i-%016d", ++count_);
    launched.push_back(buf);
    specs.push_back(spec);
    running_.insert(buf);
    if (failing_launches_ > 0) {
      --failing_launches_;
      exit(buf, failing_exit_);
    }
    return buf;
  }

  void stop(const WorkerId& id, Duration grace) override {
    stops.emplace_back(id, grace);
    if (scheduler_ && running_.count(id)) {
      scheduler_->schedule_after(exit_after_stop_, [this, id] {
        if (running_.count(id)) exit(id, WorkerExit{-1, 15});
      });
    }
  }

  void signal(const WorkerId& id, int sig) override { signals.emplace_back(id, sig); }
  std::optional<int> pid(const WorkerId&) const override { return std::nullopt; }
  std::size_t running() const override { return running_.size(); }

  // Test controls.
  // The next `count` launches report on_exit(`e`) from inside launch(), before it returns the id
  // (as a provider may when the command cannot start: exit 127).
  void fail_next_launches(int count, WorkerExit e = WorkerExit{127, 0}) {
    failing_launches_ = count;
    failing_exit_ = e;
  }
  void listen(const WorkerId& id, std::uint16_t port) {
    if (callbacks_.on_listening) callbacks_.on_listening(id, Endpoint{"127.0.0.1", port});
  }
  void exit(const WorkerId& id, WorkerExit e = WorkerExit{0, 0}) {
    running_.erase(id);
    if (callbacks_.on_exit) callbacks_.on_exit(id, e);
  }
  bool has_callbacks() const { return bool(callbacks_.on_exit); }
  bool is_running(const WorkerId& id) const { return running_.count(id) > 0; }
  bool stopped(const WorkerId& id) const {
    for (const auto& [s, g] : stops)
      if (s == id) return true;
    return false;
  }

  std::vector<WorkerId> launched;
  std::vector<LaunchSpec> specs;
  std::vector<std::pair<WorkerId, Duration>> stops;
  std::vector<std::pair<WorkerId, int>> signals;

 private:
  Scheduler* scheduler_ = nullptr;
  Duration exit_after_stop_{};
  Callbacks callbacks_;
  std::set<WorkerId> running_;
  int count_ = 0;
  int failing_launches_ = 0;
  WorkerExit failing_exit_{};
};

}  // namespace flotilla::testing
