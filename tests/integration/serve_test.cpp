// `flotilla serve` as a user runs it: the high-availability demo (a worker killed from the command
// line while load runs costs the client nothing, and the group replaces it), an orderly stop on
// SIGTERM with the session's report, no worker outliving serve even when it is SIGKILLed, a
// worker whose health checks fail replaced live, the admin API's rules over the real socket, and
// the commands that talk to it. Every wait polls
// with a deadline; every process started here is stopped by its pid, also when a check fails.
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "support/connect.h"
#include "support/files.h"
#include "support/paths.h"
#include "support/serve_process.h"
#include "support/subprocess.h"
#include "support/wait.h"

using namespace flotilla::test;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

constexpr const char* kToken = "serve-test-token-5d1c";

// A serve file: workers of the standard profile (a second to boot), the balancer's default
// health checks (every 500 ms, healthy after 2), no policy, so the group stays at `desired`
// unless told, and no traffic of its own.
fs::path write_scenario(const fs::path& dir, int min, int max, int desired) {
  const json s = {{"name", "serve-test"},
                  {"seed", 1},
                  {"fleet",
                   {{"profile", (kSource / "fleet/standard.json").string()},
                    {"min", min},
                    {"max", max},
                    {"desired", desired}}},
                  {"metrics", {{"period", "1s"}}}};
  const fs::path file = dir / "serve-test.json";
  std::ofstream(file) << s.dump(2);
  return file;
}

fs::path write_token(const fs::path& dir) {
  const fs::path file = dir / "token";
  std::ofstream(file) << kToken << "\n";
  return file;
}

// `flotilla ARGS...` to its end. FLOTILLA_ADMIN and FLOTILLA_TOKEN are empty (unset, to the CLI)
// unless `env` gives them, so the shell the tests run in does not leak into them.
ProcessResult run_flotilla(const std::vector<std::string>& args,
                           const std::vector<std::string>& env = {}) {
  std::vector<std::string> argv = {kFlotilla};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<std::string> environment = env;
  for (const std::string name : {"FLOTILLA_ADMIN=", "FLOTILLA_TOKEN="})
    if (std::none_of(env.begin(), env.end(),
                     [&](const std::string& e) { return e.starts_with(name); }))
      environment.push_back(name);
  return run_process(argv, 30s, environment);
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// True while `pid` is a running flotilla-worker (not a zombie, and not a stranger that was given
// the number since).
bool worker_running(pid_t pid) {
  if (!process_alive(pid)) return false;
  const std::string cmdline = read_file("/proc/" + std::to_string(pid) + "/cmdline");
  return contains(cmdline, "flotilla-worker");
}

// The pids of serve's workers. Whatever is still running of them at the end is SIGKILLed, so a
// failed check leaves no orphan behind.
struct WorkerPids {
  std::vector<pid_t> pids;
  ~WorkerPids() {
    for (pid_t pid : pids)
      if (worker_running(pid)) ::kill(pid, SIGKILL);
  }
  bool any_running() const { return std::any_of(pids.begin(), pids.end(), worker_running); }
};

bool in_service_and_healthy(const json& worker) {
  return worker["state"] == "in_service" && worker["health"].is_object() &&
         worker["health"]["state"] == "healthy";
}

// GET /api/v1/workers once `n` workers are in service and healthy, each with its pid (REQUIREd
// within the deadline).
json wait_for_fleet(ServeProcess& serve, std::size_t n) {
  json workers;
  const bool ready = wait_until(
      [&] {
        serve.process().pump(0ms);
        workers = serve.get("/api/v1/workers")["workers"];
        return workers.size() == n &&
               std::all_of(workers.begin(), workers.end(), [](const json& w) {
                 return in_service_and_healthy(w) && w["pid"].is_number_integer();
               });
      },
      30s, 100ms);
  INFO("workers: " << workers.dump());
  REQUIRE(ready);
  return workers;
}

std::set<std::string> ids_of(const json& workers) {
  std::set<std::string> out;
  for (const json& w : workers) out.insert(w.at("id").get<std::string>());
  return out;
}

// A loopback port where nothing listens: one the OS handed out and that was closed again.
std::uint16_t closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof address;
  const bool bound = ::bind(fd, reinterpret_cast<const sockaddr*>(&address), size) == 0 &&
                     ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) == 0;
  ::close(fd);
  REQUIRE(bound);
  const std::uint16_t port = ntohs(address.sin_port);
  REQUIRE(connect_refused(port));
  return port;
}

}  // namespace

