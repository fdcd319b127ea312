#pragma once
// WorkerMetricsSource: reads one worker's /metrics (JSON, see worker/status_json.h) over HTTP and
// publishes it with AWS's names: AWS/EC2 CPUUtilization{InstanceId=<worker>}. A worker that does
// not answer within the timeout publishes nothing for that period (CloudWatch: missing data).
// The simulated server's own numbers go under Flotilla/Worker{InstanceId=<worker>}: in_flight,
// queued, capacity (gauges) and RequestsServed, RequestsRejected (the increase since the
// previous answer; nothing for the first one).
//
// Reading and publishing are apart: parse_worker_reading() turns the JSON into a WorkerReading,
// worker_samples() turns a reading into samples. A simulator that has a WorkerModel fills the
// reading with worker_reading(status) and gets the same samples as the live path.
//
// Threading: control plane; the HTTP call runs on the control io_context.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fleet/provider.h"
#include "metrics/metric_source.h"

namespace boost::asio {
class io_context;
}

namespace flotilla {

struct WorkerStatus;

inline constexpr const char* kNamespaceFlotillaWorker = "Flotilla/Worker";

// One answer of a worker's /metrics; a field the answer lacks (or that is not a number) is
// empty.
struct WorkerReading {
  std::optional<double> in_flight;
  std::optional<double> queued;
  std::optional<double> capacity;
  std::optional<double> served;           // cumulative
  std::optional<double> rejected;         // cumulative
  std::optional<double> busy_seconds;     // cumulative busy slot-seconds
  std::optional<double> uptime_seconds;   // since the worker started
  std::optional<double> cpu_utilization;  // 0-100 over the worker's cpu_window

  bool operator==(const WorkerReading&) const = default;
};

// What a worker's previous readings leave for the next: the cumulative values that increases
// are measured from. Each pair is taken from the last reading that had both of its fields.
struct WorkerBaseline {
  struct Requests {
    double served = 0;
    double rejected = 0;
  };
  struct Busy {
    double busy_seconds = 0;
    double uptime_seconds = 0;
  };
  std::optional<Requests> requests;
  std::optional<Busy> busy;
};

class WorkerMetricsSource final : public MetricSource,
                                  public std::enable_shared_from_this<WorkerMetricsSource> {
 public:
  WorkerMetricsSource(boost::asio::io_context& io, WorkerId id, Endpoint endpoint,
                      Duration timeout);
  void collect(Time now, Done done) override;

 private:
  boost::asio::io_context& io_;
  WorkerId id_;
  Endpoint endpoint_;
  Duration timeout_;
  WorkerBaseline baseline_;
};

// nullopt unless `body` is a JSON object.
std::optional<WorkerReading> parse_worker_reading(const std::string& body);

// The reading a worker with this status answers (what parse_worker_reading gives for its JSON).
WorkerReading worker_reading(const WorkerStatus& status);

// The samples of one reading; `baseline` holds what earlier readings of the same worker left and
// is updated.
// - CPUUtilization is the average over the interval since the previous reading, as CloudWatch's
//   datapoint is the average over its period: 100 x (increase of busy_seconds) / (capacity x
//   increase of uptime_seconds). Without a usable previous reading (the first one, or the worker
//   restarted: uptime or busy_seconds went down, or no time passed) it is the average since the
//   worker started, busy_seconds / (capacity x uptime_seconds): the interval since its start,
//   as every later datapoint is the interval since its previous reading. A reading without
//   busy_seconds, uptime_seconds or capacity publishes cpu_utilization (the worker's own
//   window) if it has it. Clamped to 0-100.
// - RequestsServed and RequestsRejected: the increase since the previous reading that had both;
//   a counter that went down (a restarted worker) counts from zero; nothing the first time.
// - in_flight, queued and capacity as they are.
std::vector<Sample> worker_samples(const WorkerId& id, const WorkerReading& reading,
                                   WorkerBaseline& baseline);

}  // namespace flotilla
