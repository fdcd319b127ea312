// flotilla-soak (`make soak`): churn through `flotilla serve` under steady load, watching serve
// for leaks and its fleet for orphans.
//
// It starts `flotilla serve tests/soak/soak.json` on OS-chosen loopback ports and sends it
// SOAK_RPS (default 1000) GETs a second for SOAK_DURATION (default 10m) from the project's load
// generator, in this process, so that every error is known by the second it was scheduled in.
// Meanwhile it acts on serve as a user would, through the admin API's commands
// (control_commands.h): every 20 s it scales out or back in (between two desired capacities
// that suit the rate), every 15 s it kills a worker in service, and every 60 s it stops one
// (a `stop` fault: SIGSTOP, SIGCONT 10 s later). Every 30 s it prints serve's RSS and open file
// descriptors (/proc/PID/status, /proc/PID/fd), the client's errors and the orphans found.
//
// Orphans: flotilla-worker processes of this build whose parent is gone (or is not serve any
// more) though serve started them, and children of serve that /api/v1/workers does not list;
// after serve exits, every worker it ever listed must be gone.
//
// Errors: a request scheduled from 1 s before a stop to 2 s after its SIGCONT is the stop's (it
// may have been in flight on the stopped worker, or sent to it before its health checks
// failed). Beside it the balancer's view of the stopped target is printed: what it had in flight
// 1 s in, and how many requests failed on it by 2 s after the SIGCONT (unless it was replaced by
// then). Any other error is a client error. soak_verdict.h says when the soak holds.
//
// The soak is bounded: its schedule is fixed by the duration, every wait has a deadline, and on
// every way out (the end, an error, SIGINT or SIGTERM) it stops the load and serve, which stops
// its workers; serve also gets SIGTERM if this process dies (PR_SET_PDEATHSIG). Its last line is
// `soak: held ...` or `soak: failed ...`; it exits 0 only when it held.
#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/duration.h"
#include "core/errors.h"
#include "scenario/load_generator.h"
#include "scenario/scenario.h"
#include "serve/admin_client.h"
#include "serve/control_commands.h"
#include "soak/soak_verdict.h"
#include "support/paths.h"
#include "support/subprocess.h"
#include "worker/profile.h"

namespace flotilla::soak {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

const std::filesystem::path kScenario = test::kSource / "tests/soak/soak.json";
const std::string kWorker = std::string(FLOTILLA_BIN_DIR) + "/flotilla-worker";

constexpr Duration kScaleEvery = 20s;
constexpr Duration kKillEvery = 15s;
constexpr Duration kStopEvery = 60s;
constexpr Duration kStopFor = 10s;
constexpr Duration kReportEvery = 30s;
// serve keeps its history for this long (pruned once a minute), so that within the first two
// minutes what it retains reaches its steady size, and a leak is not hidden behind the default
// 3 hours of retention that a 10-minute soak would never reach.
constexpr const char* kRetention = "1m";
// The warm-up: the first two minutes (half the run when it is shorter than 4 minutes).
constexpr Duration kWarmup = 120s;
// A request scheduled this long before a stop, up to this long after its SIGCONT, is the stop's.
constexpr Duration kStopWindowBefore = 1s;
constexpr Duration kStopWindowAfter = 2s;
// As long as the balancer waits for a target (its 30 s response timeout, swept every half of
// it): a failure then shows as the balancer's answer, not as the client giving up first.
constexpr Duration kRequestTimeout = 60s;

std::atomic<bool> interrupted{false};

struct Options {
  Duration duration = 10min;
  double rps = 1000;
  int low = 0, high = 0;  // the two desired capacities it scales between
  // What a stopped worker can hold: its profile's capacity plus its queue.
  std::uint64_t stop_error_limit = 0;
};

Options read_options() {
  Options o;
  if (const char* d = std::getenv("SOAK_DURATION"))
    o.duration = parse_duration_flag(d, "SOAK_DURATION", 30s);
  if (const char* r = std::getenv("SOAK_RPS")) {
    char* end = nullptr;
    o.rps = std::strtod(r, &end);
    if (end == r || *end != '\0' || !(o.rps >= 1 && o.rps <= 5000))
      throw UserError("SOAK_RPS: expected a number from 1 to 5000, got \"" + std::string(r) + "\"");
  }
  const WorkerProfile profile =
      load_worker_profile(load_scenario(kScenario.string(), ScenarioUse::kServe).fleet.profile);
  o.stop_error_limit = static_cast<std::uint64_t>(profile.capacity + profile.queue_limit);
  // The low capacity keeps the fleet at most 70% busy while two of its workers are out at once:
  // one stopped and one killed (a kill falls in every stop's 10 s), so that neither the queues
  // nor outlier detection turn the churn into errors of its own. A standard worker serves 200/s.
  const double per_worker = 0.7 * profile.capacity / to_seconds(profile.service_time.mean);
  o.low = static_cast<int>(std::ceil(o.rps / per_worker)) + 2;
  o.high = o.low + 2;
  return o;
}

double seconds_since(Clock::time_point start) { return to_seconds(Clock::now() - start); }

// ---- /proc ---------------------------------------------------------------------------------

std::uint64_t rss_kb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::strtoull(line.c_str() + 6, nullptr, 10);
  return 0;
}

