#include "scenario/scenario.h"

#include <arpa/inet.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/config.h"
#include "core/duration.h"
#include "core/errors.h"
#include "core/format.h"

namespace flotilla {

namespace {

constexpr int kMaxFleetSize = 1000;
constexpr std::size_t kMaxRequestMix = 100;
constexpr double kMaxRequestWeight = 1e9;
// Larger bodies would measure copying on the loopback more than the fleet.
constexpr std::int64_t kMaxRequestBodyBytes = 1 << 20;
const Duration kMaxScenario = std::chrono::hours(24);
// A weekly cycle is the longest that means anything over a scenario of at most a day.
const Duration kMaxSinePeriod = std::chrono::hours(24 * 7);

bool valid_name(const std::string& name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
  });
}

FleetSpec parse_fleet(const ConfigNode& node) {
  node.only_keys({"provider", "profile", "command", "health_check", "boot_time", "image",
                  "constraints", "bind", "min", "max", "desired", "health_check_type",
                  "health_check_grace_period", "termination_policy",
                  "new_instances_protected_from_scale_in", "zones"});
  FleetSpec fleet;
  if (auto provider = node.get("provider"))
    fleet.provider = provider->as_enum({kProviderProcess, kProviderCommand, kProviderSwarm});
  if (fleet.provider != kProviderSwarm) {
    for (const char* key : {"image", "constraints", "bind"})
      if (auto n = node.get(key))
        n->fail(std::string("no \"") + key + "\" with the " + fleet.provider +
                " provider; or \"provider\": \"swarm\"");
  } else {
    if (auto image = node.get("image")) fleet.image = image->as_nonempty_string();
    if (auto bind = node.get("bind")) {
      fleet.bind = bind->as_nonempty_string();
      in_addr address{};
      if (::inet_pton(AF_INET, fleet.bind.c_str(), &address) != 1)
        bind->fail("an IPv4 address such as \"127.0.0.1\" or \"0.0.0.0\"");
    }
    if (auto constraints = node.get("constraints"))
      for (const auto& c : constraints->items()) {
        // Swarm's own syntax: an attribute, == or !=, and a value.
        const std::string text = c.as_nonempty_string();
        if (text.find("==") == std::string::npos && text.find("!=") == std::string::npos)
          c.fail("a placement constraint such as \"node.role==manager\" (== or !=)");
        fleet.constraints.push_back(text);
      }
  }
  if (fleet.provider == kProviderCommand) {
    const ConfigNode command = node.at("command");
    const auto args = command.items();
    if (args.empty()) command.fail("a non-empty array: the program and its arguments");
    for (const auto& arg : args) fleet.command.push_back(arg.as_nonempty_string());
    if (std::none_of(fleet.command.begin(), fleet.command.end(), [](const std::string& arg) {
          return arg.find("{port}") != std::string::npos;
        }))
      command.fail("an argument with \"{port}\", where Flotilla tells the server its port");
    if (auto health = node.get("health_check")) {
      // Its fields are read with the balancer's health check parser, over the balancer's
      // health_check (orchestrator/balance_config.h scenario_balancer()).
      if (!health->json().is_object()) health->fail("an object such as {\"path\": \"/health\"}");
      fleet.health_check = health->json();
    }
    if (auto boot = node.get("boot_time"))
      fleet.boot_time = boot->as_duration(Duration::zero(), std::chrono::hours(1));
    if (node.has("profile")) fleet.profile = node.at("profile").as_path();
  } else {
    for (const char* key : {"command", "health_check", "boot_time"})
      if (auto n = node.get(key))
        n->fail(std::string("no \"") + key + "\" with the " + fleet.provider +
                " provider (the profile describes its worker); or "
                "\"provider\": \"command\"");
    fleet.profile = node.at("profile").as_path();
  }
  if (auto zones = node.get("zones")) {
    const auto items = zones->items();
    if (items.empty()) zones->fail("a non-empty array of zone names, e.g. [\"a\", \"b\", \"c\"]");
    for (const auto& z : items) {
      const std::string name = z.as_nonempty_string();
      if (!valid_name(name)) z.fail("a zone name of letters, digits, '-', '_' and '.'");
      if (std::find(fleet.zones.begin(), fleet.zones.end(), name) != fleet.zones.end())
        z.fail("a zone no other entry names");
      fleet.zones.push_back(name);
    }
  }
  if (auto t = node.get("health_check_type")) fleet.health_check_type = t->as_enum({"EC2", "ELB"});
  if (auto g = node.get("health_check_grace_period"))
    fleet.health_check_grace_period = g->as_duration(Duration::zero(), std::chrono::hours(2));
  if (auto t = node.get("termination_policy"))
    fleet.termination_policy = t->as_enum({"Default", "OldestInstance", "NewestInstance"});
  if (auto p = node.get("new_instances_protected_from_scale_in"))
    fleet.new_instances_protected_from_scale_in = p->as_bool();
  fleet.max = static_cast<int>(node.at("max").as_int(1, kMaxFleetSize));
  const ConfigNode min = node.at("min");
  fleet.min = static_cast<int>(min.as_int(0, kMaxFleetSize));
  if (fleet.min > fleet.max) min.fail("a whole number <= max (" + std::to_string(fleet.max) + ")");
  fleet.desired = fleet.min;
  if (auto desired = node.get("desired")) {
    fleet.desired = static_cast<int>(desired->as_int(0, kMaxFleetSize));
    if (fleet.desired < fleet.min || fleet.desired > fleet.max)
      desired->fail("a whole number between min (" + std::to_string(fleet.min) + ") and max (" +
                    std::to_string(fleet.max) + ")");
  }
  return fleet;
}

}  // namespace

