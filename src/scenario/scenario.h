#pragma once
// The scenario model and its parser. A scenario file (scenarios/*.json) says what fleet to run,
// which balancer algorithm and scaling policies, the traffic to replay, the faults to inject and
// what the run must show:
//
//   { "name": "flash-sale", "description": "...", "duration": "90s", "seed": 1,
//     "fleet": { "profile": "fleet/standard.json", "min": 2, "max": 10, "desired": 2 },
//     "balancer": { "algorithm": "round_robin" },
//     "policies": [ "policies/cpu-target-50.json" ],
//     "metrics": { "period": "2s" },
//     "traffic": { "start_rps": 40, "arrivals": "uniform", "path": "/",
//                  "stages": [ { "duration": "20s", "target": 40 },
//                              { "duration": "5s",  "target": 320 } ] },
//     "faults": [ { "at": "45s", "kill": { "count": 1 } } ],
//     "expect": [ { "metric": "error_rate", "max": 0.01 } ] }
//
// Required: name, fleet.profile (with the default provider; see FleetSpec), fleet.min, fleet.max,
// and exactly one traffic shape:
//   "stages": [...]                                    k6's ramping-arrival-rate stages
//   "trace": { "file": "scenarios/traces/x.csv", "speedup": 1, "scale": 1, "offset": "0s" }
//                                                      a recorded rate (trace.h)
//   "sine": { "base": 1000, "amplitude": 800, "period": "24h" }
//                                                      max(0, base + amplitude sin(2 pi t/period))
// Defaults: description "", duration = the stages' total, or how long the trace plays
// ((length - offset) / speedup), or one period of the sine; seed 1, fleet.desired = fleet.min,
// balancer.algorithm "round_robin", policies [] (a fixed-size group), metrics.period 5s,
// traffic.start_rps 0 (stages only; as k6's startRate: the first stage ramps up from 0),
// traffic.arrivals "uniform", traffic.path "/", traffic.connections "keep_alive", trace speedup 1,
// scale 1, offset 0s, faults [], expect [], time_scale = metrics.period / 60 s (AWS durations in
// seconds in AWS-format policies shrink by it). The name is letters, digits, '-', '_' and '.' (it
// names output folders).
//
// traffic.requests, a request mix, replaces traffic.path (giving both is a mistake):
//   "requests": [{ "path": "/api", "method": "POST", "weight": 3, "body_bytes": 512 }, ...]
// path required; method GET (default), POST, PUT, DELETE, PATCH or HEAD; weight > 0 (default 1);
// body_bytes 0 (default) to 1 MiB. traffic.connections: "keep_alive" or "new" (traffic.h).
//
// Stages shorter than the duration: the last target holds to the end. Stages longer than the
// duration are an error (at /duration), not silently cut: a cut ramp is rarely what was meant.
// A trace is the other way round: a duration shorter than the trace plays its start, a longer
// one is an error (at /duration): a trace does not loop, and holding its last rate for hours
// would invent traffic. A sine runs for any duration.
//
// Every mistake is a UserError naming the file and the field as a JSON pointer; unknown fields
// are mistakes. Paths (fleet profile, policies, trace file) resolve relative to the scenario
// file's folder or an ancestor (the repository root), and must exist; their contents are checked
// by their own parsers (the trace's at load time, naming its line).
#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/time.h"
#include "scenario/expectation.h"
#include "scenario/fault.h"
#include "scenario/rate_schedule.h"
#include "scenario/trace.h"
#include "scenario/traffic.h"

