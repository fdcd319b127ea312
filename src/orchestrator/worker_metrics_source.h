#pragma once
// WorkerMetricsSource: reads one worker's /metrics (JSON, see worker/server.h) over HTTP and
// publishes it with AWS's names: AWS/EC2 CPUUtilization{InstanceId=<worker>}. A worker that does
// not answer within the timeout publishes nothing for that period (CloudWatch: missing data).
//
// Threading: control plane; the HTTP call runs on the control io_context.
#include <memory>

#include "fleet/provider.h"
#include "metrics/metric_source.h"

namespace boost::asio {
class io_context;
}

namespace flotilla {

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
};

// Samples from a worker's /metrics body; empty if the body is not the expected JSON.
std::vector<Sample> parse_worker_metrics(const WorkerId& id, const std::string& body);

}  // namespace flotilla