TEST_CASE(
    "serve: a worker killed from the command line while load runs costs the client no error, "
    "and the group replaces it with one that serves") {
  const auto dir = fresh_temp_dir("serve-ha");
  ServeProcess serve(write_scenario(dir, 2, 6, 3), dir / "out");
  WorkerPids pids;
  const json before = wait_for_fleet(serve, 3);
  for (const json& w : before) pids.pids.push_back(w["pid"].get<pid_t>());

  Subprocess load({kFlotilla, "load", "--url", serve.balancer_url(), "--rps", "100", "--duration",
                   "12s", "--json", "--quiet"});
  // The kill waits until the balancer has carried a second of the load.
  const bool flowing = wait_until(
      [&] {
        load.pump(0ms);
        const json summary = serve.get("/api/v1/summary");
        return summary["rps"].is_number() && summary["rps"].get<int>() >= 50;
      },
      10s, 50ms);
  REQUIRE(flowing);

  // --admin here, FLOTILLA_ADMIN for status below.
  const ProcessResult killed =
      run_flotilla({"kill", "--random", "--admin", serve.admin_url(), "--json"});
  INFO("kill: " << killed.out << killed.err);
  REQUIRE(killed.exit_code == 0);
  const json sent = json::parse(killed.out);
  REQUIRE(sent.size() == 1);
  const std::string victim = sent[0]["id"].get<std::string>();
  CHECK(sent[0]["signal"] == "KILL");
  CHECK(ids_of(before).count(victim) == 1);
  CHECK(process_alive(load.pid()));  // the kill came while the load ran

  // The victim leaves `flotilla status`, and a new worker joins, in service and healthy.
  json status;
  std::string replacement;
  const bool replaced = wait_until(
      [&] {
        load.pump(0ms);
        const ProcessResult r =
            run_flotilla({"status", "--json"}, {"FLOTILLA_ADMIN=" + serve.admin_url()});
        if (r.exit_code != 0) return false;
        status = json::parse(r.out);
        const json& workers = status["workers"];
        if (ids_of(workers).count(victim) || workers.size() != 3) return false;
        replacement.clear();
        for (const json& w : workers) {
          if (!in_service_and_healthy(w)) return false;
          if (!ids_of(before).count(w["id"].get<std::string>())) replacement = w["id"];
        }
        return !replacement.empty();
      },
      20s, 200ms);
  INFO("status: " << status.dump());
  CHECK(replaced);
  CHECK(status["group"]["in_service"] == 3);
  for (const json& w : status["workers"])
    if (w["pid"].is_number_integer()) pids.pids.push_back(w["pid"].get<pid_t>());

  // The client saw every request answered.
  const ProcessResult loaded = load.finish(30s);
  INFO("load: " << loaded.out << loaded.err);
  REQUIRE(loaded.exit_code == 0);
  const json summary = json::parse(loaded.out);
  CHECK(summary["errors"] == 0);
  CHECK(summary["sent"].get<int>() >= 1176);
  CHECK(summary["sent"].get<int>() <= 1224);
  CHECK(summary["ok"] == summary["sent"]);

  // The charts' data: the kill and the replacement as markers, in service down and back at 3.
  json series;
  double killed_at = -1;
  const bool charted = wait_until(
      [&] {
        series = serve.get("/api/v1/series");
        bool kill = false, activity = false;
        for (const json& m : series["markers"]) {
          const std::string detail = m["detail"].get<std::string>();
          if (m["kind"] == "kill" && contains(detail, victim)) {
            kill = true;
            killed_at = m["t"].get<double>();
          }
          if (m["kind"] == "activity" && contains(detail, victim) &&
              contains(detail, "replacement"))
            activity = true;
        }
        return kill && activity && !series["rows"].empty() &&
               series["rows"].back()["in_service"] == 3;
      },
      10s, 100ms);
  INFO("series markers: " << series["markers"].dump());
  CHECK(charted);
  // A row holds the fleet at its second's end (t + 1).
  int fewest_after_kill = 3;
  for (const json& row : series["rows"])
    if (row["t"].get<double>() + 1 > killed_at)
      fewest_after_kill = std::min(fewest_after_kill, row["in_service"].get<int>());
  CHECK(fewest_after_kill == 2);

  const ProcessResult stopped = serve.stop();
  INFO("serve: " << stopped.out << stopped.err);
  CHECK(stopped.exit_code == 0);
  fs::remove_all(dir);
}

