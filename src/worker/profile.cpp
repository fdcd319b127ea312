#include "worker/profile.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdio>

#include "core/duration.h"
#include "core/errors.h"

namespace flotilla {

std::string_view to_string(ServiceDistribution d) {
  switch (d) {
    case ServiceDistribution::kConstant:
      return "constant";
    case ServiceDistribution::kExponential:
      return "exponential";
    case ServiceDistribution::kLognormal:
      return "lognormal";
  }
  return "?";
}

std::optional<ServiceDistribution> parse_service_distribution(std::string_view name) {
  for (auto d : {ServiceDistribution::kConstant, ServiceDistribution::kExponential,
                 ServiceDistribution::kLognormal})
    if (to_string(d) == name) return d;
  return std::nullopt;
}

double max_lognormal_p99_ratio() { return std::exp(kZ99 * kZ99 / 2); }

std::optional<LognormalParams> lognormal_params(Duration mean, Duration p99) {
  if (mean <= Duration::zero() || p99 <= mean) return std::nullopt;
  // ln(p99/mean) = z sigma - sigma^2/2; real roots need z^2 >= 2 ln(p99/mean).
  const double d = std::log(to_seconds(p99) / to_seconds(mean));
  const double discriminant = kZ99 * kZ99 - 2 * d;
  if (discriminant < 0) return std::nullopt;
  LognormalParams p;
  p.sigma = kZ99 - std::sqrt(discriminant);
  p.mu = std::log(to_seconds(mean)) - p.sigma * p.sigma / 2;
  return p;
}

std::string service_time_p99_problem(const ServiceTime& st) {
  if (st.distribution != ServiceDistribution::kLognormal) {
    if (st.p99) return "no p99 unless the distribution is \"lognormal\"";
    return "";
  }
  if (!st.p99) return "a p99 duration (required for the lognormal distribution)";
  if (*st.p99 <= st.mean)
    return "a duration greater than the mean (" + format_duration(st.mean) + ")";
  if (!lognormal_params(st.mean, *st.p99)) {
    char ratio[32];
    std::snprintf(ratio, sizeof ratio, "%.2f", max_lognormal_p99_ratio());
    return std::string("a duration at most ") + ratio + " times the mean (" +
           format_duration(st.mean) + "): no lognormal with that mean has a larger p99";
  }
  return "";
}

namespace {

ServiceTime parse_service_time(const ConfigNode& node) {
  node.only_keys({"distribution", "mean", "p99"});
  ServiceTime st;
  st.distribution = *parse_service_distribution(
      node.at("distribution").as_enum({"constant", "exponential", "lognormal"}));
  st.mean = node.at("mean").as_duration(kMinServiceMean, kMaxServiceMean);
  const auto p99 = node.get("p99");
  if (p99) st.p99 = p99->as_duration(kMinServiceMean, kMaxServiceMean);
  if (auto problem = service_time_p99_problem(st); !problem.empty()) {
    if (p99)
      p99->fail(problem);
    else
      node.child_pointer_only("p99").fail(problem);
  }
  return st;
}

}  // namespace

WorkerProfile parse_worker_profile(const ConfigNode& node) {
  node.only_file_keys({"name", "capacity", "service_time", "queue_limit", "boot_time", "cpu_window"});
  WorkerProfile p;
  p.name = node.at("name").as_nonempty_string();
  p.capacity = static_cast<int>(node.at("capacity").as_int(1, kMaxCapacity));
  p.service_time = parse_service_time(node.at("service_time"));
  p.queue_limit = static_cast<int>(node.at("queue_limit").as_int(0, kMaxQueueLimit));
  p.boot_time = node.at("boot_time").as_duration(Duration::zero(), kMaxBootTime);
  if (auto w = node.get("cpu_window")) p.cpu_window = w->as_duration(kMinCpuWindow, kMaxCpuWindow);
  return p;
}

WorkerProfile load_worker_profile(const std::string& path) {
  const auto doc = load_json_file(path);
  return parse_worker_profile(ConfigNode(doc, path));
}

ServiceTimeSampler::ServiceTimeSampler(const ServiceTime& st, std::uint64_t seed)
    : st_(st), random_(seed) {
  if (st_.distribution == ServiceDistribution::kLognormal) {
    auto params = lognormal_params(st_.mean, st_.p99.value_or(Duration::zero()));
    assert(params && "service time validated before sampling");
    if (params) lognormal_ = *params;
  }
}

Duration ServiceTimeSampler::next() {
  double seconds = 0;
  switch (st_.distribution) {
    case ServiceDistribution::kConstant:
      return st_.mean;
    case ServiceDistribution::kExponential:
      seconds = random_.exponential(to_seconds(st_.mean));
      break;
    case ServiceDistribution::kLognormal:
      seconds = random_.lognormal(lognormal_.mu, lognormal_.sigma);
      break;
  }
  // Bounds a freak tail draw so that it cannot overflow a timer.
  return from_seconds(std::clamp(seconds, 0.0, to_seconds(kMaxServiceMean)));
}

}  // namespace flotilla