std::vector<Stage> parse_stages(const ConfigNode& stages) {
  const auto items = stages.items();
  if (items.empty()) stages.fail("a non-empty array of stages ({\"duration\", \"target\"})");
  std::vector<Stage> out;
  for (const auto& item : items) {
    item.only_keys({"duration", "target"});
    Stage stage;
    stage.duration = item.at("duration").as_duration(Duration::zero(), kMaxScenario);
    stage.target = item.at("target").as_number(0, kMaxRps);
    out.push_back(stage);
  }
  return out;
}

namespace {

TracePlayback parse_trace_playback(const ConfigNode& node) {
  node.only_keys({"file", "speedup", "scale", "offset"});
  TracePlayback p;
  p.trace = load_trace(node.at("file").as_path());
  if (auto speedup = node.get("speedup")) p.speedup = speedup->as_number(1e-3, 1e6);
  if (auto scale = node.get("scale")) {
    p.scale = scale->as_number(0, kMaxRps);
    if (p.trace.peak.rps * p.scale > kMaxRps)
      scale->fail("a scale that keeps the trace's peak (" + format_number(p.trace.peak.rps) +
                  " requests/s at t_seconds " + format_number(p.trace.peak.t_s) + ") at most " +
                  format_number(kMaxRps) + " requests/s");
  } else if (p.trace.peak.rps > kMaxRps) {
    node.child_pointer_only("scale").fail(
        "a scale below 1: the trace's peak (" + format_number(p.trace.peak.rps) +
        " requests/s) is above " + format_number(kMaxRps) + " requests/s");
  }
  if (auto offset = node.get("offset")) {
    p.offset = offset->as_duration();
    const Duration length = from_seconds(p.trace.length_s());
    if (p.offset >= length)
      offset->fail("a duration before the trace's end (" + format_duration(length) + ")");
  }
  return p;
}

Sine parse_sine(const ConfigNode& node) {
  node.only_keys({"base", "amplitude", "period"});
  Sine sine;
  sine.base = node.at("base").as_number(0, kMaxRps);
  const ConfigNode amplitude = node.at("amplitude");
  sine.amplitude = amplitude.as_number(0, kMaxRps);
  if (sine.base + sine.amplitude > kMaxRps)
    amplitude.fail("a number <= " + format_number(kMaxRps - sine.base) +
                   " (base + amplitude <= " + format_number(kMaxRps) + ")");
  sine.period = node.at("period").as_duration(std::chrono::seconds(1), kMaxSinePeriod);
  return sine;
}

std::string parse_request_path(const ConfigNode& node) {
  std::string path = node.as_nonempty_string();
  if (path.front() != '/' || path.find_first_of(" \r\n\t") != std::string::npos)
    node.fail("a request path starting with '/' and without spaces");
  return path;
}

std::vector<RequestSpec> parse_requests(const ConfigNode& node) {
  const auto items = node.items();
  if (items.empty() || items.size() > kMaxRequestMix)
    node.fail("an array of 1 to " + std::to_string(kMaxRequestMix) +
              " requests ({\"path\", \"method\", \"weight\", \"body_bytes\"})");
  std::vector<RequestSpec> out;
  for (const auto& item : items) {
    item.only_keys({"path", "method", "weight", "body_bytes"});
    RequestSpec r;
    r.path = parse_request_path(item.at("path"));
    if (auto method = item.get("method"))
      r.method = method->as_enum({kRequestMethods[0], kRequestMethods[1], kRequestMethods[2],
                                  kRequestMethods[3], kRequestMethods[4], kRequestMethods[5]});
    if (auto weight = item.get("weight")) {
      r.weight = weight->as_number(0, kMaxRequestWeight);
      if (r.weight <= 0) weight->fail("a number > 0");
    }
    if (auto body = item.get("body_bytes"))
      r.body_bytes = static_cast<std::size_t>(body->as_int(0, kMaxRequestBodyBytes));
    out.push_back(std::move(r));
  }
  return out;
}

TrafficSpec parse_traffic(const ConfigNode& node) {
  node.only_keys(
      {"start_rps", "stages", "trace", "sine", "arrivals", "path", "requests", "connections"});
  TrafficSpec traffic;
  if (node.has("stages") + node.has("trace") + node.has("sine") != 1)
    node.fail("exactly one of \"stages\", \"trace\" and \"sine\"");
  if (auto stages = node.get("stages")) {
    traffic.stages = parse_stages(*stages);
    if (auto start = node.get("start_rps")) traffic.start_rps = start->as_number(0, kMaxRps);
  } else {
    if (auto start = node.get("start_rps"))
      start->fail("no start_rps beside \"trace\" or \"sine\" (it is where the first stage starts)");
    if (auto trace = node.get("trace")) traffic.trace = parse_trace_playback(*trace);
    if (auto sine = node.get("sine")) traffic.sine = parse_sine(*sine);
  }
  if (auto arrivals = node.get("arrivals"))
    traffic.arrivals = arrivals->as_enum({"uniform", "poisson"}) == "poisson" ? Arrivals::kPoisson
                                                                              : Arrivals::kUniform;
  if (auto requests = node.get("requests")) {
    if (node.has("path"))
      requests->fail("either \"path\" or \"requests\", not both (a mix names each entry's path)");
    traffic.requests = parse_requests(*requests);
  } else if (auto path = node.get("path")) {
    traffic.requests.front().path = parse_request_path(*path);
  }
  if (auto connections = node.get("connections"))
    traffic.connections = connections->as_enum({"keep_alive", "new"}) == "new"
                              ? Connections::kNew
                              : Connections::kKeepAlive;
  return traffic;
}

// The scenario's length: as given, else what the traffic shape implies (see scenario.h).
Duration parse_scenario_duration(const ConfigNode& root, const TrafficSpec& traffic) {
  const std::optional<ConfigNode> given = root.get("duration");
  std::optional<Duration> duration;
  if (given) duration = given->as_duration(std::chrono::milliseconds(1), kMaxScenario);
  const ConfigNode missing = root.child_pointer_only("duration");
  if (traffic.trace) {
    const Duration playable = traffic.trace->playable();
    if (duration) {
      if (*duration > playable)
        given->fail("a duration <= " + format_duration(playable) +
                    " (how long the trace plays after offset and speedup), or no duration");
      return *duration;
    }
    if (playable > kMaxScenario)
      missing.fail("a duration of at most " + format_duration(kMaxScenario) + " (the trace plays " +
                   format_duration(playable) + " after offset and speedup)");
    if (playable < std::chrono::milliseconds(1))
      missing.fail("a duration (the trace plays under 1ms after offset and speedup)");
    return playable;
  }
  if (traffic.sine) {
    if (duration) return *duration;
    if (traffic.sine->period > kMaxScenario)
      missing.fail("a duration of at most " + format_duration(kMaxScenario) +
                   " (it defaults to one period, " + format_duration(traffic.sine->period) + ")");
    return traffic.sine->period;
  }
  Duration stage_total{};
  for (const auto& stage : traffic.stages) stage_total += stage.duration;
  const ConfigNode stages = root.at("traffic").at("stages");
  if (duration) {
    if (stage_total > *duration)
      given->fail("a duration >= the stages' total (" + format_duration(stage_total) +
                  "), or no duration");
    return *duration;
  }
  if (stage_total <= Duration::zero()) stages.fail("stages whose durations add up to more than 0s");
  if (stage_total > kMaxScenario) stages.fail("stages that add up to at most 24h");
  return stage_total;
}


}  // namespace


