// A scenario's faults: each kind's form, the worker choice, and every mistake with its pointer.
#include "scenario/fault.h"

#include <doctest/doctest.h>

#include "core/errors.h"

namespace flotilla {
namespace {

using json = nlohmann::json;

const std::vector<std::string> kZones = {"a", "b", "c"};

Fault parse_fault(const std::string& text, Duration duration = std::chrono::minutes(2)) {
  const json doc = json::parse(text);
  return parse_fault(ConfigNode(doc, "s.json", "/faults/0"), duration, kZones);
}

}  // namespace

TEST_CASE("parse_fault: each kind, the worker choice and what it says of itself") {
  struct Row {
    const char* text;
    FaultKind kind;
    const char* describe;
  };
  const Row rows[] = {
      {R"({"at": "45s", "kill": {"count": 2}})", FaultKind::kKill, "kill 2 workers"},
      {R"({"at": "45s", "kill": {}})", FaultKind::kKill, "kill 1 worker"},
      {R"({"at": "45s", "kill": {"workers": "33%"}})", FaultKind::kKill,
       "kill 33% of the workers"},
      {R"({"at": "1s", "for": "20s", "stop": {"workers": "oldest"}})", FaultKind::kStop,
       "stop the oldest worker for 20s"},
      {R"({"at": "1s", "for": "30s", "slow": {"workers": 1, "factor": 10}})", FaultKind::kSlow,
       "slow 1 worker x10 for 30s"},
      {R"({"at": "1s", "for": "30s", "errors": {"workers": "newest", "fraction": 0.5}})",
       FaultKind::kErrors, "errors the newest worker (50% of answers 500) for 30s"},
      {R"({"at": "1s", "crash_after": {"workers": ["i-1", "i-2"], "requests": 100}})",
       FaultKind::kCrashAfter, "crash_after i-1, i-2 after 100 more requests"},
      {R"({"at": "1s", "for": "10s", "latency": {"delay": "200ms", "jitter": "50ms"}})",
       FaultKind::kLatency, "latency 1 worker +200ms +-50ms for 10s"},
      {R"({"at": "1s", "for": "10s", "flap": {"period": "2s"}})", FaultKind::kFlap,
       "flap 1 worker every 2s for 10s"},
      {R"({"at": "1s", "for": "10s", "boot_failure": {}})", FaultKind::kBootFailure,
       "boot_failure for 10s"},
      {R"({"at": "1s", "interruption": {"workers": 2}})", FaultKind::kInterruption,
       "interruption 2 workers"},
      {R"({"at": "1s", "interruption": {"warning": "20s"}})", FaultKind::kInterruption,
       "interruption 1 worker (20s warning)"},
      {R"({"at": "1s", "for": "1m", "zone_outage": {"zone": "b"}})", FaultKind::kZoneOutage,
       "zone_outage b for 60s"},
  };
  for (const Row& row : rows) {
    CAPTURE(row.text);
    const Fault f = parse_fault(row.text);
    CHECK(f.kind == row.kind);
    CHECK(f.describe() == row.describe);
  }
  const Fault slow = parse_fault(R"({"at": "5s", "for": "30s", "slow": {"workers": 1, "factor": 10}})");
  CHECK(slow.at == std::chrono::seconds(5));
  CHECK(slow.duration == std::chrono::seconds(30));
  CHECK(slow.worker_side());
  REQUIRE(slow.set.slow.get() != nullptr);
  CHECK(slow.set.slow.get()->factor == 10);
  CHECK(slow.clear().slow.op == FaultOp::kClear);
  CHECK(slow.clear().errors.op == FaultOp::kKeep);
  CHECK_FALSE(parse_fault(R"({"at": "1s", "kill": {}})").worker_side());
}

TEST_CASE("WorkerChoice: how many of the workers in service a count or a share takes") {
  struct Row {
    WorkerChoice::Kind kind;
    int count;
    double percent;
    int in_service;
    int taken;
  };
  const Row rows[] = {
      {WorkerChoice::Kind::kCount, 2, 0, 5, 2},   {WorkerChoice::Kind::kCount, 9, 0, 5, 5},
      {WorkerChoice::Kind::kCount, 1, 0, 0, 0},   {WorkerChoice::Kind::kPercent, 0, 25, 4, 1},
      {WorkerChoice::Kind::kPercent, 0, 33, 6, 2}, {WorkerChoice::Kind::kPercent, 0, 34, 6, 3},
      {WorkerChoice::Kind::kPercent, 0, 1, 3, 1},  {WorkerChoice::Kind::kPercent, 0, 100, 3, 3},
      {WorkerChoice::Kind::kPercent, 0, 50, 0, 0}, {WorkerChoice::Kind::kOldest, 0, 0, 4, 1},
      {WorkerChoice::Kind::kNewest, 0, 0, 0, 0},
  };
  for (const Row& row : rows) {
    WorkerChoice c;
    c.kind = row.kind;
    c.count = row.count;
    c.percent = row.percent;
    CAPTURE(c.describe());
    CAPTURE(row.in_service);
    CHECK(c.how_many(row.in_service) == row.taken);
  }
}

TEST_CASE("parse_fault: mistakes name the field and what was expected") {
  struct Row {
    const char* what;
    const char* text;
    const char* pointer;
    const char* expected;
  };
  const Row rows[] = {
      {"no kind", R"({"at": "1s"})", "/faults/0", "a fault kind"},
      {"unknown kind", R"({"at": "1s", "pause": {}})", "/faults/0/pause", "a fault kind"},
      {"two kinds", R"({"at": "1s", "kill": {}, "stop": {}})", "/faults/0/stop", "one fault kind"},
      {"after the end", R"({"at": "3m", "kill": {}})", "/faults/0/at", "before the scenario's end"},
      {"stop needs for", R"({"at": "1s", "stop": {}})", "/faults/0/for", "how long"},
      {"kill takes no for", R"({"at": "1s", "for": "5s", "kill": {}})", "/faults/0/for",
       "happens at once"},
      {"ends after the scenario", R"({"at": "1m", "for": "90s", "stop": {}})", "/faults/0/for",
       "ends by the scenario's end"},
      {"count and workers", R"({"at": "1s", "kill": {"count": 1, "workers": 2}})",
       "/faults/0/kill/count", "not both"},
      {"count zero", R"({"at": "1s", "kill": {"count": 0}})", "/faults/0/kill/count",
       "whole number"},
      {"bad share", R"({"at": "1s", "kill": {"workers": "150%"}})", "/faults/0/kill/workers",
       "a percentage"},
      {"bad choice word", R"({"at": "1s", "kill": {"workers": "random"}})",
       "/faults/0/kill/workers", "\"oldest\""},
      {"an id twice", R"({"at": "1s", "kill": {"workers": ["i-1", "i-1"]}})",
       "/faults/0/kill/workers/1", "does not already name"},
      {"unknown field of a signal kind", R"({"at": "1s", "for": "5s", "stop": {"factor": 2}})",
       "/faults/0/stop/factor", "known fields"},
      {"a worker fault's own field", R"({"at": "1s", "for": "5s", "slow": {"factor": 0}})",
       "/faults/0/slow/factor", ""},
      {"boot_failure takes no workers",
       R"({"at": "1s", "for": "5s", "boot_failure": {"workers": 1}})",
       "/faults/0/boot_failure/workers", "known fields"},
      {"unknown zone", R"({"at": "1s", "for": "5s", "zone_outage": {"zone": "d"}})",
       "/faults/0/zone_outage/zone", "one of the fleet's zones (a, b, c)"},
      {"zone_outage needs a zone", R"({"at": "1s", "for": "5s", "zone_outage": {}})",
       "/faults/0/zone_outage/zone", "a value"},
  };
  for (const Row& row : rows) {
    CAPTURE(row.what);
    try {
      parse_fault(row.text);
      FAIL("accepted");
    } catch (const UserError& e) {
      CAPTURE(e.what());
      CHECK(e.pointer() == row.pointer);
      CHECK(e.expected().find(row.expected) != std::string::npos);
    }
  }
}

}  // namespace flotilla
