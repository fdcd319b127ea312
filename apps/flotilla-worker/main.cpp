// flotilla-worker: the simulated server that the auto scaling group launches.
//
// Contract with the process provider (src/fleet): once the port is bound, the process writes
// exactly one line to stdout and flushes it:
//
//   flotilla-worker listening on 127.0.0.1:PORT
//
// and nothing else to stdout afterwards (logs go to stderr). SIGTERM or SIGINT starts a graceful
// shutdown (finish in-flight and queued requests, then exit 0); a second signal ends the process
// at once. The crash_after fault (PUT /flotilla/faults, worker/control.h) ends it with
// kCrashExitCode (1) and drops what it held. User mistakes (bad profile file, bad flag value, port
// in use) print one message on stderr and exit with code 2.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "core/config.h"
#include "core/duration.h"
#include "core/errors.h"
#include "flotilla_version.h"
#include "worker/faults.h"
#include "worker/profile.h"
#include "worker/server.h"

namespace flotilla {
namespace {

Duration duration_flag(const std::string& flag, const std::string& text, Duration min,
                       Duration max) {
  const auto d = parse_duration(text);
  if (!d || *d < min || *d > max)
    throw UserError(flag + ": expected a duration such as \"500ms\", \"20s\" or \"2m\" between " +
                    format_duration(min) + " and " + format_duration(max) + ", got \"" + text +
                    "\"");
  return *d;
}

struct Flags {
  std::string profile_path;
  std::string profile_json;
  std::optional<int> capacity;
  std::optional<std::string> service_time_mean;
  std::optional<std::string> distribution;
  std::optional<std::string> p99;
  std::optional<int> queue_limit;
  std::optional<std::string> boot_time;
  std::string id = "worker";
  std::uint64_t seed = 1;
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
};

WorkerProfile build_profile(const Flags& f) {
  WorkerProfile p;
  if (!f.profile_path.empty()) p = load_worker_profile(f.profile_path);
  if (!f.profile_json.empty()) {
    const auto doc = nlohmann::json::parse(f.profile_json, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded()) throw UserError("--profile-json: expected a worker profile as JSON");
    p = parse_worker_profile(ConfigNode(doc, "--profile-json"));
  }
  if (f.capacity) p.capacity = *f.capacity;
  if (f.queue_limit) p.queue_limit = *f.queue_limit;
  if (f.boot_time)
    p.boot_time = duration_flag("--boot-time", *f.boot_time, Duration::zero(), kMaxBootTime);
  if (f.service_time_mean)
    p.service_time.mean = duration_flag("--service-time-mean", *f.service_time_mean,
                                        kMinServiceMean, kMaxServiceMean);
  if (f.distribution) {
    p.service_time.distribution = *parse_service_distribution(*f.distribution);
    // The profile's p99 belongs to its own distribution; a flag that switches away drops it.
    if (p.service_time.distribution != ServiceDistribution::kLognormal) p.service_time.p99.reset();
  }
  if (f.p99) p.service_time.p99 = duration_flag("--p99", *f.p99, kMinServiceMean, kMaxServiceMean);
  if (auto problem = service_time_p99_problem(p.service_time); !problem.empty())
    throw UserError("--p99: expected " + problem);
  return p;
}

int run(int argc, char** argv) {
  CLI::App app{"flotilla-worker: a simulated server of limited capacity"};
  Flags f;
  auto* profile = app.add_option("--profile", f.profile_path, "worker profile file (fleet/*.json)");
  // A container on another node has no copy of the file: the swarm provider sends its content.
  app.add_option("--profile-json", f.profile_json, "worker profile as JSON text")
      ->excludes(profile);
  app.add_option("--capacity", f.capacity, "requests served at once")
      ->check(CLI::Range(1, kMaxCapacity));
  app.add_option("--service-time-mean", f.service_time_mean, "mean service time, e.g. 20ms");
  app.add_option("--distribution", f.distribution, "service time distribution")
      ->check(CLI::IsMember({"constant", "exponential", "lognormal"}));
  app.add_option("--p99", f.p99, "99th percentile service time (lognormal)");
  app.add_option("--queue-limit", f.queue_limit, "requests waiting beyond capacity")
      ->check(CLI::Range(0, kMaxQueueLimit));
  app.add_option("--boot-time", f.boot_time, "time until /health answers 200, e.g. 1s");
  app.add_option("--id", f.id, "worker id, sent as X-Flotilla-Worker");
  app.add_option("--seed", f.seed, "seed of the service time draws");
  // --bind is the name the swarm provider uses: the node's address, or 0.0.0.0.
  app.add_option("--host,--bind", f.host, "address to listen on");
  app.add_option("--port", f.port, "port to listen on (0: the OS picks)");
  app.set_version_flag("--version", version_line("flotilla-worker"));
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "flotilla-worker: " << e.what() << "\n";
    return kExitUsage;
  }

  try {
    WorkerServer server(build_profile(f), f.id, f.seed, f.host, f.port);
    server.shutdown_on_signals();
    std::printf("flotilla-worker listening on %s:%u\n", server.host().c_str(),
                static_cast<unsigned>(server.port()));
    std::fflush(stdout);
    server.run();
    if (server.crashed()) {
      std::cerr << "flotilla-worker: crash_after: exiting with code " << kCrashExitCode << "\n";
      return kCrashExitCode;
    }
  } catch (const UserError& e) {
    std::cerr << "flotilla-worker: " << e.what() << "\n";
    return kExitUsage;
  }
  return kExitOk;
}

}  // namespace
}  // namespace flotilla

int main(int argc, char** argv) { return flotilla::run(argc, argv); }