// What serve's descriptors are. Connections come and go with the traffic and the fleet: those
// of its clients are as many as the client keeps open, those to its workers as many as the
// fleet and the requests in flight need. The rest (`own`) is what serve holds for itself, with
// one pipe per live worker (its stdout) also taken out; a leaked descriptor of any kind, a
// client connection the client has closed or a connection to a worker that is gone included,
// shows there.
struct Descriptors {
  std::uint64_t total = 0;
  std::uint64_t clients = 0;     // accepted on the balancer's port
  std::uint64_t to_workers = 0;  // to the port of a worker serve lists
};

// TCP sockets by inode: local and remote port.
std::map<std::string, std::pair<unsigned, unsigned>> tcp_sockets() {
  std::map<std::string, std::pair<unsigned, unsigned>> out;
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);  // the header
    while (std::getline(in, line)) {
      std::istringstream row(line);
      std::string slot, local, remote, state, skip, inode;
      row >> slot >> local >> remote >> state;
      for (int field = 5; field <= 9; ++field) row >> skip;
      row >> inode;
      const auto port = [](const std::string& address) {
        return static_cast<unsigned>(
            std::stoul(address.substr(address.rfind(':') + 1), nullptr, 16));
      };
      if (row && state != "0A") out[inode] = {port(local), port(remote)};  // 0A: listening
    }
  }
  return out;
}

Descriptors descriptors(pid_t pid, unsigned balancer_port, const std::set<unsigned>& worker_ports) {
  Descriptors d;
  const auto sockets = tcp_sockets();
  const std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    ++d.total;
    const auto target = std::filesystem::read_symlink(entry.path(), ec).string();
    if (ec || !target.starts_with("socket:[")) continue;
    const auto socket = sockets.find(target.substr(8, target.size() - 9));
    if (socket == sockets.end()) continue;
    if (socket->second.first == balancer_port)
      ++d.clients;
    else if (worker_ports.count(socket->second.second))
      ++d.to_workers;
  }
  return d;
}

// A process and what /proc/PID/stat says of it.
struct ProcInfo {
  pid_t pid = 0;
  test::ProcStat stat;
};

std::optional<ProcInfo> proc_info(pid_t pid) {
  const auto stat = test::proc_stat(pid);
  if (!stat) return std::nullopt;
  return ProcInfo{pid, *stat};
}

// Live (not zombie) processes of this build's flotilla-worker.
std::vector<ProcInfo> worker_processes() {
  std::vector<ProcInfo> out;
  DIR* d = ::opendir("/proc");
  if (!d) return out;
  while (const dirent* e = ::readdir(d)) {
    char* end = nullptr;
    const long pid = std::strtol(e->d_name, &end, 10);
    if (end == e->d_name || *end != '\0') continue;
    std::error_code ec;
    const auto exe = std::filesystem::read_symlink("/proc/" + std::string(e->d_name) + "/exe", ec);
    if (ec || exe != kWorker) continue;
    if (auto p = proc_info(static_cast<pid_t>(pid));
        p && p->stat.state != 'Z' && p->stat.state != 'X')
      out.push_back(*p);
  }
  ::closedir(d);
  return out;
}

// ---- serve ---------------------------------------------------------------------------------

