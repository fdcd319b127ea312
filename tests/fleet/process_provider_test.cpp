// ProcessProvider against real child processes: /bin/sh scripts stand in for flotilla-worker.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/process/args.hpp>
#include <boost/process/async.hpp>
#include <boost/process/child.hpp>
#include <boost/process/exe.hpp>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "fleet/process_provider.h"
#include "provider_harness.h"
#include "support/wait.h"

using namespace flotilla;

extern char** environ;

namespace {

constexpr const char* kAnnounce = "echo 'flotilla-worker listening on 127.0.0.1:4242'";

LaunchSpec sh(const std::string& script) { return {"/bin/sh", {"-c", script}, "", std::nullopt}; }

// An announcing worker that runs until signalled.
LaunchSpec sleeper() { return sh(std::string(kAnnounce) + "; exec sleep 30"); }

using ProcessHarness = flotilla::test::ProviderHarness<ProcessProvider>;
using flotilla::test::Clock;
using flotilla::test::poll_until;
using flotilla::test::process_gone;
using flotilla::test::process_state;

}  // namespace

TEST_CASE("launch reports the announced endpoint once, with sequential AWS-style ids") {
  ProcessHarness h;
  const auto first = h.provider->launch(sleeper());
  const auto second = h.provider->launch(sleeper());
  CHECK(first == "i-00000000000000001");
  CHECK(second == "i-00000000000000002");
  CHECK(h.provider->running() == 2);
  REQUIRE(h.run_until([&] { return h.listened(first) && h.listened(second); }));
  CHECK(h.listening[first] == std::vector<Endpoint>{{"127.0.0.1", 4242}});
  CHECK(h.exits.empty());
  const auto pid = h.provider->pid(first);
  REQUIRE(pid.has_value());
  CHECK(*pid > 0);
  CHECK(*pid != h.provider->pid(second));
  CHECK(process_state(*pid) != '?');
  CHECK(h.provider->running() == 2);
}

TEST_CASE("ids follow the configured prefix and first id") {
  ProcessHarness h(ProcessProvider::Options{.id_prefix = "w-", .first_id = 0xabc});
  const auto a = h.provider->launch(sh("exit 0"));
  const auto b = h.provider->launch(sh("exit 0"));
  CHECK(a == "w-00000000000000abc");
  CHECK(b == "w-00000000000000abd");
  REQUIRE(h.run_until([&] { return h.exited(a) && h.exited(b); }));
}

TEST_CASE("a launch with the run's seed gives each worker its own, as --seed N after the args") {
  ProcessHarness h;
  // sh -c SCRIPT NAME --seed N: the script sees --seed as $1 and N as $2.
  LaunchSpec spec{"/bin/sh", {"-c", R"([ "$1" = --seed ] && exit $(( $2 % 256 )); exit 255)", "sh"},
                  "", 7};
  const auto first = h.provider->launch(spec);
  const auto second = h.provider->launch(spec);
  REQUIRE(h.run_until([&] { return h.exited(first) && h.exited(second); }));
  CHECK(h.exits[first][0].exit_code == static_cast<int>(worker_seed(7, 1) % 256));
  CHECK(h.exits[second][0].exit_code == static_cast<int>(worker_seed(7, 2) % 256));
  CHECK(worker_seed(7, 1) != worker_seed(7, 2));
  CHECK(worker_seed(7, 1) != worker_seed(8, 1));
}

TEST_CASE("an exit code is reported, without on_listening") {
  ProcessHarness h;
  const auto id = h.provider->launch(sh("exit 3"));
  REQUIRE(h.run_until([&] { return h.exited(id); }));
  REQUIRE(h.exits[id].size() == 1);
  CHECK(h.exits[id][0].exit_code == 3);
  CHECK(h.exits[id][0].signal == 0);
  CHECK(h.exits[id][0].describe() == "exit 3");
  CHECK_FALSE(h.listened(id));
  CHECK(h.provider->running() == 0);
  CHECK_FALSE(h.provider->pid(id).has_value());
}

