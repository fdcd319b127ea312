#pragma once
// A small simulated world for tests: a fleet of `workers` modelled workers, every one published
// to the simulated data plane, in virtual time at 0.
#include <string>
#include <vector>

#include "core/virtual_scheduler.h"
#include "sim/sim_data_plane.h"
#include "sim/sim_fleet.h"

namespace flotilla::testing {

// Constant service times and no boot time, so that times in tests are exact.
inline WorkerProfile constant_profile(int capacity, Duration service, int queue_limit = 1000) {
  WorkerProfile p;
  p.capacity = capacity;
  p.queue_limit = queue_limit;
  p.service_time.distribution = ServiceDistribution::kConstant;
  p.service_time.mean = service;
  p.boot_time = Duration::zero();
  return p;
}

struct SimWorld {
  SimWorld(int workers, WorkerProfile profile, SimDataPlaneConfig config = {})
      : fleet(sched, std::move(profile), 1), plane(sched, fleet, std::move(config)) {
    fleet.set_worker_client(plane);
    fleet.set_callbacks({[this](const WorkerId& id, const Endpoint& e) {
                           targets.push_back({id, e, 1});
                         },
                         {}});
    for (int i = 0; i < workers; ++i) ids.push_back(fleet.launch({}));
    sched.run_until(sched.now());  // the announcements
    plane.set_targets(targets);
  }

  VirtualScheduler sched;
  SimFleet fleet;
  SimDataPlane plane;
  std::vector<BalancerTarget> targets;
  std::vector<WorkerId> ids;
};

}  // namespace flotilla::testing
