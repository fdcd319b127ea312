// `flotilla balance` as a user runs it: the real binary in front of real flotilla-worker
// processes (any HTTP server would do; the workers name themselves in X-Flotilla-Worker).
#include <doctest/doctest.h>

#include <signal.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>

#include "support/connect.h"
#include "support/files.h"
#include "support/subprocess.h"
#include "worker/http_client.h"
#include "worker_process.h"

using namespace flotilla::test;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

std::vector<std::string> balance_argv(const std::vector<std::string>& extra) {
  return flotilla_argv("balance", extra);
}

}  // namespace

TEST_CASE("balance: spreads requests over every target and exits 0 on SIGTERM") {
  std::vector<std::unique_ptr<Worker>> workers;
  std::vector<std::string> args = {"--listen", "127.0.0.1:0", "--health-check-path", "/health"};
  for (const char* id : {"w1", "w2", "w3"}) {
    workers.push_back(std::make_unique<Worker>(id));
    args.push_back("--target");
    args.push_back(workers.back()->target());
  }
  Subprocess balance(balance_argv(args));
  const auto port = wait_listening(balance);
  CHECK(balance.out().rfind("flotilla balance listening on 127.0.0.1:", 0) == 0);

  std::map<std::string, int> by_worker;
  constexpr int kRequests = 90;
  for (int i = 0; i < kRequests / 10; ++i) {
    HttpClient client(port);  // a few keep-alive connections, 10 requests each
    for (int j = 0; j < 10; ++j) {
      const auto r = client.request("GET", "/work");
      REQUIRE(r.status == 200);
      ++by_worker[r.worker];
    }
  }
  INFO(balance.err());
  CHECK(by_worker.size() == 3);
  for (const auto& [worker, count] : by_worker) {
    CAPTURE(worker);
    CHECK(count >= kRequests / 3 / 2);  // round robin: 30 each; allow for the set changing
  }

  ::kill(balance.pid(), SIGTERM);
  const auto r = balance.finish(10000ms);
  INFO(r.out, r.err);
  CHECK_FALSE(r.timed_out);
  CHECK(r.exit_code == 0);
}

TEST_CASE("balance: a target that dies is taken out, the others keep serving") {
  std::vector<std::unique_ptr<Worker>> workers;
  std::vector<std::string> args = {"--listen", "127.0.0.1:0", "--health-check-path", "/health"};
  for (const char* id : {"a", "b"}) {
    workers.push_back(std::make_unique<Worker>(id));
    args.push_back("--target");
    args.push_back(workers.back()->target());
  }
  Subprocess balance(balance_argv(args));
  const auto port = wait_listening(balance);
  ::kill(workers[1]->process.pid(), SIGKILL);
  workers[1]->process.finish(5000ms);
  // Retries on another target hide the dead one at once; the health checks remove it after
  // two failed checks. Either way every request succeeds, on "a".
  for (int i = 0; i < 20; ++i) {
    HttpClient client(port);
    const auto r = client.request("GET", "/work");
    CHECK(r.status == 200);
    CHECK(r.worker == "a");
  }
  ::kill(balance.pid(), SIGTERM);
  CHECK(balance.finish(10000ms).exit_code == 0);
}

TEST_CASE("balance: listener rules route by path to two target groups, weight 0 gets nothing") {
  Worker web1("web1"), web2("web2"), api("api");
  const auto dir = fresh_temp_dir("balance-rules");
  const auto file = (dir / "lb.json").string();
  std::ofstream(file) << R"({"listen": "127.0.0.1:0",
    "target_groups": [
      {"name": "web", "health_check": {"path": "/health"}, "targets": [")"
                      << web1.target() << R"(", {"address": ")" << web2.target()
                      << R"(", "weight": 0}]},
      {"name": "api", "algorithm": "least_outstanding_requests",
       "health_check": {"path": "/health"}, "targets": [")"
                      << api.target() << R"("]}],
    "rules": [{"priority": 10, "conditions": {"path_pattern": ["/api/*"]},
               "action": {"forward": "api"}}],
    "default_action": {"forward": "web"}})";
  Subprocess balance(balance_argv({"--config", file}));
  const auto port = wait_listening(balance);
  HttpClient client(port);
  for (int i = 0; i < 10; ++i) {
    const auto a = client.request("GET", "/api/orders");
    CHECK(a.status == 200);
    CHECK(a.worker == "api");
    const auto w = client.request("GET", "/index.html");
    CHECK(w.status == 200);
    CHECK(w.worker == "web1");
  }
  ::kill(balance.pid(), SIGTERM);
  const auto r = balance.finish(10000ms);
  INFO(r.out, r.err);
  CHECK(r.exit_code == 0);
  fs::remove_all(dir);
}