// `flotilla serve` on OS-chosen ports; stopped (SIGTERM, then SIGKILL at a deadline) on every
// way out.
class Serve {
 public:
  explicit Serve(const std::filesystem::path& out)
      : process_(
            {test::kFlotilla, "serve", kScenario.string(), "--listen", "127.0.0.1:0", "--admin",
             "127.0.0.1:0", "--out", out.string(), "--retention", kRetention, "--worker", kWorker},
            {}, /*die_with_parent=*/true) {
    const bool up = process_.wait_for_output(
        [&] {
          return test::printed_port(process_.out(), "balancer listening on http://") &&
                 test::printed_port(process_.out(), "dashboard on http://");
        },
        60s);
    if (!up) throw std::runtime_error("serve did not print its addresses: " + process_.err());
    balancer_port_ = *test::printed_port(process_.out(), "balancer listening on http://");
    const auto admin_port = *test::printed_port(process_.out(), "dashboard on http://");
    flags_.admin = "http://127.0.0.1:" + std::to_string(admin_port);
    flags_.json = true;
    admin_ = admin_address(flags_.admin, "");
    start_ticks_ = proc_info(pid())->stat.start_ticks;
  }
  ~Serve() {
    if (!result_) stop();
  }

  pid_t pid() const { return process_.pid(); }
  unsigned long long start_ticks() const { return start_ticks_; }
  std::uint16_t balancer_port() const { return balancer_port_; }
  const AdminFlags& flags() const { return flags_; }

  json get(const std::string& target) {
    const AdminReply r = admin_request(admin_, "GET", target);
    if (r.status != 200) throw std::runtime_error("GET " + target + ": " + r.body.dump());
    return r.body;
  }
  // Reads what serve printed so far, so that its pipes never fill.
  void pump() { process_.pump(0ms); }
  // Without reaping it: stop() does.
  bool exited() {
    pump();
    const auto p = proc_info(process_.pid());
    return !p || p->stat.state == 'Z';
  }

  const test::ProcessResult& stop() {
    if (!result_) {
      ::kill(process_.pid(), SIGTERM);
      result_ = process_.finish(90s);
    }
    return *result_;
  }

 private:
  test::Subprocess process_;
  std::uint16_t balancer_port_ = 0;
  AdminFlags flags_;
  AdminAddress admin_;
  unsigned long long start_ticks_ = 0;
  std::optional<test::ProcessResult> result_;
};

// One of the commands a user types, its --json answer parsed; throws with what it printed when
// it did not exit 0.
json command(const std::string& what, const std::function<int(std::ostream&, std::ostream&)>& run) {
  std::ostringstream out, err;
  if (run(out, err) != 0) throw std::runtime_error(what + ": " + err.str() + out.str());
  return json::parse(out.str(), nullptr, false);
}

// ---- the soak ------------------------------------------------------------------------------

// The balancer's view of the stopped worker's target (/api/v1/targets), null once it is gone:
// just before the stop, 1 s into it (what it holds then) and 2 s after the SIGCONT.
struct Stop {
  std::string worker;
  double t = 0;  // seconds since the load started
  json before, during, after;
};

struct Fleet {
  std::set<unsigned> ports;  // of the workers serve lists
  std::size_t live = 0;      // worker processes whose parent is serve
};

struct Orphans {
  std::set<pid_t> found;
  std::set<pid_t> listed;  // every pid /api/v1/workers ever gave

  // While serve runs: reparented workers that serve started, and serve's children it does not
  // list (checked against a listing taken after the scan, then alive again, so that a worker
  // launched or reaped meanwhile is not taken for one).
  // Returns the fleet as it was found.
  Fleet check(Serve& serve) {
    const std::vector<ProcInfo> before = worker_processes();
    Fleet fleet;
    std::set<pid_t> now_listed;
    const json workers = serve.get("/api/v1/workers");
    for (const json& w : workers["workers"]) {
      if (w["pid"].is_number()) now_listed.insert(w["pid"].get<pid_t>());
      if (w["port"].is_number()) fleet.ports.insert(w["port"].get<unsigned>());
    }
    listed.insert(now_listed.begin(), now_listed.end());
    for (const ProcInfo& p : before) {
      const auto again = proc_info(p.pid);
      if (!again || again->stat.state == 'Z' || again->stat.start_ticks != p.stat.start_ticks)
        continue;
      const bool serves = again->stat.parent == serve.pid();
      fleet.live += serves;
      const bool started_by_serve =
          listed.count(p.pid) || p.stat.start_ticks >= serve.start_ticks();
      if ((serves && !now_listed.count(p.pid)) || (!serves && started_by_serve))
        found.insert(p.pid);
    }
    return fleet;
  }
  // After serve exited: nothing it started may be left.
  void check_after(unsigned long long serve_start_ticks) {
    for (const ProcInfo& p : worker_processes())
      if (listed.count(p.pid) || p.stat.start_ticks >= serve_start_ticks) found.insert(p.pid);
  }
};

