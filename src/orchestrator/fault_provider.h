#pragma once
// FaultProvider: a Provider in front of the environment's that makes launches fail on purpose,
// for the boot_failure and zone_outage faults: a worker launched while launches fail (all of
// them, or those into a zone that is down) is killed as soon as it starts, so it exits before
// it became healthy, as a bad deploy's or an impaired zone's instances do. Everything else is
// the wrapped provider's, unchanged, in either world.
//
// Threading: the control-plane thread, as every Provider.
#include <map>
#include <memory>
#include <string>

#include "core/scheduler.h"
#include "fleet/provider.h"

namespace flotilla {

class FaultProvider final : public Provider {
 public:
  FaultProvider(Scheduler& scheduler, Provider& inner);
  ~FaultProvider() override { *alive_ = false; }

  // Launches from now until `until` fail (boot_failure).
  void fail_launches_until(Time until) { all_until_ = std::max(all_until_, until); }
  // Launches into `zone` fail until `until` (zone_outage).
  void fail_zone_until(const std::string& zone, Time until);
  // Whether a launch into `zone` fails now.
  bool failing(const std::string& zone) const;

  void set_callbacks(Callbacks callbacks) override { inner_.set_callbacks(std::move(callbacks)); }
  WorkerId launch(const LaunchSpec& spec) override;
  void stop(const WorkerId& id, Duration grace) override { inner_.stop(id, grace); }
  void signal(const WorkerId& id, int sig) override { inner_.signal(id, sig); }
  std::optional<int> pid(const WorkerId& id) const override { return inner_.pid(id); }
  std::size_t running() const override { return inner_.running(); }

 private:
  Scheduler& scheduler_;
  Provider& inner_;
  Time all_until_{};
  std::map<std::string, Time> zone_until_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // for kills still queued
};

}  // namespace flotilla