TEST_CASE("serve: SIGTERM stops every worker, writes the session's report into --out and exits 0") {
  const auto dir = fresh_temp_dir("serve-sigterm");
  const fs::path out = dir / "out";
  ServeProcess serve(write_scenario(dir, 1, 4, 2), out);
  WorkerPids pids;
  const json workers = wait_for_fleet(serve, 2);
  for (const json& w : workers) {
    const auto pid = w["pid"].get<pid_t>();
    pids.pids.push_back(pid);
    CHECK(parent_of(pid) == serve.pid());
  }

  const ProcessResult stopped = serve.stop(SIGTERM, 30s);
  INFO("serve: " << stopped.out << stopped.err);
  CHECK_FALSE(stopped.timed_out);
  CHECK(stopped.exit_code == 0);
  CHECK(contains(stopped.out, "report: " + (out / "report.html").string() + "\n"));
  for (pid_t pid : pids.pids) {
    CAPTURE(pid);
    CHECK_FALSE(worker_running(pid));
  }

  for (const char* file : {"report.json", "timeseries.csv", "report.html"}) {
    CAPTURE(file);
    CHECK(fs::exists(out / file));
  }
  const json report = json::parse(read_file(out / "report.json"));
  std::set<std::string> reported;
  for (const json& w : report["workers"]) reported.insert(w["id"].get<std::string>());
  for (const std::string& id : ids_of(workers)) {
    CAPTURE(id);
    CHECK(reported.count(id) == 1);
  }
  // A row a second in the series, as many as the session's seconds.
  const double seconds = report["duration_s"].get<double>();
  CHECK(seconds >= 1);
  const std::string csv = read_file(out / "timeseries.csv");
  const auto rows = std::count(csv.begin(), csv.end(), '\n') - 1;  // less the header
  CHECK(rows == static_cast<long>(seconds));
  fs::remove_all(dir);
}

TEST_CASE("serve: its workers do not outlive it when it is SIGKILLed") {
  const auto dir = fresh_temp_dir("serve-sigkill");
  ServeProcess serve(write_scenario(dir, 1, 4, 2), dir / "out");
  WorkerPids pids;
  for (const json& w : wait_for_fleet(serve, 2)) pids.pids.push_back(w["pid"].get<pid_t>());
  REQUIRE_FALSE(pids.pids.empty());

  const ProcessResult killed = serve.stop(SIGKILL, 10s);
  CHECK(killed.signal == SIGKILL);
  CHECK(wait_until([&] { return !pids.any_running(); }, 5s, 20ms));
  fs::remove_all(dir);
}