TEST_CASE("an announce written just before exiting still precedes on_exit") {
  ProcessHarness h;
  std::vector<WorkerId> ids;
  for (int i = 0; i < 8; ++i)
    ids.push_back(h.provider->launch(sh(std::string(kAnnounce) + "; exit 0")));
  REQUIRE(h.run_until([&] { return h.exits.size() == ids.size(); }));
  for (const auto& id : ids) {
    CAPTURE(id);
    REQUIRE(h.exits[id].size() == 1);
    CHECK(h.exits[id][0].clean());
    REQUIRE(h.listening[id].size() == 1);
    const auto listened_at = std::find(h.events.begin(), h.events.end(), "listening " + id);
    const auto exited_at = std::find(h.events.begin(), h.events.end(), "exit " + id);
    CHECK(listened_at < exited_at);
  }
}

TEST_CASE("signal() delivers the signal and the exit names it") {
  ProcessHarness h;
  const auto id = h.provider->launch(sleeper());
  REQUIRE(h.run_until([&] { return h.listened(id); }));
  h.provider->signal(id, SIGKILL);
  REQUIRE(h.run_until([&] { return h.exited(id); }));
  REQUIRE(h.exits[id].size() == 1);
  CHECK(h.exits[id][0].signal == SIGKILL);
  CHECK(h.exits[id][0].describe() == "signal 9 (SIGKILL)");
  h.provider->signal(id, SIGKILL);  // no-op once exited
  h.provider->stop(id, std::chrono::milliseconds(1));
  h.run_for(std::chrono::milliseconds(50));
  CHECK(h.exits[id].size() == 1);
}

TEST_CASE("SIGSTOP and SIGCONT are not exits") {
  ProcessHarness h;
  const auto id = h.provider->launch(sleeper());
  REQUIRE(h.run_until([&] { return h.listened(id); }));
  const int pid = h.provider->pid(id).value();
  h.provider->signal(id, SIGSTOP);
  REQUIRE(poll_until([&] { return process_state(pid) == 'T'; }));
  h.run_for(std::chrono::milliseconds(50));
  CHECK_FALSE(h.exited(id));
  CHECK(h.provider->pid(id) == pid);
  h.provider->signal(id, SIGCONT);
  REQUIRE(poll_until([&] { return process_state(pid) != 'T'; }));
  h.run_for(std::chrono::milliseconds(50));
  CHECK_FALSE(h.exited(id));
  h.provider->signal(id, SIGTERM);
  REQUIRE(h.run_until([&] { return h.exited(id); }));
  CHECK(h.exits[id][0].signal == SIGTERM);
}

TEST_CASE("stop() SIGKILLs a worker that ignores SIGTERM once the grace period is over") {
  ProcessHarness h;
  const auto id = h.provider->launch(sh(std::string("trap '' TERM; ") + kAnnounce + "; sleep 30"));
  REQUIRE(h.run_until([&] { return h.listened(id); }));
  const auto grace = std::chrono::milliseconds(300);
  const auto stopped_at = Clock::now();
  h.provider->stop(id, grace);
  h.provider->stop(id, std::chrono::milliseconds(0));  // a second stop changes nothing
  REQUIRE(h.run_until([&] { return h.exited(id); }));
  CHECK(Clock::now() - stopped_at >= grace);
  REQUIRE(h.exits[id].size() == 1);
  CHECK(h.exits[id][0].signal == SIGKILL);
}

TEST_CASE("stop() lets a worker that honours SIGTERM exit with its own code") {
  ProcessHarness h;
  // A foreground `sleep` is in the worker's process group and gets the SIGTERM too; a short one
  // bounds the shell's reaction time even if the signal lands between its fork and exec.
  const auto id = h.provider->launch(
      sh(std::string("trap 'exit 7' TERM; ") + kAnnounce + "; while :; do sleep 0.1; done"));
  REQUIRE(h.run_until([&] { return h.listened(id); }));
  const auto stopped_at = Clock::now();
  h.provider->stop(id, std::chrono::seconds(20));
  REQUIRE(h.run_until([&] { return h.exited(id); }));
  CHECK(Clock::now() - stopped_at < std::chrono::seconds(10));
  REQUIRE(h.exits[id].size() == 1);
  CHECK(h.exits[id][0].exit_code == 7);
  CHECK(h.exits[id][0].signal == 0);
  h.provider->stop(id, std::chrono::milliseconds(1));  // no-op once exited
  h.run_for(std::chrono::milliseconds(50));
  CHECK(h.exits[id].size() == 1);
}