TEST_CASE("balance: user mistakes exit 2 with a message naming the flag, file or field") {
  const auto dir = fresh_temp_dir("balance-cli");
  const auto bad = (dir / "lb.json").string();
  std::ofstream(bad) << R"({"target_groups": [{"name": "web",
      "targets": [{"address": "127.0.0.1:8081"}, {"address": "127.0.0.1:99999"}]}]})";
  const auto unknown = (dir / "unknown.json").string();
  std::ofstream(unknown) << R"({"target_groups": [{"name": "web", "targets": ["127.0.0.1:1"]}],
      "frontend": {}})";
  struct Row {
    std::vector<std::string> args;
    std::vector<std::string> says;
  };
  const Row rows[] = {
      {{"--config", bad}, {bad, "/target_groups/0/targets/1/address", "expected"}},
      {{"--config", unknown}, {unknown, "/frontend"}},
      {{"--config", (dir / "missing.json").string()}, {"missing.json"}},
      {{"--listen", "127.0.0.1:0"}, {"--target"}},
      {{"--target", "nowhere"}, {"--target", "nowhere"}},
      {{"--target", "127.0.0.1:1", "--threads", "0"}, {"--threads"}},
      {{"--target", "127.0.0.1:1", "--algorithm", "fastest"}, {"--algorithm", "round_robin"}},
      {{"--target", "127.0.0.1:1", "--threads", "two"}, {"--threads"}},
      {{"--target", "127.0.0.1:1", "--bogus"}, {"--bogus"}},
  };
  for (const auto& row : rows) {
    const auto r = run_process(balance_argv(row.args), 20000ms);
    INFO(r.out, r.err);
    CHECK(r.exit_code == 2);
    CHECK(r.out.find("listening") == std::string::npos);
    for (const auto& s : row.says) {
      CAPTURE(s);
      CHECK((r.err + r.out).find(s) != std::string::npos);
    }
  }
  fs::remove_all(dir);
}

TEST_CASE("balance: a port in use exits 2 and says so") {
  Worker worker("w");
  Subprocess first(balance_argv({"--listen", "127.0.0.1:0", "--target", worker.target()}));
  const auto port = wait_listening(first);
  const auto r = run_process(
      balance_argv({"--listen", "127.0.0.1:" + std::to_string(port), "--target", worker.target()}),
      20000ms);
  INFO(r.out, r.err);
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("in use") != std::string::npos);
  CHECK(r.err.find(std::to_string(port)) != std::string::npos);
  ::kill(first.pid(), SIGTERM);
  CHECK(first.finish(10000ms).exit_code == 0);
}

namespace {

// A balance in front of one worker whose every request takes `service_time`, with a request
// in flight through it (sent on `client`, its response not read).
struct SlowRequestInFlight {
  SlowRequestInFlight(const std::string& service_time, const std::vector<std::string>& extra)
      : worker("slow", service_time),
        balance(balance_argv([&] {
          std::vector<std::string> args = {"--listen", "127.0.0.1:0", "--health-check-path",
                                           "/health",  "--target",    worker.target()};
          args.insert(args.end(), extra.begin(), extra.end());
          return args;
        }())),
        port(wait_listening(balance)),
        client(port, 60s) {
    client.send("GET /work HTTP/1.1\r\nHost: t\r\n\r\n");
    REQUIRE(wait_until([&] { return get_metrics(worker.port)["in_flight"] == 1; }, 10s));
  }
  Worker worker;
  Subprocess balance;
  std::uint16_t port;
  HttpClient client;
};

}  // namespace

TEST_CASE("balance: on SIGTERM a request in flight still gets its 200, then it exits 0") {
  SlowRequestInFlight slow("1500ms", {});
  const auto signalled = std::chrono::steady_clock::now();
  ::kill(slow.balance.pid(), SIGTERM);
  // The listener closes at once; what was in flight goes on.
  REQUIRE(wait_until([&] { return connect_refused(slow.port); }, 5s));
  const HttpResponse r = slow.client.receive();
  CHECK(r.status == 200);
  CHECK(r.worker == "slow");
  CHECK_FALSE(r.keep_alive);  // Connection: close
  const auto result = slow.balance.finish(10000ms);
  INFO(result.out, result.err);
  CHECK(result.exit_code == 0);
  CHECK(std::chrono::steady_clock::now() - signalled < 8s);  // the drain timeout's default: 10s
}

TEST_CASE("balance: --drain-timeout and a second signal cut the drain short, still exit 0") {
  struct Row {
    const char* name;
    std::vector<std::string> flags;
    int signals;
  };
  const Row rows[] = {
      {"drain timeout", {"--drain-timeout", "300ms"}, 1},
      {"second signal", {"--drain-timeout", "60s"}, 2},
  };
  for (const Row& row : rows) {
    CAPTURE(row.name);
    SlowRequestInFlight slow("30s", row.flags);
    const auto signalled = std::chrono::steady_clock::now();
    ::kill(slow.balance.pid(), SIGTERM);
    if (row.signals == 2) {
      REQUIRE(wait_until([&] { return connect_refused(slow.port); }, 5s));
      ::kill(slow.balance.pid(), SIGINT);
    }
    const auto result = slow.balance.finish(20000ms);
    INFO(result.out, result.err);
    CHECK(result.exit_code == 0);
    CHECK(std::chrono::steady_clock::now() - signalled < 10s);
    CHECK(result.err.find("closed unfinished") != std::string::npos);
    CHECK(slow.client.closed_by_peer(5s));
  }
}

TEST_CASE("balance: a bad --drain-timeout exits 2 naming the flag") {
  const auto r =
      run_process(balance_argv({"--target", "127.0.0.1:1", "--drain-timeout", "soon"}), 20000ms);
  INFO(r.out, r.err);
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("--drain-timeout") != std::string::npos);
}