std::string TrafficSpec::describe() const {
  std::string out = describe_shape();
  if (requests.size() > 1) out += ", a mix of " + std::to_string(requests.size()) + " requests";
  if (connections == Connections::kNew) out += ", a new connection per request";
  return out;
}

std::string TrafficSpec::describe_shape() const {
  if (trace) {
    const Trace& t = trace->trace;
    std::string out = "trace " + std::filesystem::path(t.file).filename().string() + " (" +
                      std::to_string(t.rows.size()) + " rows, " +
                      format_duration(from_seconds(t.length_s())) + ", peak " +
                      format_number(t.peak.rps) + " rps)";
    if (trace->offset > Duration::zero()) out += " from " + format_duration(trace->offset);
    out += " at speedup " + format_number(trace->speedup, 3) + ", scale " +
           format_number(trace->scale, 3);
    return out;
  }
  if (sine)
    return "sine " + format_number(sine->base) + " +- " + format_number(sine->amplitude) +
           " rps, period " + format_duration(sine->period);
  return std::to_string(stages.size()) + (stages.size() == 1 ? " stage" : " stages");
}

RateSchedule Scenario::rate_schedule() const {
  if (traffic.trace) return RateSchedule(traffic.trace->points(duration), duration);
  if (traffic.sine) return RateSchedule(*traffic.sine, duration);
  return RateSchedule(traffic.start_rps, traffic.stages, duration);
}