TEST_CASE("a worker that cannot start is reported with exit 127 on a later turn") {
  ProcessHarness h;
  const std::vector<std::string> executables = {
      "/nonexistent/flotilla-worker",
      std::string(FLOTILLA_SOURCE_DIR) + "/CMakeLists.txt",  // exists, not executable
      "flotilla-no-such-command",                            // not in PATH
      "",
  };
  std::vector<WorkerId> ids;
  for (const auto& executable : executables) ids.push_back(h.provider->launch({executable, {}, "", std::nullopt}));
  CHECK(h.exits.empty());  // never reported from inside launch()
  CHECK(h.provider->running() == executables.size());
  CHECK_FALSE(h.provider->pid(ids[0]).has_value());
  REQUIRE(h.run_until([&] { return h.exits.size() == executables.size(); }));
  for (const auto& id : ids) {
    CAPTURE(id);
    REQUIRE(h.exits[id].size() == 1);
    CHECK(h.exits[id][0].exit_code == 127);
    CHECK(h.exits[id][0].signal == 0);
  }
  CHECK(h.listening.empty());
  CHECK(h.provider->running() == 0);
  // The children whose exec failed were reaped: this process has no child left at all.
  errno = 0;
  CHECK(::waitpid(-1, nullptr, WNOHANG) == -1);
  CHECK(errno == ECHILD);
}

TEST_CASE("children that end together are each reported exactly once") {
  ProcessHarness h;
  std::vector<WorkerId> sleepers;
  for (int i = 0; i < 6; ++i) sleepers.push_back(h.provider->launch(sleeper()));
  REQUIRE(h.run_until([&] { return h.listening.size() == sleepers.size(); }));
  std::map<WorkerId, int> codes;
  for (const auto& id : sleepers) h.provider->signal(id, SIGKILL);
  for (int i = 0; i < 6; ++i)
    codes[h.provider->launch(sh("exit " + std::to_string(10 + i)))] = 10 + i;
  REQUIRE(h.run_until([&] { return h.exits.size() == 12; }));
  h.run_for(std::chrono::milliseconds(100));
  CHECK(h.exits.size() == 12);
  for (const auto& id : sleepers) {
    CAPTURE(id);
    REQUIRE(h.exits[id].size() == 1);
    CHECK(h.exits[id][0].signal == SIGKILL);
  }
  for (const auto& [id, code] : codes) {
    CAPTURE(id);
    REQUIRE(h.exits[id].size() == 1);
    CHECK(h.exits[id][0].exit_code == code);
  }
  CHECK(h.provider->running() == 0);
}

TEST_CASE("other children of the process neither disturb nor are disturbed") {
  ProcessHarness h;
  std::vector<WorkerId> sleepers;
  for (int i = 0; i < 3; ++i) sleepers.push_back(h.provider->launch(sleeper()));
  REQUIRE(h.run_until([&] { return h.listening.size() == sleepers.size(); }));

  // std::system waits for its own child.
  const int system_status = std::system("exit 5");
  CHECK(WIFEXITED(system_status));
  CHECK(WEXITSTATUS(system_status) == 5);

  // A raw child that this test reaps itself, after the provider had a chance to see its SIGCHLD.
  const pid_t raw = ::fork();
  REQUIRE(raw >= 0);
  if (raw == 0) ::_exit(9);
  // Boost.Process's own SIGCHLD machinery on the same io_context.
  int bp_code = -1;
  boost::process::child bp_child(
      boost::process::exe = "/bin/sh", boost::process::args = {"-c", "exit 4"},
      boost::process::on_exit = [&](int code, const std::error_code&) { bp_code = code; }, h.io);
  const auto quick = h.provider->launch(sh("exit 6"));
  REQUIRE(h.run_until([&] { return h.exited(quick) && bp_code != -1; }));
  CHECK(bp_code == 4);
  CHECK(h.exits[quick][0].exit_code == 6);
  int raw_status = 0;
  CHECK(::waitpid(raw, &raw_status, 0) == raw);
  CHECK(WEXITSTATUS(raw_status) == 9);
  bp_child.wait();

  CHECK(h.exits.size() == 1);  // the sleepers are still running
  for (const auto& id : sleepers) h.provider->signal(id, SIGKILL);
  REQUIRE(h.run_until([&] { return h.exits.size() == 4; }));
  for (const auto& id : sleepers) CHECK(h.exits[id][0].signal == SIGKILL);
}

