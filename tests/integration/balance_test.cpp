// `flotilla balance` as a user runs it: the real binary in front of real flotilla-worker
// processes (any HTTP server would do; the workers name themselves in X-Flotilla-Worker).
#include <doctest/doctest.h>

#include <signal.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>

#include "support/files.h"
#include "support/subprocess.h"
#include "worker/http_client.h"

using namespace flotilla::test;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {
const std::string kFlotilla = std::string(FLOTILLA_BIN_DIR) + "/flotilla";
const std::string kWorker = std::string(FLOTILLA_BIN_DIR) + "/flotilla-worker";

// The port in "... listening on 127.0.0.1:PORT\n" once the line is complete.
std::optional<std::uint16_t> listening_port(const std::string& out) {
  const auto at = out.find("listening on ");
  if (at == std::string::npos) return std::nullopt;
  const auto end = out.find('\n', at);
  const auto colon = out.rfind(':', end);
  if (end == std::string::npos || colon == std::string::npos || colon < at) return std::nullopt;
  return static_cast<std::uint16_t>(std::stoi(out.substr(colon + 1, end - colon - 1)));
}

// Starts `argv` and waits for its "listening on" line; REQUIREs it.
std::uint16_t wait_listening(Subprocess& p) {
  p.wait_for_output([&] { return listening_port(p.out()).has_value(); }, 20000ms);
  INFO(p.out(), p.err());
  REQUIRE(listening_port(p.out()).has_value());
  return *listening_port(p.out());
}

struct Worker {
  explicit Worker(const std::string& id, const std::string& service_time = "1ms")
      : process({kWorker, "--port", "0", "--id", id, "--distribution", "constant",
                 "--service-time-mean", service_time, "--capacity", "16", "--boot-time", "0s"}) {
    port = wait_listening(process);
  }
  Subprocess process;
  std::uint16_t port = 0;
  std::string target() const { return "127.0.0.1:" + std::to_string(port); }
};

std::vector<std::string> balance_argv(const std::vector<std::string>& extra) {
  std::vector<std::string> argv = {kFlotilla, "balance"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return argv;
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

TEST_CASE("balance: listener rules route by path to two target groups; weight 0 gets nothing") {
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
