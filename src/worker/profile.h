#pragma once
// Worker profile: the traits of one simulated server (AWS: what a launch template's instance type
// would give you). Files live in fleet/*.json:
//
//   {
//     "name": "standard",
//     "capacity": 4,                        // requests served at once, like vCPUs
//     "service_time": {"distribution": "exponential", "mean": "20ms"},
//     "queue_limit": 64,                    // requests waiting beyond capacity; then 503
//     "boot_time": "1s",                    // /health answers 503 until then
//     "cpu_window": "1s"                    // optional; window of cpu_utilization
//   }
//
// "lognormal" also needs "p99" (> mean); mu and sigma follow from mean and p99.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/config.h"
#include "core/random.h"
#include "core/time.h"

namespace flotilla {

enum class ServiceDistribution { kConstant, kExponential, kLognormal };

std::string_view to_string(ServiceDistribution d);
std::optional<ServiceDistribution> parse_service_distribution(std::string_view name);

struct ServiceTime {
  ServiceDistribution distribution = ServiceDistribution::kExponential;
  Duration mean = std::chrono::milliseconds(20);
  std::optional<Duration> p99;  // set exactly when distribution is lognormal
};

// The defaults are fleet/standard.json's values.
struct WorkerProfile {
  std::string name = "standard";
  int capacity = 4;
  ServiceTime service_time;
  int queue_limit = 64;
  Duration boot_time = std::chrono::seconds(1);
  Duration cpu_window = std::chrono::seconds(1);
};

// Limits a file or flag may use.
inline constexpr int kMaxCapacity = 10'000;
inline constexpr int kMaxQueueLimit = 100'000;
inline constexpr Duration kMinServiceMean = std::chrono::microseconds(1);
inline constexpr Duration kMaxServiceMean = std::chrono::hours(1);
inline constexpr Duration kMaxBootTime = std::chrono::hours(1);
inline constexpr Duration kMinCpuWindow = std::chrono::milliseconds(1);
inline constexpr Duration kMaxCpuWindow = std::chrono::hours(1);
// A lognormal with a given mean reaches at most exp(z99^2 / 2) ~= 14.96 times it at p99.
inline constexpr double kZ99 = 2.326;
double max_lognormal_p99_ratio();

struct LognormalParams {
  double mu = 0;     // of ln(seconds)
  double sigma = 0;  // of ln(seconds)
};
// Solves mean = exp(mu + sigma^2/2), p99 = exp(mu + kZ99 sigma), taking the smaller sigma.
// nullopt unless mean < p99 <= max_lognormal_p99_ratio() * mean.
std::optional<LognormalParams> lognormal_params(Duration mean, Duration p99);

// Why `st` is not usable, phrased as what was expected, for the field p99; empty when usable.
// Shared by the file parser and the CLI's flag overrides.
std::string service_time_p99_problem(const ServiceTime& st);

// UserError naming node.file() and the JSON pointer of the bad field.
WorkerProfile parse_worker_profile(const ConfigNode& node);
WorkerProfile load_worker_profile(const std::string& path);

// Draws service times from a profile's distribution. Threading: one thread.
class ServiceTimeSampler {
 public:
  // `st` must be valid (service_time_p99_problem(st) empty).
  ServiceTimeSampler(const ServiceTime& st, std::uint64_t seed);
  Duration next();

 private:
  ServiceTime st_;
  LognormalParams lognormal_;
  SeededRandom random_;
};

}  // namespace flotilla
