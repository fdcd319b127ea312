// Runs the real flotilla-worker binary: the announce line, a request, SIGTERM -> exit 0, and
// exit code 2 for user mistakes.
#include <doctest/doctest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "worker/faults.h"
#include "worker/http_client.h"
#include "worker/server.h"

namespace flotilla {
namespace {

using SteadyClock = std::chrono::steady_clock;

// A child process with its stdout and stderr on pipes. Killed and reaped if still running when
// the test ends.
class Child {
 public:
  explicit Child(std::vector<std::string> args) {
    args.insert(args.begin(), std::string(FLOTILLA_BIN_DIR) + "/flotilla-worker");
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    int out[2], err[2];
    REQUIRE(pipe(out) == 0);
    REQUIRE(pipe(err) == 0);
    pid_ = fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      dup2(out[1], STDOUT_FILENO);
      dup2(err[1], STDERR_FILENO);
      close(out[0]);
      close(out[1]);
      close(err[0]);
      close(err[1]);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(out[1]);
    close(err[1]);
    out_ = out[0];
    err_ = err[0];
  }
  ~Child() {
    if (!exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    close(out_);
    close(err_);
  }

  pid_t pid() const { return pid_; }

  // Reads stdout up to the first newline; nullopt at EOF or after `timeout`.
  std::optional<std::string> read_line(Duration timeout) {
    const auto deadline = SteadyClock::now() + timeout;
    std::string line;
    while (SteadyClock::now() < deadline) {
      pollfd p{out_, POLLIN, 0};
      if (poll(&p, 1, 10) <= 0) continue;
      char c;
      if (read(out_, &c, 1) != 1) return std::nullopt;
      if (c == '\n') return line;
      line += c;
    }
    return std::nullopt;
  }

  // Everything remaining on a pipe until EOF (the child has exited).
  static std::string drain(int fd) {
    std::string text;
    char buf[512];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) text.append(buf, static_cast<std::size_t>(n));
    return text;
  }
  std::string rest_of_stdout() { return drain(out_); }
  std::string stderr_text() { return drain(err_); }

