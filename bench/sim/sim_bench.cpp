// flotilla-sim-bench: how fast the simulated world runs, against a bare event loop of the same
// model built and run beside it in the same process (`make bench-sim`).
//
// The engine: `flotilla run --sim`'s own path (scenario_run.h) with everything on: the group,
// the scaling loop with a target tracking policy and its alarms, the collector every period,
// the target group's health checks and load polls, the least outstanding requests picker, the
// retry decision, the per-second series. The fleet is fixed (min = max = desired) so that every
// run does the same work, at about half its capacity.
//
// The bare loop: the same model and nothing else: uniform arrivals, N workers of 4 slots with
// exponential 20 ms service times and a queue of 64, least outstanding requests by a scan, one
// binary heap of events, one latency histogram.
//
// A request counts once, retries included. Figures are medians of --repeats runs, interleaved.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>
#include <queue>
#include <spdlog/spdlog.h>
#include <sstream>
#include <string>
#include <vector>

#include "core/histogram.h"
#include "core/random.h"
#include "orchestrator/scenario_run.h"
#include "scenario/scenario.h"

using namespace flotilla;
using Clock = std::chrono::steady_clock;

namespace {

constexpr double kRpsPerWorker = 100;  // half of 4 slots / 20 ms

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// One run of the engine: returns simulated requests per second of wall time.
double run_engine(const std::string& source, int workers, double requests) {
  const double rps = kRpsPerWorker * workers;
  const double seconds = std::max(10.0, requests / rps);
  const nlohmann::json doc = {
      {"name", "sim-bench"},
      {"duration", std::to_string(static_cast<long long>(seconds)) + "s"},
      {"seed", 1},
      {"fleet", {{"profile", "fleet/standard.json"}, {"min", workers}, {"max", workers}}},
      {"balancer", {{"algorithm", "least_outstanding_requests"}}},
      {"policies", {"policies/aws-cpu-target-50.json"}},
      {"metrics", {{"period", "60s"}}},
      {"traffic", {{"start_rps", rps}, {"stages", {{{"duration", "1s"}, {"target", rps}}}}}}};
  const Scenario scenario = parse_scenario(doc, source + "/scenarios/sim-bench.json");
  ScenarioRunSpec spec;
  spec.simulated = true;
  spec.seed = 1;
  spec.progress = false;
  std::ostringstream out;
  const auto start = Clock::now();
  const ScenarioRunResult result = run_scenario_once(scenario, spec, out);
  const double wall = seconds_since(start);
  if (result.broke) {
    std::cerr << "sim-bench: the engine's run broke: " << result.why << "\n";
    std::exit(1);
  }
  return static_cast<double>(result.record.requests.sent) / wall;
}

// The bare loop.
struct BareEvent {
  double t;
  std::uint64_t seq;
  int worker;      // -1: an arrival
  double arrived;  // a completion: when its request arrived
  bool operator>(const BareEvent& o) const { return t != o.t ? t > o.t : seq > o.seq; }
};

double run_bare(int workers, double requests) {
  const double rps = kRpsPerWorker * workers;
  const auto total = static_cast<std::uint64_t>(requests);
  struct Worker {
    int busy = 0;
    std::vector<double> queue;  // arrival times
    std::size_t head = 0;
  };
  std::vector<Worker> fleet(static_cast<std::size_t>(workers));
  for (auto& w : fleet) w.queue.reserve(64);
  SeededRandom random(1);
  LatencyHistogram latency;
  std::priority_queue<BareEvent, std::vector<BareEvent>, std::greater<>> heap;
  std::uint64_t seq = 0, sent = 0;
  const auto start = Clock::now();
  heap.push({0.5 / rps, seq++, -1, 0});
  while (!heap.empty()) {
    const BareEvent e = heap.top();
    heap.pop();
    if (e.worker < 0) {
      ++sent;
      std::size_t best = 0;
      int best_load = 1 << 30;
      for (std::size_t i = 0; i < fleet.size(); ++i) {
        const int load = fleet[i].busy + static_cast<int>(fleet[i].queue.size() - fleet[i].head);
        if (load < best_load) {
          best_load = load;
          best = i;
        }
      }
      Worker& w = fleet[best];
      if (w.busy < 4) {
        ++w.busy;
        heap.push({e.t + random.exponential(0.020), seq++, static_cast<int>(best), e.t});
      } else if (w.queue.size() - w.head < 64) {
        w.queue.push_back(e.t);
      }
      if (sent < total) heap.push({(static_cast<double>(sent) + 0.5) / rps, seq++, -1, 0});
      continue;
    }
    Worker& w = fleet[static_cast<std::size_t>(e.worker)];
    latency.record(from_seconds(e.t - e.arrived));
    --w.busy;
    if (w.head < w.queue.size()) {
      const double arrived = w.queue[w.head++];
      if (w.head == w.queue.size()) {
        w.queue.clear();
        w.head = 0;
      }
      ++w.busy;
      heap.push({e.t + random.exponential(0.020), seq++, e.worker, arrived});
    }
  }
  const double wall = seconds_since(start);
  if (latency.count() == 0) std::exit(1);
  return static_cast<double>(sent) / wall;
}

}  // namespace

int main(int argc, char** argv) {
  spdlog::set_level(spdlog::level::warn);
  std::string source = FLOTILLA_SOURCE_DIR;
  double requests = 20e6;
  int repeats = 5;
  std::vector<int> fleets = {20, 100, 1000};
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--source") source = argv[i + 1];
    if (flag == "--requests") requests = std::atof(argv[i + 1]);
    if (flag == "--repeats") repeats = std::atoi(argv[i + 1]);
    if (flag == "--workers") fleets = {std::atoi(argv[i + 1])};
  }
  std::printf("simulated requests per second of wall time, medians of %d runs of %.0fM requests\n",
              repeats, requests / 1e6);
  std::printf("%8s %16s %16s %8s\n", "workers", "engine req/s", "bare loop req/s", "ratio");
  for (int workers : fleets) {
    // Fewer requests for large fleets: picking is a scan of every target.
    const double n = workers > 100 ? requests / 4 : requests;
    std::vector<double> engine, bare;
    for (int r = 0; r < repeats; ++r) {
      engine.push_back(run_engine(source, workers, n));
      bare.push_back(run_bare(workers, n));
    }
    const double e = median(engine), b = median(bare);
    std::printf("%8d %15.2fM %15.2fM %8.2f\n", workers, e / 1e6, b / 1e6, e / b);
    std::fflush(stdout);
  }
  return 0;
}
