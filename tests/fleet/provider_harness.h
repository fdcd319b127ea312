#pragma once
// Test support for the providers (process_provider_test.cpp, command_provider_test.cpp,
// swarm_provider_test.cpp): a provider on its own io_context that records its callbacks, and
// checks on processes through /proc.
#include <doctest/doctest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <cerrno>
#include <chrono>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "fleet/provider.h"
#include "support/wait.h"

extern char** environ;

namespace flotilla::test {

using Clock = std::chrono::steady_clock;

template <typename P>
struct ProviderHarness {
  explicit ProviderHarness(typename P::Options options = {}) {
    provider = std::make_unique<P>(io, std::move(options));
    provider->set_callbacks({
        .on_listening =
            [this](const WorkerId& id, const Endpoint& endpoint) {
              listening[id].push_back(endpoint);
              events.push_back("listening " + id);
            },
        .on_exit =
            [this](const WorkerId& id, const WorkerExit& exit) {
              exits[id].push_back(exit);
              events.push_back("exit " + id);
              if (on_exit_hook) on_exit_hook(id);
            },
    });
  }

  // Drives the io_context until `done` holds; false if `limit` passed first.
  bool run_until(const std::function<bool()>& done, Duration limit = std::chrono::seconds(10)) {
    const auto deadline = Clock::now() + limit * flotilla::test::kDeadlineScale;
    while (!done()) {
      if (Clock::now() >= deadline) return false;
      if (io.stopped()) io.restart();
      io.run_one_for(std::chrono::milliseconds(10));
    }
    return true;
  }

  // Drives the io_context for `span` (to observe that nothing more happens).
  void run_for(Duration span) {
    if (io.stopped()) io.restart();
    io.run_for(span);
  }

  bool listened(const WorkerId& id) const { return listening.count(id) != 0; }
  bool exited(const WorkerId& id) const { return exits.count(id) != 0; }

  boost::asio::io_context io;  // declared first: outlives the provider
  std::unique_ptr<P> provider;
  std::map<WorkerId, std::vector<Endpoint>> listening;
  std::map<WorkerId, std::vector<WorkerExit>> exits;
  std::vector<std::string> events;
  std::function<void(const WorkerId&)> on_exit_hook;
};

// True once `pid` names no live process: gone, or a zombie waiting for its new parent to reap it.
inline bool process_gone(int pid) {
  if (::kill(pid, 0) == -1 && errno == ESRCH) return true;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string content;
  if (!std::getline(stat, content)) return true;
  const auto paren = content.rfind(')');
  if (paren == std::string::npos || paren + 2 >= content.size()) return false;
  const char state = content[paren + 2];
  return state == 'Z' || state == 'X';
}

inline char process_state(int pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string content;
  if (!std::getline(stat, content)) return '?';
  const auto paren = content.rfind(')');
  return paren + 2 < content.size() ? content[paren + 2] : '?';
}

inline bool poll_until(const std::function<bool()>& done,
                       Duration limit = std::chrono::seconds(5)) {
  const auto deadline = Clock::now() + limit;
  while (!done()) {
    if (Clock::now() >= deadline) return false;
    ::poll(nullptr, 0, 5);
  }
  return true;
}

// Starts fleet_orphan_parent with `args` (its provider and workers) and reads the first line it
// prints (empty if none came within `limit`); the parent is SIGKILLed and reaped before it
// returns, so what it launched is left behind.
struct OrphanedParent {
  pid_t pid = -1;
  std::string line;
};
inline OrphanedParent run_and_kill_orphan_parent(
    const std::vector<std::string>& args, Duration limit,
    const std::function<void(const std::string& line)>& before_kill = {}) {
  int out[2];
  REQUIRE(::pipe(out) == 0);
  posix_spawn_file_actions_t actions;
  ::posix_spawn_file_actions_init(&actions);
  ::posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  ::posix_spawn_file_actions_addclose(&actions, out[0]);
  ::posix_spawn_file_actions_addclose(&actions, out[1]);
  std::vector<char*> argv = {const_cast<char*>(FLEET_ORPHAN_PARENT)};
  for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  OrphanedParent parent;
  REQUIRE(::posix_spawn(&parent.pid, FLEET_ORPHAN_PARENT, &actions, nullptr, argv.data(),
                        environ) == 0);
  ::posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  std::string text;
  const auto deadline = Clock::now() + limit;
  while (text.find('\n') == std::string::npos && Clock::now() < deadline) {
    pollfd pfd{out[0], POLLIN, 0};
    if (::poll(&pfd, 1, 50) <= 0) continue;
    char buf[256];
    const auto n = ::read(out[0], buf, sizeof buf);
    if (n <= 0) break;
    text.append(buf, static_cast<std::size_t>(n));
  }
  ::close(out[0]);
  if (const auto end = text.find('\n'); end != std::string::npos) parent.line = text.substr(0, end);
  if (before_kill) before_kill(parent.line);
  ::kill(parent.pid, SIGKILL);
  ::waitpid(parent.pid, nullptr, 0);
  return parent;
}

// Runs fleet_orphan_parent with `args`, reads the pids of its three workers once they
// announced ("pids P1 P2 P3"), SIGKILLs it and checks every worker dies too.
inline void check_workers_die_with_parent(const std::vector<std::string>& args) {
  std::string tag;
  std::vector<int> pids;
  bool all_alive_before = false;
  run_and_kill_orphan_parent(args, std::chrono::seconds(10), [&](const std::string& line) {
    std::istringstream words(line);
    words >> tag;
    for (int pid; words >> pid;) pids.push_back(pid);
    all_alive_before =
        std::none_of(pids.begin(), pids.end(), [](int pid) { return process_gone(pid); });
  });

  REQUIRE(tag == "pids");
  REQUIRE(pids.size() == 3);
  CHECK(all_alive_before);
  for (int pid : pids) {
    CAPTURE(pid);
    CHECK(pid > 0);
    CHECK(poll_until([&] { return process_gone(pid); }));
  }
}

}  // namespace flotilla::test