TEST_CASE("stdout beyond the pipe's capacity and over-long lines do not block the announce") {
  ProcessHarness h;
  const auto id =
      h.provider->launch(sh("seq 1 200000; head -c 300000 /dev/zero | tr '\\0' x; echo; " +
                            std::string(kAnnounce) + "; exec sleep 30"));
  REQUIRE(h.run_until([&] { return h.listened(id); }));
  CHECK(h.listening[id] == std::vector<Endpoint>{{"127.0.0.1", 4242}});
  CHECK_FALSE(h.exited(id));
}

TEST_CASE("only the first announce counts") {
  ProcessHarness h;
  const auto id =
      h.provider->launch(sh("echo 'flotilla-worker listening on 127.0.0.1:1111'; "
                            "echo 'flotilla-worker listening on 127.0.0.1:2222'; exit 0"));
  REQUIRE(h.run_until([&] { return h.exited(id); }));
  CHECK(h.listening[id] == std::vector<Endpoint>{{"127.0.0.1", 1111}});
}

TEST_CASE("on_exit may launch a replacement") {
  ProcessHarness h;
  std::vector<WorkerId> launched;
  h.on_exit_hook = [&](const WorkerId&) {
    if (launched.size() < 3) launched.push_back(h.provider->launch(sh("exit 0")));
  };
  launched.push_back(h.provider->launch(sh("exit 0")));
  REQUIRE(h.run_until([&] { return h.exits.size() == 3; }));
  CHECK(launched.size() == 3);
  CHECK(launched[2] == "i-00000000000000003");
  CHECK(h.provider->running() == 0);
}

TEST_CASE("the destructor kills and reaps running workers, without callbacks") {
  ProcessHarness h;
  std::vector<int> pids;
  for (int i = 0; i < 3; ++i) {
    const auto id = h.provider->launch(sleeper());
    pids.push_back(h.provider->pid(id).value());
  }
  REQUIRE(h.run_until([&] { return h.listening.size() == 3; }));
  h.provider.reset();
  CHECK(h.exits.empty());
  for (int pid : pids) {
    CAPTURE(pid);
    errno = 0;
    CHECK(::kill(pid, 0) == -1);  // reaped: not even a zombie is left
    CHECK(errno == ESRCH);
  }
}

TEST_CASE("a shell-wrapped worker takes its own children along when stopped") {
  ProcessHarness h;
  // The shell's child `sleep` is a grandchild of flotilla; its pid goes to a file.
  char path[] = "/tmp/fleet_test_XXXXXX";
  const int fd = ::mkstemp(path);
  REQUIRE(fd >= 0);
  ::close(fd);
  const auto id = h.provider->launch(
      sh(std::string("sleep 30 & echo $! > ") + path + "; " + kAnnounce + "; wait"));
  REQUIRE(h.run_until([&] { return h.listened(id); }));
  int grandchild = 0;
  std::ifstream(path) >> grandchild;
  ::unlink(path);
  REQUIRE(grandchild > 0);
  CHECK_FALSE(process_gone(grandchild));
  h.provider->stop(id, std::chrono::seconds(5));
  REQUIRE(h.run_until([&] { return h.exited(id); }));
  CHECK(poll_until([&] { return process_gone(grandchild); }));
}

TEST_CASE("on_exit is not held back by a grandchild that keeps stdout open") {
  ProcessHarness h(ProcessProvider::Options{.exit_drain = std::chrono::milliseconds(100)});
  char path[] = "/tmp/fleet_test_XXXXXX";
  const int fd = ::mkstemp(path);
  REQUIRE(fd >= 0);
  ::close(fd);
  const auto id = h.provider->launch(
      sh(std::string("sleep 30 2>/dev/null & echo $! > ") + path + "; " + kAnnounce + "; exit 0"));
  const bool exited = h.run_until([&] { return h.exited(id); }, std::chrono::seconds(5));
  int grandchild = 0;
  std::ifstream(path) >> grandchild;
  ::unlink(path);
  REQUIRE(grandchild > 0);
  CHECK_FALSE(process_gone(grandchild));  // it did hold the pipe open all along
  ::kill(grandchild, SIGKILL);
  REQUIRE(exited);
  CHECK(h.exits[id][0].clean());
  CHECK(h.listening[id] == std::vector<Endpoint>{{"127.0.0.1", 4242}});
  CHECK(h.events == std::vector<std::string>{"listening " + id, "exit " + id});
}

TEST_CASE("workers die with a SIGKILLed flotilla") {
  flotilla::test::check_workers_die_with_parent({});
}
