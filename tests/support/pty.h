#pragma once
// Test support: run a program on a pseudo-terminal, as a user's terminal runs it, and capture
// what it writes there (its stdout and stderr both). Header-only; link `util` (forkpty).
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

extern char** environ;

#include "support/wait.h"

namespace flotilla::test {

struct PtyResult {
  int exit_code = -1;  // -1 when it was killed for the deadline or by a signal
  bool timed_out = false;
  std::string out;  // as the terminal received it: "\n" arrives as "\r\n"
};

// Environment changes for the child: a value sets the variable, nullopt unsets it.
using EnvChanges = std::vector<std::pair<std::string, std::optional<std::string>>>;

inline PtyResult run_on_pty(const std::vector<std::string>& argv, const EnvChanges& changes,
                            std::chrono::milliseconds deadline) {
  // Everything the child needs is built before fork: after it, only exec.
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    const std::string entry = *e;
    bool changed = false;
    for (const auto& [name, value] : changes)
      if (entry.compare(0, name.size() + 1, name + "=") == 0) changed = true;
    if (!changed) env.push_back(entry);
  }
  for (const auto& [name, value] : changes)
    if (value) env.push_back(name + "=" + *value);
  std::vector<char*> envp, args;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);

  winsize size{};
  size.ws_row = 50;
  size.ws_col = 160;
  int controller = -1;
  const pid_t pid = ::forkpty(&controller, nullptr, nullptr, &size);
  if (pid < 0) throw std::runtime_error("forkpty");
  if (pid == 0) {
    ::execve(args[0], args.data(), envp.data());
    ::_exit(127);
  }

  PtyResult result;
  const auto end = std::chrono::steady_clock::now() + deadline * kDeadlineScale;
  char buffer[4096];
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        end - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      result.timed_out = true;
      ::kill(pid, SIGKILL);
      break;
    }
    pollfd fd{controller, POLLIN, 0};
    if (::poll(&fd, 1, static_cast<int>(std::min<long>(left.count(), 100))) <= 0) continue;
    const ssize_t n = ::read(controller, buffer, sizeof buffer);
    // Linux answers EIO once the child's side of the terminal is closed and drained.
    if (n <= 0) break;
    result.out.append(buffer, static_cast<std::size_t>(n));
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  ::close(controller);
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  return result;
}

}  // namespace flotilla::test
