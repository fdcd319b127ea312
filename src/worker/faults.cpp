#include "worker/faults.h"

#include <cassert>
#include <nlohmann/json.hpp>

#include "core/duration.h"

namespace flotilla {

namespace {

// Sets `into` from `node`, or clears it when `node` is null. `own` are the kind's fields.
template <class Fault, class Parse>
void parse_kind(const ConfigNode& node, FaultSetting<Fault>& into,
                std::initializer_list<std::string_view> own,
                std::initializer_list<std::string_view> also_allowed, Parse parse) {
  if (node.json().is_null()) {
    into = FaultSetting<Fault>::clear();
    return;
  }
  if (!node.is_object()) node.fail("an object");
  // The caller's own fields are left out of a copy, which then must hold only the kind's.
  nlohmann::json kinds_own = node.json();
  for (auto key : also_allowed) kinds_own.erase(std::string(key));
  const ConfigNode view(kinds_own, node.file(), node.pointer());
  view.only_keys(own);
  into = FaultSetting<Fault>::set(parse(view));
}

LatencyFault parse_latency(const ConfigNode& node) {
  LatencyFault f;
  f.delay = node.at("delay").as_duration(Duration::zero(), kMaxLatencyDelay);
  if (auto jitter = node.get("jitter")) {
    // A jitter beyond the delay would ask for answers before their requests.
    f.jitter = jitter->as_duration(Duration::zero(), f.delay);
  }
  return f;
}

}  // namespace

WorkerFaults WorkerFaults::clear_all() {
  WorkerFaults f;
  f.slow = FaultSetting<SlowFault>::clear();
  f.errors = FaultSetting<ErrorsFault>::clear();
  f.crash_after = FaultSetting<CrashAfterFault>::clear();
  f.flap = FaultSetting<FlapFault>::clear();
  f.latency = FaultSetting<LatencyFault>::clear();
  return f;
}

void parse_worker_fault(std::string_view kind, const ConfigNode& node, WorkerFaults& into,
                        std::initializer_list<std::string_view> also_allowed) {
  if (kind == "slow") {
    parse_kind(node, into.slow, {"factor"}, also_allowed, [](const ConfigNode& n) {
      return SlowFault{n.at("factor").as_number(1, kMaxSlowFactor)};
    });
  } else if (kind == "errors") {
    parse_kind(node, into.errors, {"fraction"}, also_allowed,
               [](const ConfigNode& n) { return ErrorsFault{n.at("fraction").as_number(0, 1)}; });
  } else if (kind == "crash_after") {
    parse_kind(node, into.crash_after, {"requests"}, also_allowed, [](const ConfigNode& n) {
      const auto max = static_cast<std::int64_t>(kMaxCrashAfterRequests);
      return CrashAfterFault{static_cast<std::uint64_t>(n.at("requests").as_int(1, max))};
    });
  } else if (kind == "flap") {
    parse_kind(node, into.flap, {"period"}, also_allowed, [](const ConfigNode& n) {
      return FlapFault{n.at("period").as_duration(kMinFlapPeriod, kMaxFlapPeriod)};
    });
  } else if (kind == "latency") {
    parse_kind(node, into.latency, {"delay", "jitter"}, also_allowed, parse_latency);
  } else {
    assert(false && "parse_worker_fault: not one of kWorkerFaultKinds");
  }
}

WorkerFaults parse_worker_faults(const ConfigNode& node) {
  node.only_keys({"slow", "errors", "crash_after", "flap", "latency"});
  WorkerFaults out;
  for (std::string_view kind : kWorkerFaultKinds) {
    auto it = node.json().find(kind);
    if (it == node.json().end()) continue;
    parse_worker_fault(kind, ConfigNode(*it, node.file(), node.pointer() + "/" + std::string(kind)),
                       out);
  }
  return out;
}

namespace {

template <class Fault, class ToJson>
void put(nlohmann::json& out, const char* kind, const FaultSetting<Fault>& s, ToJson to_json) {
  if (s.op == FaultOp::kKeep) return;
  out[kind] = s.op == FaultOp::kClear ? nlohmann::json(nullptr) : to_json(s.fault);
}

}  // namespace

std::string worker_faults_json(const WorkerFaults& f) {
  nlohmann::json out = nlohmann::json::object();
  put(out, "slow", f.slow, [](const SlowFault& s) { return nlohmann::json{{"factor", s.factor}}; });
  put(out, "errors", f.errors, [](const ErrorsFault& e) {
    return nlohmann::json{{"fraction", e.fraction}};
  });
  put(out, "crash_after", f.crash_after, [](const CrashAfterFault& c) {
    return nlohmann::json{{"requests", c.requests}};
  });
  put(out, "flap", f.flap, [](const FlapFault& p) {
    return nlohmann::json{{"period", format_duration(p.period)}};
  });
  put(out, "latency", f.latency, [](const LatencyFault& l) {
    return nlohmann::json{{"delay", format_duration(l.delay)},
                          {"jitter", format_duration(l.jitter)}};
  });
  return out.dump();
}

}  // namespace flotilla
