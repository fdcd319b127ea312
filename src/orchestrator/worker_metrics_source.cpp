#include "orchestrator/worker_metrics_source.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "balancer/http_client.h"
#include "worker/worker_model.h"

namespace flotilla {

WorkerMetricsSource::WorkerMetricsSource(boost::asio::io_context& io, WorkerId id,
                                         Endpoint endpoint, Duration timeout)
    : io_(io), id_(std::move(id)), endpoint_(std::move(endpoint)), timeout_(timeout) {}

void WorkerMetricsSource::collect(Time, Done done) {
  http_get(io_, endpoint_, "/metrics", timeout_,
           [self = shared_from_this(), done = std::move(done)](HttpGetResult result) {
             if (!result.ok || result.status != 200) return done({});
             const auto reading = parse_worker_reading(result.body);
             if (!reading) return done({});
             done(worker_samples(self->id_, *reading, self->baseline_));
           });
}

std::optional<WorkerReading> parse_worker_reading(const std::string& body) {
  const auto doc = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return std::nullopt;
  auto number = [&doc](const char* field) -> std::optional<double> {
    auto it = doc.find(field);
    if (it == doc.end() || !it->is_number()) return std::nullopt;
    return it->get<double>();
  };
  WorkerReading r;
  r.in_flight = number("in_flight");
  r.queued = number("queued");
  r.capacity = number("capacity");
  r.served = number("served");
  r.rejected = number("rejected");
  r.busy_seconds = number("busy_seconds");
  r.uptime_seconds = number("uptime_seconds");
  r.cpu_utilization = number("cpu_utilization");
  return r;
}

WorkerReading worker_reading(const WorkerStatus& s) {
  WorkerReading r;
  r.in_flight = s.in_flight;
  r.queued = s.queued;
  r.capacity = s.capacity;
  r.served = static_cast<double>(s.served);
  r.rejected = static_cast<double>(s.rejected);
  r.busy_seconds = to_seconds(s.busy_time);
  r.uptime_seconds = to_seconds(s.uptime);
  r.cpu_utilization = s.cpu_utilization;
  return r;
}

namespace {

// See worker_samples(); nullopt when the reading says nothing about CPU.
std::optional<double> cpu_utilization(const WorkerReading& r, const WorkerBaseline& baseline) {
  std::optional<double> percent;
  if (r.busy_seconds && r.uptime_seconds && r.capacity && *r.capacity > 0) {
    const WorkerBaseline::Busy since_start{0, 0};
    const bool continues = baseline.busy && *r.uptime_seconds > baseline.busy->uptime_seconds &&
                           *r.busy_seconds >= baseline.busy->busy_seconds;
    const WorkerBaseline::Busy& from = continues ? *baseline.busy : since_start;
    const double elapsed = *r.uptime_seconds - from.uptime_seconds;
    if (elapsed > 0)
      percent = 100.0 * (*r.busy_seconds - from.busy_seconds) / (*r.capacity * elapsed);
  }
  if (!percent) percent = r.cpu_utilization;
  if (!percent) return std::nullopt;
  return std::clamp(*percent, 0.0, 100.0);
}

}  // namespace

std::vector<Sample> worker_samples(const WorkerId& id, const WorkerReading& r,
                                   WorkerBaseline& baseline) {
  std::vector<Sample> samples;
  if (const auto cpu = cpu_utilization(r, baseline))
    samples.push_back({instance_metric(kMetricCpuUtilization, id), *cpu});
  if (r.busy_seconds && r.uptime_seconds) baseline.busy = {*r.busy_seconds, *r.uptime_seconds};

  // Not AWS metrics: the simulated server's own numbers, under Flotilla's namespace.
  auto worker_metric = [&id](const char* name) {
    return make_metric_id(kNamespaceFlotillaWorker, name, {{kDimensionInstanceId, id}});
  };
  const std::pair<const char*, const std::optional<double>&> gauges[] = {
      {"in_flight", r.in_flight}, {"queued", r.queued}, {"capacity", r.capacity}};
  for (const auto& [name, value] : gauges)
    if (value) samples.push_back({worker_metric(name), *value});

  if (!r.served || !r.rejected) return samples;
  if (baseline.requests) {
    auto increase = [](double before, double after) {
      return after >= before ? after - before : after;
    };
    samples.push_back(
        {worker_metric("RequestsServed"), increase(baseline.requests->served, *r.served)});
    samples.push_back(
        {worker_metric("RequestsRejected"), increase(baseline.requests->rejected, *r.rejected)});
  }
  baseline.requests = {*r.served, *r.rejected};
  return samples;
}

}  // namespace flotilla