json target_entry(Serve& serve, const std::string& id) {
  const json targets = serve.get("/api/v1/targets");
  for (const json& t : targets["targets"])
    if (t["id"] == id) return t;
  return nullptr;
}

std::string in_service_other_than(Serve& serve, const std::string& avoid) {
  std::vector<std::string> ids;
  const json workers = serve.get("/api/v1/workers");
  for (const json& w : workers["workers"])
    if (w["state"] == "in_service" && w["id"] != avoid) ids.push_back(w["id"]);
  return ids.empty() ? "" : ids[ids.size() / 2];
}

// Errors by stop window (index), and those outside every window (-1).
std::map<int, std::uint64_t> errors_by_window(const LoadSnapshot& s,
                                              const std::vector<Stop>& stops) {
  std::map<int, std::uint64_t> out;
  for (std::size_t i = 0; i < stops.size(); ++i) out[static_cast<int>(i)] = 0;
  out[-1] = 0;
  for (const SecondStats& sec : s.seconds) {
    if (sec.errors == 0) continue;
    int window = -1;
    for (std::size_t i = 0; i < stops.size(); ++i) {
      const double from = stops[i].t - to_seconds(kStopWindowBefore);
      const double to = stops[i].t + to_seconds(kStopFor + kStopWindowAfter);
      if (sec.second + 1 > from && sec.second < to) window = static_cast<int>(i);
    }
    out[window] += sec.errors;
  }
  return out;
}

std::string error_kinds(const ErrorCounts& c) {
  std::string s;
  for (std::size_t k = 0; k < kLoadErrorKindCount; ++k)
    if (c.counts[k] > 0)
      s += (s.empty() ? "" : " ") + std::string(to_string(static_cast<LoadErrorKind>(k))) + "=" +
           std::to_string(c.counts[k]);
  return s.empty() ? "none" : s;
}

std::string mb(std::uint64_t kb) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f MB", static_cast<double>(kb) / 1024);
  return text;
}

