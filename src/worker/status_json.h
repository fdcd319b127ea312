#pragma once
// The body of a worker's GET /metrics: a JSON object with "worker_id", "in_flight", "queued",
// "served", "rejected", "errors", "cpu_utilization", "capacity", "booted", "uptime_seconds" and
// "busy_seconds" (busy slot-seconds since start), as server.h describes them. Numbers are written
// so that parsing them gives back the same doubles.
#include <string>
#include <string_view>

#include "worker/worker_model.h"

namespace flotilla {

std::string worker_status_json(std::string_view worker_id, const WorkerStatus& status);

}  // namespace flotilla