  // The exit status, or nullopt if it is still running after `timeout`.
  std::optional<int> wait(Duration timeout) {
    int status = 0;
    const bool done =
        test::wait_until([&] { return waitpid(pid_, &status, WNOHANG) == pid_; }, timeout);
    if (!done) return std::nullopt;
    exited_ = true;
    return status;
  }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  int err_ = -1;
  bool exited_ = false;
};

}  // namespace

TEST_CASE("flotilla-worker binary: announces its port, serves, exits 0 on SIGTERM") {
  Child child({"--profile", std::string(FLOTILLA_SOURCE_DIR) + "/fleet/standard.json",
               "--boot-time", "0", "--service-time-mean", "5ms", "--id", "bin-1", "--port", "0"});
  const auto line = child.read_line(std::chrono::seconds(20));
  REQUIRE(line.has_value());
  std::smatch match;
  REQUIRE(std::regex_match(*line, match,
                           std::regex(R"(flotilla-worker listening on 127\.0\.0\.1:(\d+))")));
  const auto port = static_cast<std::uint16_t>(std::stoi(match[1]));
  CHECK(port != 0);

  const auto r = test::http_get(port, "/work");
  CHECK(r.status == 200);
  CHECK(r.worker == "bin-1");
  const auto m = test::get_metrics(port);
  CHECK(m["capacity"] == 4);
  CHECK(m["served"] == 1);

  REQUIRE(kill(child.pid(), SIGTERM) == 0);
  const auto status = child.wait(std::chrono::seconds(10));
  REQUIRE(status.has_value());
  CHECK(WIFEXITED(*status));
  CHECK(WEXITSTATUS(*status) == 0);
  CHECK(child.rest_of_stdout().empty());  // the announce line is the only output on stdout
}

TEST_CASE("flotilla-worker binary: user mistakes exit 2 with a message naming what was wrong") {
  WorkerServer busy(WorkerProfile{}, "busy", 1);
  struct Row {
    std::vector<std::string> args;
    std::string expected;  // substring of stderr
  };
  const std::vector<Row> rows = {
      {{"--capacity", "0"}, "--capacity"},
      {{"--queue-limit", "-3"}, "--queue-limit"},
      {{"--service-time-mean", "fast"}, "--service-time-mean: expected a duration"},
      {{"--distribution", "normal"}, "--distribution"},
      {{"--distribution", "lognormal"}, "--p99: expected a p99 duration"},
      {{"--distribution", "lognormal", "--p99", "10ms"}, "--p99: expected a duration greater than"},
      {{"--p99", "90ms"}, "--p99: expected no p99"},
      {{"--boot-time", "later"}, "--boot-time"},
      {{"--no-such-flag"}, "--no-such-flag"},
      {{"--profile", "/nonexistent/p.json"}, "/nonexistent/p.json"},
      {{"--profile", std::string(FLOTILLA_SOURCE_DIR) + "/tests/worker/CMakeLists.txt"},
       "valid JSON"},
      {{"--port", std::to_string(busy.port())},
       "127.0.0.1:" + std::to_string(busy.port()) + " is already in use"},
  };
  for (const auto& row : rows) {
    CAPTURE(row.args.front());
    CAPTURE(row.expected);
    Child child(row.args);
    const auto status = child.wait(std::chrono::seconds(20));
    REQUIRE(status.has_value());
    CHECK(WIFEXITED(*status));
    CHECK(WEXITSTATUS(*status) == 2);
    const auto err = child.stderr_text();
    CHECK_MESSAGE(err.find(row.expected) != std::string::npos, err);
    CHECK(child.rest_of_stdout().empty());
  }
}

TEST_CASE("flotilla-worker binary: a lognormal profile from fleet/ with overrides starts") {
  Child child({"--profile", std::string(FLOTILLA_SOURCE_DIR) + "/fleet/slow-boot.json",
               "--boot-time", "0", "--capacity", "3", "--queue-limit", "0", "--seed", "9"});
  const auto line = child.read_line(std::chrono::seconds(20));
  REQUIRE(line.has_value());
  const auto port = static_cast<std::uint16_t>(std::stoi(line->substr(line->rfind(':') + 1)));
  const auto m = test::get_metrics(port);
  CHECK(m["capacity"] == 3);
  CHECK(m["booted"] == true);
  CHECK(m["worker_id"] == "worker");
  REQUIRE(kill(child.pid(), SIGINT) == 0);
  const auto status = child.wait(std::chrono::seconds(10));
  REQUIRE(status.has_value());
  CHECK(WIFEXITED(*status));
  CHECK(WEXITSTATUS(*status) == 0);
}

TEST_CASE("flotilla-worker binary: crash_after exits with code 1 after the last answer") {
  Child child({"--boot-time", "0", "--service-time-mean", "1ms", "--distribution", "constant",
               "--id", "bin-crash"});
  const auto line = child.read_line(std::chrono::seconds(20));
  REQUIRE(line.has_value());
  const auto port = static_cast<std::uint16_t>(std::stoi(line->substr(line->rfind(':') + 1)));
  test::HttpClient client(port);
  const auto set = client.request("PUT", "/flotilla/faults", R"({"crash_after": {"requests": 3}})");
  REQUIRE(set.status == 200);
  for (int i = 0; i < 3; ++i) CHECK(client.request("GET", "/work").status == 200);
  const auto status = child.wait(std::chrono::seconds(10));
  REQUIRE(status.has_value());
  CHECK(WIFEXITED(*status));
  CHECK(WEXITSTATUS(*status) == kCrashExitCode);
  CHECK(kCrashExitCode == 1);
  CHECK(child.stderr_text().find("crash_after") != std::string::npos);
  CHECK(child.rest_of_stdout().empty());
}

namespace {

std::uint16_t announced_port(Child& child) {
  const auto line = child.read_line(std::chrono::seconds(20));
  REQUIRE(line.has_value());
  return static_cast<std::uint16_t>(std::stoi(line->substr(line->rfind(':') + 1)));
}

char process_state(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string content;
  std::getline(stat, content);
  const auto paren = content.rfind(')');
  return paren != std::string::npos && paren + 2 < content.size() ? content[paren + 2] : '?';
}

}  // namespace

TEST_CASE("flotilla-worker binary: PUT /flotilla/signal stops it for a while, then kills it") {
  // --profile-json and --bind are what the swarm provider passes.
  Child child({"--profile-json",
               R"({"name": "inline", "capacity": 2, "boot_time": "0s", "queue_limit": 8,
                   "service_time": {"distribution": "constant", "mean": "1ms"}})",
               "--bind", "127.0.0.1", "--id", "bin-signal"});
  const auto port = announced_port(child);
  {
    test::HttpClient client(port);
    const auto stop =
        client.request("PUT", "/flotilla/signal", R"({"signal": "STOP", "for": "1s"})");
    CHECK(stop.status == 200);
    CHECK(nlohmann::json::parse(stop.body) == nlohmann::json{{"signal", "STOP"}, {"for", "1s"}});
  }
  CHECK(
      test::wait_until([&] { return process_state(child.pid()) == 'T'; }, std::chrono::seconds(5)));
  // Its helper continues it: it answers again without anyone sending SIGCONT.
  CHECK(test::wait_until([&] { return process_state(child.pid()) != 'T'; },
                         std::chrono::seconds(10)));
  CHECK(test::http_get(port, "/health").status == 200);

  const auto bad = test::http_get(port, "/flotilla/signal");
  CHECK(bad.status == 405);
  {
    test::HttpClient client(port);
    for (const char* body : {R"({"signal": "TERM"})", R"({"signal": "STOP"})",
                             R"({"signal": "KILL", "for": "1s"})", "not json"})
      CHECK_MESSAGE(client.request("PUT", "/flotilla/signal", body).status == 400, body);
    CHECK(client.request("PUT", "/flotilla/signal", R"({"signal": "KILL"})").status == 200);
  }
  const auto status = child.wait(std::chrono::seconds(10));
  REQUIRE(status.has_value());
  CHECK(WIFSIGNALED(*status));
  CHECK(WTERMSIG(*status) == SIGKILL);
}

}  // namespace flotilla
