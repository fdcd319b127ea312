#pragma once
// WorkerMetricsSource: reads one worker's /metrics (JSON, see worker/server.h) over HTTP and
// publishes it with AWS's names: AWS/EC2 CPUUtilization{InstanceId=<worker>}. A worker that does
// not answer within the timeout publishes nothing for that period (CloudWatch: missing data).
// The simulated server's own numbers go under Flotilla/Worker{InstanceId=<worker>}: in_flight,
// queued, capacity (gauges) and RequestsServed, RequestsRejected (the increase since the
// previous answer; nothing for the first one).
//
// Threading: control plane; the HTTP call runs on the control io_context.
#include <memory>

#include "fleet/provider.h"
#include "metrics/metric_source.h"

namespace boost::asio {
class io_context;
}

namespace flotilla {

inline constexpr const char* kNamespaceFlotillaWorker = "Flotilla/Worker";

// A worker's cumulative counters as last read.
struct WorkerCounters {
  bool known = false;
  double served = 0;
  double rejected = 0;
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
  WorkerCounters counters_;
};

// Samples from a worker's /metrics body; empty if the body is not the expected JSON. With
// `counters`, also the counters' increase since the values it holds (which it then takes); a
// counter that went down (a restarted worker) counts from zero.
std::vector<Sample> parse_worker_metrics(const WorkerId& id, const std::string& body,
                                         WorkerCounters* counters = nullptr);

}  // namespace flotilla