Scenario parse_scenario(const nlohmann::json& document, const std::string& file,
                        ScenarioUse use) {
  const bool serve = use == ScenarioUse::kServe;
  const ConfigNode root(document, file);
  root.only_file_keys({"name", "description", "duration", "seed", "fleet", "balancer", "policies",
                  "metrics", "time_scale", "traffic", "faults", "expect", "slo"});
  Scenario s;
  s.file = file;
  if (serve && !root.has("name")) {
    s.name = "serve";
  } else {
    const ConfigNode name = root.at("name");
    s.name = name.as_nonempty_string();
    if (!valid_name(s.name)) name.fail("a name of letters, digits, '-', '_' and '.'");
  }
  if (auto d = root.get("description")) s.description = d->as_string();
  if (auto seed = root.get("seed")) s.seed = static_cast<std::uint64_t>(seed->as_int(0));

  s.fleet = parse_fleet(root.at("fleet"));

  if (auto balancer = root.get("balancer")) {
    balancer->only_keys({"algorithm", "timeouts", "retries", "health_check",
                         "deregistration_delay", "slow_start", "fail_open",
                         "outlier_detection"});
    if (auto algorithm = balancer->get("algorithm"))
      s.balancer.algorithm = algorithm->as_enum({kBalancerAlgorithms[0], kBalancerAlgorithms[1],
                                                 kBalancerAlgorithms[2], kBalancerAlgorithms[3]});
    s.balancer.settings = balancer->json();
    s.balancer.settings.erase("algorithm");
  }
  if (auto policies = root.get("policies"))
    for (const auto& p : policies->items()) s.policies.push_back(p.as_path());
  if (auto metrics = root.get("metrics")) {
    metrics->only_keys({"period"});
    if (auto period = metrics->get("period"))
      s.metrics_period = period->as_duration(std::chrono::milliseconds(100), std::chrono::hours(1));
  }
  if (auto scale = root.get("time_scale")) s.time_scale = scale->as_number(1e-4, 1e4);

  if (serve && !root.has("traffic")) {
    s.has_traffic = false;
    if (auto d = root.get("duration"))
      s.duration = d->as_duration(std::chrono::milliseconds(1), kMaxScenario);
  } else {
    s.traffic = parse_traffic(root.at("traffic"));
    s.duration = parse_scenario_duration(root, s.traffic);
  }
  // What faults and expectation windows are read against: serve goes on after the traffic.
  const Duration horizon = serve && !root.has("duration") ? kMaxScenario : s.duration;

  if (auto faults = root.get("faults"))
    for (const auto& f : faults->items())
      s.faults.push_back(
          parse_fault(f, horizon, s.fleet.zones, s.fleet.provider != kProviderCommand));
  std::stable_sort(s.faults.begin(), s.faults.end(),
                   [](const Fault& a, const Fault& b) { return a.at < b.at; });
  if (auto expect = root.get("expect")) {
    const ExpectationContext context{horizon, !s.faults.empty()};
    for (const auto& e : expect->items()) s.expect.push_back(parse_expectation(e, context));
  }
  if (auto slo = root.get("slo")) {
    slo->only_keys({"latency", "error_rate", "availability"});
    if (auto latency = slo->get("latency"))
      s.slo.latency = latency->as_duration(std::chrono::microseconds(1), std::chrono::hours(1));
    if (auto rate = slo->get("error_rate")) s.slo.error_rate = rate->as_number(0, 1);
    if (auto availability = slo->get("availability"))
      s.slo.availability = availability->as_number(0, 1);
  }
  return s;
}

Scenario load_scenario(const std::string& path, ScenarioUse use) {
  return parse_scenario(load_json_file(path), path, use);
}

}  // namespace flotilla