TEST_CASE("serve: the admin API's safety rules over its socket") {
  const auto dir = fresh_temp_dir("serve-admin");
  const fs::path scenario = write_scenario(dir, 1, 4, 1);

  SUBCASE("an admin address other than loopback needs --token-file") {
    const ProcessResult refused =
        run_flotilla({"serve", scenario.string(), "--listen", "127.0.0.1:0", "--admin", "0.0.0.0:0",
                      "--out", (dir / "refused").string()});
    INFO(refused.out << refused.err);
    CHECK(refused.exit_code == 2);
    CHECK(contains(refused.err, "--token-file"));
    CHECK_FALSE(contains(refused.out, kDashboardLine));
  }

  SUBCASE("with --token-file") {
    ServeProcess serve(scenario, dir / "out", {"--token-file", write_token(dir).string()}, kToken);

    // The token, by header or by the dashboard's cookie, and nothing else.
    const HttpResponse anonymous = serve.raw_request("GET", "/api/v1/group");
    CHECK(anonymous.status == 401);
    CHECK(json::parse(anonymous.body).contains("error"));
    CHECK(serve.raw_request("GET", "/api/v1/group", "", "Authorization: Bearer wrong\r\n").status ==
          401);
    CHECK(serve.raw_request("GET", "/metrics").status == 401);
    CHECK(serve.request("GET", "/api/v1/group").status == 200);
    CHECK(serve.raw_request("GET", std::string("/?token=wrong")).status == 401);
    const HttpResponse link = serve.raw_request("GET", std::string("/?token=") + kToken);
    CHECK(link.status == 303);
    CHECK(link.header("Location") == "/");
    const std::string set_cookie = link.header("Set-Cookie");
    CAPTURE(set_cookie);
    CHECK(contains(set_cookie, "HttpOnly"));
    CHECK(contains(set_cookie, "SameSite=Strict"));
    const std::string cookie = set_cookie.substr(0, set_cookie.find(';'));
    CHECK(cookie == std::string("flotilla_token=") + kToken);
    CHECK(serve.raw_request("GET", "/api/v1/group", "", "Cookie: " + cookie + "\r\n").status ==
          200);
    CHECK(
        serve.raw_request("GET", "/api/v1/group", "", "Cookie: flotilla_token=wrong\r\n").status ==
        401);

    // Bodies, methods and fields.
    const std::string padding(100 * 1024, 'x');
    CHECK(serve.request("POST", "/api/v1/group", json{{"desired", 1}, {"pad", padding}}.dump())
              .status == 413);
    const HttpResponse get_load = serve.request("GET", "/api/v1/load");
    CHECK(get_load.status == 405);
    CHECK(get_load.header("Allow") == "POST");
    const HttpResponse bad_json = serve.request("POST", "/api/v1/group", "{\"desired\": ");
    CAPTURE(bad_json.body);
    CHECK(bad_json.status == 400);
    const json bad = json::parse(bad_json.body);
    CHECK(bad.contains("error"));
    CHECK(bad.contains("field"));
    const HttpResponse too_many = serve.request("POST", "/api/v1/group", R"({"desired": 99})");
    CAPTURE(too_many.body);
    CHECK(too_many.status == 400);
    CHECK(json::parse(too_many.body).value("field", "") == "/desired");
    CHECK(serve.get("/api/v1/group")["desired"] == 1);  // a refused change changes nothing

    const HttpResponse health = serve.request("GET", "/healthz");
    CHECK(health.status == 200);
    CHECK(health.body == "ok\n");
    const HttpResponse metrics = serve.request("GET", "/metrics");
    CHECK(metrics.status == 200);
    CHECK(metrics.header("Content-Type").starts_with("text/plain"));
    CHECK(contains(metrics.body, "flotilla_group_desired_capacity{group=\"serve-test\"} 1\n"));

    const ProcessResult stopped = serve.stop();
    INFO("serve: " << stopped.out << stopped.err);
    CHECK(stopped.exit_code == 0);
  }
  fs::remove_all(dir);
}

TEST_CASE("serve: status, kill, scale and fault from the command line") {
  SUBCASE("without serve, or with a bad argument") {
    const std::uint16_t port = closed_port();
    const ProcessResult absent =
        run_flotilla({"status", "--admin", "http://127.0.0.1:" + std::to_string(port)});
    INFO(absent.out << absent.err);
    CHECK(absent.exit_code == 1);
    CHECK(contains(absent.err, "cannot reach serve"));
    CHECK(contains(absent.err, "flotilla serve"));

    const ProcessResult no_ids = run_flotilla({"kill"});
    INFO(no_ids.err);
    CHECK(no_ids.exit_code == 2);
    CHECK(contains(no_ids.err, "--workers"));
    const ProcessResult no_flag = run_flotilla({"scale"});
    INFO(no_flag.err);
    CHECK(no_flag.exit_code == 2);
    CHECK(contains(no_flag.err, "--desired"));
  }

  SUBCASE("against a serve that needs a token") {
    const auto dir = fresh_temp_dir("serve-cli");
    ServeProcess serve(write_scenario(dir, 1, 6, 1), dir / "out",
                       {"--token-file", write_token(dir).string()}, kToken);
    const std::vector<std::string> admin = {"--admin", serve.admin_url()};
    const auto with_token = [&](std::vector<std::string> args) {
      args.insert(args.end(), admin.begin(), admin.end());
      return run_flotilla(args, {std::string("FLOTILLA_TOKEN=") + kToken});
    };

    std::vector<std::string> status = {"status"};
    status.insert(status.end(), admin.begin(), admin.end());
    const ProcessResult refused = run_flotilla(status, {"FLOTILLA_TOKEN=wrong"});
    INFO(refused.out << refused.err);
    CHECK(refused.exit_code == 1);
    CHECK(contains(refused.err, "401"));

    wait_for_fleet(serve, 1);  // a fault chooses among the workers in service
    const ProcessResult scaled = with_token({"scale", "--desired", "4", "--json"});
    INFO(scaled.out << scaled.err);
    CHECK(scaled.exit_code == 0);
    CHECK(json::parse(scaled.out)["desired"] == 4);
    CHECK(serve.get("/api/v1/group")["desired"] == 4);

    const ProcessResult fault =
        with_token({"fault", R"({"slow": {"workers": 1, "factor": 5}, "for": "5s"})"});
    INFO(fault.out << fault.err);
    CHECK(fault.exit_code == 0);
    REQUIRE(fault.out.starts_with("started: "));
    const std::string description = fault.out.substr(9, fault.out.find('\n') - 9);
    CHECK_FALSE(description.empty());
    json markers;
    CHECK(wait_until(
        [&] {
          markers = serve.get("/api/v1/series")["markers"];
          return std::any_of(markers.begin(), markers.end(),
                             [](const json& m) { return m["kind"] == "fault"; });
        },
        5s, 50ms));
    INFO("markers: " << markers.dump());

    const ProcessResult stopped = serve.stop();
    INFO("serve: " << stopped.out << stopped.err);
    CHECK(stopped.exit_code == 0);
    fs::remove_all(dir);
  }
}

