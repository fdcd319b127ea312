#include "worker/status_json.h"

#include <nlohmann/json.hpp>

namespace flotilla {

std::string worker_status_json(std::string_view worker_id, const WorkerStatus& s) {
  const nlohmann::json j = {
      {"worker_id", worker_id},
      {"in_flight", s.in_flight},
      {"queued", s.queued},
      {"served", s.served},
      {"rejected", s.rejected},
      {"errors", s.errors},
      {"cpu_utilization", s.cpu_utilization},
      {"capacity", s.capacity},
      {"booted", s.booted},
      {"uptime_seconds", to_seconds(s.uptime)},
      {"busy_seconds", to_seconds(s.busy_time)},
  };
  return j.dump();
}

}  // namespace flotilla