int run() {
  const Options options = read_options();
  const std::uint64_t stop_limit = options.stop_error_limit;
  const auto out_dir = std::filesystem::path(FLOTILLA_BIN_DIR).parent_path() / "soak-out";
  std::filesystem::remove_all(out_dir);
  const Duration warmup = std::min<Duration>(kWarmup, options.duration / 2);
  std::cout << "soak: " << format_duration(options.duration) << " at " << options.rps
            << " requests/s, desired " << options.low << " <-> " << options.high
            << "; a kill every 15 s, a scale every 20 s, a 10 s stop every 60 s; warm-up "
            << format_duration(warmup) << ", serve --retention " << kRetention << std::endl;

  Figures figures;
  figures.warmup_s = to_seconds(warmup);
  figures.stop_error_limit = stop_limit;
  Orphans orphans;
  std::vector<Stop> stops;
  std::string failure;  // why the soak could not go on, if it could not

  std::optional<Serve> serve;
  serve.emplace(out_dir);
  unsigned long long serve_start = serve->start_ticks();
  std::cout << "soak: serve pid " << serve->pid()
            << ", balancer 127.0.0.1:" << serve->balancer_port() << ", admin "
            << serve->flags().admin << std::endl;

  command("scale", [&](std::ostream& o, std::ostream& e) {
    return scale_command(serve->flags(), ScaleFlags{options.low, 2, options.high + 4}, o, e);
  });
  const auto fleet_up = Clock::now() + 60s;
  while (serve->get("/api/v1/group")["in_service"].get<int>() < options.low) {
    if (Clock::now() > fleet_up || serve->exited() || interrupted)
      throw std::runtime_error("the fleet did not come up");
    std::this_thread::sleep_for(200ms);
  }

  LoadConfig config;
  config.target = Endpoint{"127.0.0.1", serve->balancer_port()};
  config.schedule = RateSchedule({{Duration::zero(), options.rps}, {options.duration, options.rps}},
                                 options.duration);
  config.request_timeout = kRequestTimeout;
  LoadGenerator load(config);
  load.start();
  const auto start = Clock::now();

  // The churn, in time order; at one instant: the report, then the stop, the kill, the scale;
  // and the looks at a stopped worker's target.
  struct Event {
    Duration at;
    int order;
  };
  std::vector<Event> events;
  for (Duration t = kReportEvery; t <= options.duration; t += kReportEvery)
    events.push_back({t, 0});
  for (Duration t = kStopEvery; t < options.duration; t += kStopEvery) {
    events.push_back({t, 1});
    events.push_back({t + 1s, 4});
    events.push_back({t + kStopFor + kStopWindowAfter, 5});
  }
  for (Duration t = kKillEvery; t < options.duration; t += kKillEvery) events.push_back({t, 2});
  for (Duration t = kScaleEvery; t < options.duration; t += kScaleEvery) events.push_back({t, 3});
  std::sort(events.begin(), events.end(), [](const Event& a, const Event& b) {
    return a.at != b.at ? a.at < b.at : a.order < b.order;
  });

  std::string stopped;  // the worker stopped now, if any
  Clock::time_point stopped_until{};
  int scales = 0, kills = 0;
  try {
    for (const Event& ev : events) {
      while (Clock::now() < start + ev.at) {
        if (interrupted) throw std::runtime_error("interrupted");
        if (serve->exited()) throw std::runtime_error("serve exited: " + serve->stop().err);
        std::this_thread::sleep_for(std::min<Clock::duration>(200ms, start + ev.at - Clock::now()));
      }
      if (!stopped.empty() && Clock::now() >= stopped_until) stopped.clear();
      const double t = seconds_since(start);
      switch (ev.order) {
        case 0: {
          const Fleet fleet = orphans.check(*serve);
          const LoadSnapshot snap = load.snapshot();
          const Descriptors d = descriptors(serve->pid(), serve->balancer_port(), fleet.ports);
          // Client connections beyond those the client has open are serve's to answer for.
          const std::uint64_t clients = std::min<std::uint64_t>(d.clients, snap.open_connections);
          const std::uint64_t own =
              d.total - clients - d.to_workers - std::min<std::uint64_t>(fleet.live, d.total);
          const Sample s{t, rss_kb(serve->pid()), own};
          figures.samples.push_back(s);
          const auto windows = errors_by_window(snap, stops);
          std::uint64_t in_stops = 0;
          for (const auto& [w, n] : windows)
            if (w >= 0) in_stops += n;
          const json group = serve->get("/api/v1/group");
          std::printf(
              "soak: t=%4.0fs rss %s fds %llu (clients %llu, to workers %llu, workers %zu, "
              "own %llu) | sent %llu ok %llu in flight %llu | client errors %llu, in stop "
              "windows %llu (%zu stops) | orphans %zu | in service %d/%d\n",
              t, mb(s.rss_kb).c_str(), static_cast<unsigned long long>(d.total),
              static_cast<unsigned long long>(d.clients),
              static_cast<unsigned long long>(d.to_workers), fleet.live,
              static_cast<unsigned long long>(own), static_cast<unsigned long long>(snap.sent),
              static_cast<unsigned long long>(snap.ok),
              static_cast<unsigned long long>(snap.in_flight),
              static_cast<unsigned long long>(windows.at(-1)),
              static_cast<unsigned long long>(in_stops), stops.size(), orphans.found.size(),
              group["in_service"].get<int>(), group["desired"].get<int>());
          std::fflush(stdout);
          break;
        }
        case 1: {
          const std::string id = in_service_other_than(*serve, "");
          if (id.empty()) break;
          Stop s{id, t, target_entry(*serve, id), nullptr, nullptr};
          const json fault =
              json{{"stop", {{"workers", json::array({id})}}}, {"for", format_duration(kStopFor)}};
          command("fault", [&](std::ostream& o, std::ostream& e) {
            return fault_command(serve->flags(), fault.dump(), o, e);
          });
          stops.push_back(std::move(s));
          stopped = id;
          stopped_until = Clock::now() + kStopFor;
          break;
        }
        case 2: {
          const std::string id = in_service_other_than(*serve, stopped);
          if (id.empty()) break;
          KillFlags kill;
          kill.ids = {id};
          command("kill", [&](std::ostream& o, std::ostream& e) {
            return kill_command(serve->flags(), kill, o, e);
          });
          ++kills;
          break;
        }
        case 3: {
          const int desired = ++scales % 2 == 1 ? options.high : options.low;
          command("scale", [&](std::ostream& o, std::ostream& e) {
            return scale_command(serve->flags(), ScaleFlags{desired, {}, {}}, o, e);
          });
          break;
        }
        case 4:
          if (!stops.empty()) stops.back().during = target_entry(*serve, stops.back().worker);
          break;
        case 5:
          if (!stops.empty()) stops.back().after = target_entry(*serve, stops.back().worker);
          break;
      }
    }
    if (!load.wait_for(kRequestTimeout + 10s)) throw std::runtime_error("the load did not finish");
  } catch (const std::exception& e) {
    failure = e.what();
  }
  load.stop();

  const LoadSnapshot snap = load.snapshot();
  const auto windows = errors_by_window(snap, stops);
  figures.other_errors = windows.at(-1);
  for (std::size_t i = 0; i < stops.size(); ++i) {
    figures.stop_errors.push_back(windows.at(static_cast<int>(i)));
    const Stop& stop = stops[i];
    const auto failed = [](const json& t) {
      return t["errors"].get<std::uint64_t>() + t["responses_5xx"].get<std::uint64_t>();
    };
    std::cout << "soak: stop " << i + 1 << " of " << stop.worker << " at t=" << std::lround(stop.t)
              << "s: " << figures.stop_errors.back() << " client errors";
    if (stop.during.is_object())
      std::cout << "; the balancer: " << stop.during["in_flight"] << " in flight on it 1 s in";
    if (stop.before.is_object() && stop.after.is_object())
      std::cout << ", " << failed(stop.after) - failed(stop.before) << " failed on it by 2 s after";
    else if (stop.before.is_object())
      std::cout << ", its target gone by 2 s after (replaced)";
    std::cout << "\n";
  }

  if (failure.empty()) orphans.check(*serve);
  const test::ProcessResult& result = serve->stop();
  figures.serve_exited_cleanly = result.exit_code == 0;
  orphans.check_after(serve_start);
  figures.orphans = orphans.found.size();
  for (const pid_t p : orphans.found) std::cout << "soak: orphaned worker pid " << p << "\n";
  if (!figures.serve_exited_cleanly)
    std::cout << "soak: serve's exit: code " << result.exit_code << ", signal " << result.signal
              << "\n"
              << result.err << "\n";

  const Verdict v = judge(figures);
  const double elapsed = to_seconds(snap.elapsed);
  std::ostringstream line;
  line << "soak: " << (v.held && failure.empty() ? "held" : "failed") << ": "
       << std::lround(elapsed) << " s at " << options.rps << " requests/s (sent " << snap.sent
       << ", ok " << snap.ok << ", achieved " << std::lround(elapsed > 0 ? snap.sent / elapsed : 0)
       << "/s), " << stops.size() << " stops, " << kills << " kills, " << scales << " scales; rss "
       << mb(v.baseline.rss_kb) << " at " << std::lround(v.baseline.t) << " s, then "
       << mb(v.rss_min_kb) << " - " << mb(v.rss_max_kb) << "; own fds " << v.baseline.fds
       << ", then " << v.fds_min << " - " << v.fds_max << "; client errors " << figures.other_errors
       << " (" << error_kinds(snap.by_kind) << " in all); stop errors";
  std::uint64_t worst = 0;
  for (const auto n : figures.stop_errors) worst = std::max(worst, n);
  line << " at most " << worst << " a stop (limit " << stop_limit << "); orphans "
       << figures.orphans;
  if (!failure.empty()) line << "; " << failure;
  for (const std::string& f : v.failures) line << "; " << f;
  std::cout << line.str() << std::endl;
  return v.held && failure.empty() ? 0 : 1;
}

}  // namespace
}  // namespace flotilla::soak

int main() {
  struct sigaction on_signal {};
  on_signal.sa_handler = [](int) { flotilla::soak::interrupted = true; };
  ::sigaction(SIGINT, &on_signal, nullptr);
  ::sigaction(SIGTERM, &on_signal, nullptr);
  try {
    return flotilla::soak::run();
  } catch (const flotilla::UserError& e) {
    std::cout << "soak: failed: " << e.what() << std::endl;
    return 2;
  } catch (const std::exception& e) {
    std::cout << "soak: failed: " << e.what() << std::endl;
    return 1;
  }
}