// ELB health checks (the group's default health check type): a worker that stops answering
// /health (SIGSTOPped by a fault, its process still there) fails its target's checks, and the
// group replaces it while serve runs: out of service, a new worker launched and healthy, the
// stopped one ended.
TEST_CASE("serve: a worker whose health checks fail is replaced live") {
  const auto dir = fresh_temp_dir("serve-unhealthy");
  ServeProcess serve(write_scenario(dir, 2, 2, 2), dir / "out");
  WorkerPids pids;
  const json before = wait_for_fleet(serve, 2);
  for (const json& w : before) pids.pids.push_back(w["pid"].get<pid_t>());

  const json started = serve.post("/api/v1/faults", {{"stop", {{"workers", 1}}}, {"for", "60s"}});
  INFO("fault: " << started.dump());
  CHECK(started["fault"].get<std::string>().starts_with("stop 1 worker"));

  // The replacement's activity names the stopped worker and the failed target health.
  std::string replaced;
  json activities;
  const bool reported = wait_until(
      [&] {
        serve.process().pump(0ms);
        activities = serve.get("/api/v1/activities")["activities"];
        for (const json& a : activities) {
          const std::string cause = a["cause"];
          if (!contains(cause, "unhealthy (target health")) continue;
          for (const json& w : before)
            if (contains(cause, w["id"].get<std::string>())) replaced = w["id"];
          return true;
        }
        return false;
      },
      15s, 100ms);
  INFO("activities: " << activities.dump());
  REQUIRE(reported);
  REQUIRE_FALSE(replaced.empty());

  // Two healthy workers again: the one that was not stopped and a new one; the stopped one is
  // gone, its process too.
  json after;
  const bool recovered = wait_until(
      [&] {
        serve.process().pump(0ms);
        after = serve.get("/api/v1/workers")["workers"];
        return after.size() == 2 && std::all_of(after.begin(), after.end(), in_service_and_healthy);
      },
      15s, 100ms);
  INFO("workers: " << after.dump());
  REQUIRE(recovered);
  for (const json& w : after) pids.pids.push_back(w["pid"].get<pid_t>());
  const auto ids = ids_of(after);
  CHECK(ids.count(replaced) == 0);
  std::set<std::string> kept;
  for (const auto& id : ids_of(before))
    if (ids.count(id) != 0) kept.insert(id);
  CHECK(kept.size() == 1);
  pid_t stopped_pid = 0;
  for (const json& w : before)
    if (w["id"] == replaced) stopped_pid = w["pid"].get<pid_t>();
  CHECK(wait_until([&] { return !worker_running(stopped_pid); }, 10s, 50ms));

  const ProcessResult stopped = serve.stop();
  INFO("serve: " << stopped.out << stopped.err);
  CHECK(stopped.exit_code == 0);
  fs::remove_all(dir);
}