namespace flotilla {

inline constexpr std::string_view kProviderProcess = "process";
inline constexpr std::string_view kProviderCommand = "command";
inline constexpr std::string_view kProviderSwarm = "swarm";

// A scenario's fleet. "provider" says what a worker is:
//   "process" (default)  a flotilla-worker with the profile's traits; "profile" required
//   "command"            the user's own server: "command" (an argv array, required) with
//                        "{port}" in one of its arguments, and "{host}", "{id}" if wanted
//                        (fleet/command_provider.h); "health_check" the target group's health
//                        check for it, over the balancer's (its path defaults to "/", as an
//                        ALB's); "boot_time" how long it takes to answer its health check
//                        (default kDefaultCommandBootTime), unless a "profile" says so.
//                        A profile is optional: it models the server for --sim. Faults that
//                        need flotilla-worker's control interface (slow, errors, crash_after,
//                        latency, flap) are mistakes with this provider.
//   "swarm"              a flotilla-worker as a Docker Swarm service (fleet/swarm_provider.h);
//                        "profile" required as for "process"; "image" the worker image
//                        (default: the provider's, flotilla-worker:latest), "constraints" its
//                        placement constraints (["node.role==manager"]; default none), "bind"
//                        the IPv4 address workers listen on (default 127.0.0.1; 0.0.0.0 on a
//                        many-node swarm, where a worker is reached at its node's address).
struct FleetSpec {
  std::string provider = std::string(kProviderProcess);
  // Resolved path of the worker profile (fleet/*.json); empty: none (command provider only).
  std::string profile;
  std::vector<std::string> command;   // the command provider's argv, as written
  nlohmann::json health_check;        // the command provider's, as written; null: none
  std::optional<Duration> boot_time;  // the command provider's "boot_time"
  std::string image;                  // the swarm provider's; empty: its default
  std::vector<std::string> constraints;  // the swarm provider's
  std::string bind;                      // the swarm provider's; empty: its default
  int min = 0;
  int max = 1;
  int desired = 0;
  // The Auto Scaling group's settings, with AWS's names and values (unset: the group's defaults).
  std::optional<std::string> health_check_type;  // "EC2" or "ELB"
  std::optional<Duration> health_check_grace_period;
  std::optional<std::string> termination_policy;  // "Default", "OldestInstance", "NewestInstance"
  bool new_instances_protected_from_scale_in = false;
  // Availability Zones the group spreads its workers over (AWS's AvailabilityZones); empty:
  // one zone.
  std::vector<std::string> zones;
};

// A command worker's boot time when neither "boot_time" nor a profile gives one: what the group
// waits beyond it (health_check_grace_period's default, boot time + 10 s) then comes to 30 s.
inline constexpr Duration kDefaultCommandBootTime = std::chrono::seconds(20);

inline constexpr std::array<std::string_view, 4> kBalancerAlgorithms = {
    "round_robin", "least_outstanding_requests", "weighted_round_robin", "power_of_two_choices"};

// The scenario's balancer: its algorithm, and what the balancer file (`flotilla balance
// --config`) takes for its listener and target group: timeouts, retries, health_check,
// deregistration_delay, slow_start, fail_open, outlier_detection. Those are kept as written and
// read with the balancer file's own parsers (orchestrator/balance_config.h,
// scenario_balancer()), so that both files mean the same by every field.
struct BalancerSpec {
  std::string algorithm = "round_robin";
  nlohmann::json settings = nlohmann::json::object();  // the block, less "algorithm"
};

// Exactly one shape: non-empty `stages`, `trace` or `sine`.
struct TrafficSpec {
  double start_rps = 0;  // stages only
  std::vector<Stage> stages;
  std::optional<TracePlayback> trace;
  std::optional<Sine> sine;
  Arrivals arrivals = Arrivals::kUniform;
  // What each request is: "requests" as written, or the one entry {GET, "path"} (default "/").
  std::vector<RequestSpec> requests = {RequestSpec{}};
  Connections connections = Connections::kKeepAlive;

  // For people: "3 stages", "sine 1000 +- 800 rps, period 86400s",
  // "trace diurnal-day.csv (1440 rows, 86400s, peak 2799.38 rps) at speedup 480, scale 0.1",
  // then ", a mix of 3 requests" and ", a new connection per request" when they apply.
  std::string describe() const;

 private:
  std::string describe_shape() const;
};

// The service level a run is held to (`"slo": {"latency": "500ms", "error_rate": 0.01,
// "availability": 0.999}`, the defaults): a second violates it when the p99 latency of its
// successful requests exceeds `latency` or its error rate exceeds `error_rate`; a second with no
// finished request has no verdict. `availability` is the share of the seconds with a verdict that
// should meet it. `flotilla compare` counts the seconds that miss it; a run's `passed` changes
// only through an expectation that names the SLO's metrics (availability,
// slo_violation_seconds, recovery_seconds).
struct SloSpec {
  Duration latency = std::chrono::milliseconds(500);
  double error_rate = 0.01;
  double availability = 0.999;
};

struct Scenario {
  std::string file;  // the file it was loaded from
  std::string name;
  std::string description;
  Duration duration{};
  std::uint64_t seed = 1;
  FleetSpec fleet;
  BalancerSpec balancer;
  std::vector<std::string> policies;  // resolved paths
  Duration metrics_period = std::chrono::seconds(5);
  // How AWS's durations in seconds (warm-up, cooldown) shrink at scenario speed. Unset: the
  // metrics period stands in for CloudWatch's minute, so time_scale() = metrics_period / 60 s.
  std::optional<double> time_scale;
  double effective_time_scale() const {
    return time_scale ? *time_scale : to_seconds(metrics_period) / 60.0;
  }
  // Always true for `run`; `serve` may have no traffic (then `traffic` is empty and `duration`
  // is what the file says, or 0: open-ended).
  bool has_traffic = true;
  TrafficSpec traffic;
  std::vector<Fault> faults;  // sorted by `at`
  std::vector<Expectation> expect;
  SloSpec slo;

  // The offered load over the whole duration.
  RateSchedule rate_schedule() const;
};

// The most requests per second a file may ask for.
inline constexpr double kMaxRps = 100000;

// k6-style stages, [{"duration", "target"}, ...] (non-empty), as "traffic.stages" reads them.
std::vector<Stage> parse_stages(const ConfigNode& stages);

// What the file is read for. kServe (`flotilla serve`): name, duration, traffic, faults and
// expect are optional; the name defaults to "serve"; without a duration, faults may start up to
// 24 h in and expectations' windows are read against 24 h.
enum class ScenarioUse { kRun, kServe };

// Reads and checks a scenario file; throws UserError on any mistake.
Scenario load_scenario(const std::string& path, ScenarioUse use = ScenarioUse::kRun);
// The same from a parsed document; `file` names it in errors and anchors relative paths.
Scenario parse_scenario(const nlohmann::json& document, const std::string& file,
                        ScenarioUse use = ScenarioUse::kRun);

}  // namespace flotilla
