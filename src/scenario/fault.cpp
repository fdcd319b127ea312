#include "scenario/fault.h"

#include <algorithm>
#include <cmath>
#include <initializer_list>

#include "core/duration.h"
#include "core/errors.h"
#include "core/format.h"

namespace flotilla {

namespace {

constexpr int kMaxWorkers = 1000;

struct KindInfo {
  FaultKind kind;
  std::string_view name;
  bool needs_for;
  bool takes_workers;
};

constexpr KindInfo kKinds[] = {
    {FaultKind::kKill, "kill", false, true},
    {FaultKind::kStop, "stop", true, true},
    {FaultKind::kSlow, "slow", true, true},
    {FaultKind::kErrors, "errors", true, true},
    {FaultKind::kCrashAfter, "crash_after", false, true},
    {FaultKind::kLatency, "latency", true, true},
    {FaultKind::kFlap, "flap", true, true},
    {FaultKind::kBootFailure, "boot_failure", true, false},
    {FaultKind::kInterruption, "interruption", false, true},
    {FaultKind::kZoneOutage, "zone_outage", true, false},
};

const KindInfo& info(FaultKind kind) {
  for (const auto& k : kKinds)
    if (k.kind == kind) return k;
  return kKinds[0];
}

std::string kind_list() {
  std::vector<std::string_view> names;
  for (const auto& k : kKinds) names.push_back(k.name);
  return join(names);
}

}  // namespace

WorkerChoice parse_workers(const ConfigNode& node) {
  WorkerChoice c;
  const nlohmann::json& j = node.json();
  const std::string expected =
      "a count of workers (1), a percentage (\"25%\"), \"oldest\", \"newest\" or a list of "
      "worker ids";
  if (j.is_number()) {
    c.kind = WorkerChoice::Kind::kCount;
    c.count = static_cast<int>(node.as_int(1, kMaxWorkers));
    return c;
  }
  if (j.is_string()) {
    const std::string s = j.get<std::string>();
    if (s == "oldest") {
      c.kind = WorkerChoice::Kind::kOldest;
      return c;
    }
    if (s == "newest") {
      c.kind = WorkerChoice::Kind::kNewest;
      return c;
    }
    if (s.size() >= 2 && s.back() == '%') {
      const auto number = nlohmann::json::parse(s.substr(0, s.size() - 1), nullptr, false);
      if (number.is_number() && number.get<double>() > 0 && number.get<double>() <= 100) {
        c.kind = WorkerChoice::Kind::kPercent;
        c.percent = number.get<double>();
        return c;
      }
    }
    node.fail(expected);
  }
  if (j.is_array()) {
    c.kind = WorkerChoice::Kind::kIds;
    for (const auto& item : node.items()) {
      const std::string id = item.as_nonempty_string();
      if (std::find(c.ids.begin(), c.ids.end(), id) != c.ids.end())
        item.fail("a worker id the list does not already name");
      c.ids.push_back(id);
    }
    if (c.ids.empty()) node.fail(expected);
    return c;
  }
  node.fail(expected);
}

std::string_view to_string(FaultKind kind) { return info(kind).name; }

std::string WorkerChoice::describe() const {
  switch (kind) {
    case Kind::kCount:
      return std::to_string(count) + (count == 1 ? " worker" : " workers");
    case Kind::kPercent:
      return format_number(percent, 4) + "% of the workers";
    case Kind::kOldest:
      return "the oldest worker";
    case Kind::kNewest:
      return "the newest worker";
    case Kind::kIds:
      return join(ids);
  }
  return "";
}

int WorkerChoice::how_many(int in_service) const {
  switch (kind) {
    case Kind::kCount:
      return std::min(count, in_service);
    case Kind::kPercent:
      if (in_service == 0) return 0;
      return std::clamp(static_cast<int>(std::ceil(in_service * percent / 100.0 - 1e-9)), 1,
                        in_service);
    case Kind::kOldest:
    case Kind::kNewest:
      return std::min(1, in_service);
    case Kind::kIds:
      return static_cast<int>(ids.size());
  }
  return 0;
}

bool Fault::takes_workers() const { return info(kind).takes_workers; }

bool Fault::worker_side() const {
  return kind == FaultKind::kSlow || kind == FaultKind::kErrors ||
         kind == FaultKind::kCrashAfter || kind == FaultKind::kLatency || kind == FaultKind::kFlap;
}

WorkerFaults Fault::clear() const {
  WorkerFaults f;
  switch (kind) {
    case FaultKind::kSlow:
      f.slow = FaultSetting<SlowFault>::clear();
      break;
    case FaultKind::kErrors:
      f.errors = FaultSetting<ErrorsFault>::clear();
      break;
    case FaultKind::kLatency:
      f.latency = FaultSetting<LatencyFault>::clear();
      break;
    case FaultKind::kFlap:
      f.flap = FaultSetting<FlapFault>::clear();
      break;
    default:
      break;
  }
  return f;
}

std::string Fault::describe() const {
  std::string out(to_string(kind));
  if (takes_workers()) out += " " + workers.describe();
  switch (kind) {
    case FaultKind::kSlow:
      if (const auto* s = set.slow.get()) out += " x" + format_number(s->factor, 4);
      break;
    case FaultKind::kErrors:
      if (const auto* e = set.errors.get())
        out += " (" + format_number(e->fraction * 100, 4) + "% of answers 500)";
      break;
    case FaultKind::kCrashAfter:
      if (const auto* c = set.crash_after.get())
        out += " after " + std::to_string(c->requests) + " more requests";
      break;
    case FaultKind::kLatency:
      if (const auto* l = set.latency.get()) {
        out += " +" + format_duration(l->delay);
        if (l->jitter > Duration::zero()) out += " +-" + format_duration(l->jitter);
      }
      break;
    case FaultKind::kFlap:
      if (const auto* f = set.flap.get()) out += " every " + format_duration(f->period);
      break;
    case FaultKind::kInterruption:
      if (warning) out += " (" + format_duration(*warning) + " warning)";
      break;
    case FaultKind::kZoneOutage:
      out += " " + zone;
      break;
    default:
      break;
  }
  if (duration) out += " for " + format_duration(*duration);
  return out;
}

Fault parse_fault(const ConfigNode& node, Duration scenario_duration,
                  const std::vector<std::string>& zones, bool control_interface) {
  if (!node.is_object()) node.fail("a fault: {\"at\": \"45s\", \"<kind>\": {...}}");
  // Exactly one kind, beside "at" and "for".
  std::optional<FaultKind> kind;
  for (auto it = node.json().begin(); it != node.json().end(); ++it) {
    if (it.key() == "at" || it.key() == "for") continue;
    const auto k = std::find_if(std::begin(kKinds), std::end(kKinds),
                                [&](const KindInfo& i) { return i.name == it.key(); });
    if (k == std::end(kKinds)) {
      std::vector<std::string_view> known = {"at", "for"};
      for (const auto& i : kKinds) known.push_back(i.name);
      throw UserError(node.file(), node.pointer() + "/" + json_pointer_escape(it.key()),
                      "\"at\", \"for\" or a fault kind (" + kind_list() +
                          "), got an unknown field" + did_you_mean(it.key(), known));
    }
    if (kind)
      throw UserError(node.file(), node.pointer() + "/" + json_pointer_escape(it.key()),
                      "one fault kind per entry, got a second one");
    kind = k->kind;
  }
  if (!kind) node.fail("a fault kind (" + kind_list() + ")");
  const KindInfo& k = info(*kind);

  Fault fault;
  fault.kind = *kind;
  if (!control_interface && fault.worker_side())
    node.at(k.name).fail(
        "a fault these workers can suffer (kill, stop, boot_failure, interruption, zone_outage): " +
        std::string(k.name) +
        " needs flotilla-worker's control interface, which the command "
        "provider's servers lack");
  const ConfigNode at = node.at("at");
  fault.at = at.as_duration();
  if (fault.at >= scenario_duration)
    at.fail("a time before the scenario's end (" + format_duration(scenario_duration) + ")");
  if (auto f = node.get("for")) {
    if (!k.needs_for) f->fail("no \"for\": " + std::string(k.name) + " happens at once");
    fault.duration = f->as_duration(std::chrono::milliseconds(1), std::chrono::hours(24));
    if (fault.at + *fault.duration > scenario_duration)
      f->fail("a fault that ends by the scenario's end (" + format_duration(scenario_duration) +
              ")");
  } else if (k.needs_for) {
    node.child_pointer_only("for").fail("how long the fault lasts, e.g. \"30s\"");
  }

  const ConfigNode body = node.at(k.name);
  if (!body.is_object()) body.fail("an object");
  if (k.takes_workers) {
    if (fault.kind == FaultKind::kKill && body.has("count")) {
      if (body.has("workers")) body.at("count").fail("either \"count\" or \"workers\", not both");
      fault.workers.count = static_cast<int>(body.at("count").as_int(1, kMaxWorkers));
    } else {
      if (auto w = body.get("workers")) fault.workers = parse_workers(*w);
    }
  }
  switch (fault.kind) {
    case FaultKind::kKill:
      body.only_keys({"workers", "count"});
      break;
    case FaultKind::kStop:
      body.only_keys({"workers"});
      break;
    case FaultKind::kSlow:
    case FaultKind::kErrors:
    case FaultKind::kCrashAfter:
    case FaultKind::kLatency:
    case FaultKind::kFlap:
      parse_worker_fault(k.name, body, fault.set, {"workers"});
      break;
    case FaultKind::kBootFailure:
      body.only_keys({});
      break;
    case FaultKind::kInterruption:
      body.only_keys({"workers", "warning"});
      if (auto w = body.get("warning"))
        fault.warning = w->as_duration(Duration::zero(), std::chrono::hours(1));
      break;
    case FaultKind::kZoneOutage: {
      body.only_keys({"zone"});
      const ConfigNode z = body.at("zone");
      fault.zone = z.as_nonempty_string();
      if (std::find(zones.begin(), zones.end(), fault.zone) == zones.end()) {
        z.fail(zones.empty() ? std::string("a zone of fleet.zones (the fleet names none)")
                             : "one of the fleet's zones (" + join(zones) + ")");
      }
      break;
    }
  }
  return fault;
}

}  // namespace flotilla
