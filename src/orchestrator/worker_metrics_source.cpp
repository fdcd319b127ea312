#include "orchestrator/worker_metrics_source.h"

#include <nlohmann/json.hpp>
#include <optional>

#include "balancer/http_client.h"

namespace flotilla {

WorkerMetricsSource::WorkerMetricsSource(boost::asio::io_context& io, WorkerId id,
                                         Endpoint endpoint, Duration timeout)
    : io_(io), id_(std::move(id)), endpoint_(std::move(endpoint)), timeout_(timeout) {}

void WorkerMetricsSource::collect(Time, Done done) {
  http_get(io_, endpoint_, "/metrics", timeout_,
           [self = shared_from_this(), done = std::move(done)](HttpGetResult result) {
             if (!result.ok || result.status != 200) return done({});
             done(parse_worker_metrics(self->id_, result.body, &self->counters_));
           });
}

std::vector<Sample> parse_worker_metrics(const WorkerId& id, const std::string& body,
                                         WorkerCounters* counters) {
  const auto doc = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return {};
  std::vector<Sample> samples;
  auto publish = [&](const char* field, const char* metric) {
    auto it = doc.find(field);
    if (it != doc.end() && it->is_number())
      samples.push_back({instance_metric(metric, id), it->get<double>()});
  };
  publish("cpu_utilization", kMetricCpuUtilization);
  // Not AWS metrics: the simulated server's own gauges, under Flotilla's namespace.
  auto worker_metric = [&id](const char* name) {
    return make_metric_id(kNamespaceFlotillaWorker, name, {{kDimensionInstanceId, id}});
  };
  for (const char* field : {"in_flight", "queued", "capacity"}) {
    auto it = doc.find(field);
    if (it != doc.end() && it->is_number())
      samples.push_back({worker_metric(field), it->get<double>()});
  }
  if (counters == nullptr) return samples;
  auto number = [&doc](const char* field) -> std::optional<double> {
    auto it = doc.find(field);
    if (it == doc.end() || !it->is_number()) return std::nullopt;
    return it->get<double>();
  };
  const auto served = number("served");
  const auto rejected = number("rejected");
  if (!served || !rejected) return samples;
  if (counters->known) {
    auto increase = [](double before, double after) {
      return after >= before ? after - before : after;
    };
    samples.push_back({worker_metric("RequestsServed"), increase(counters->served, *served)});
    samples.push_back({worker_metric("RequestsRejected"), increase(counters->rejected, *rejected)});
  }
  *counters = {true, *served, *rejected};
  return samples;
}

}  // namespace flotilla
