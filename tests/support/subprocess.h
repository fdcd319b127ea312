#pragma once
// Test support: run a program with a deadline and capture what it prints. Header-only, POSIX.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "support/wait.h"

extern char** environ;

namespace flotilla::test {

struct ProcessResult {
  int exit_code = -1;  // -1 when it was killed for the deadline or by a signal
  int signal = 0;
  bool timed_out = false;
  std::string out;
  std::string err;
};

// A child process with its stdout and stderr on pipes. `env`: NAME=VALUE entries that are added
// to this process's environment or replace a variable of the same name. `die_with_parent`: the
// child gets SIGTERM when this process dies, even by SIGKILL (PR_SET_PDEATHSIG), so a driver
// that is killed leaves nothing running; it is sent when the spawning thread ends, so spawn from
// the thread that lives longest.
class Subprocess {
 public:
  explicit Subprocess(const std::vector<std::string>& argv,
                      const std::vector<std::string>& env = {}, bool die_with_parent = false) {
    int out_pipe[2], err_pipe[2];
    if (::pipe(out_pipe) != 0 || ::pipe(err_pipe) != 0) throw std::runtime_error("pipe");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
    posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
    posix_spawn_file_actions_addclose(&actions, out_pipe[0]);
    posix_spawn_file_actions_addclose(&actions, err_pipe[0]);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    std::vector<std::string> environment = env;
    for (char** e = environ; *e != nullptr; ++e) {
      const std::string_view entry(*e);
      const auto name = entry.substr(0, entry.find('=') + 1);
      bool replaced = false;
      for (const auto& own : env) replaced = replaced || own.rfind(name, 0) == 0;
      if (!replaced) environment.emplace_back(entry);
    }
    std::vector<char*> envp;
    for (auto& e : environment) envp.push_back(e.data());
    envp.push_back(nullptr);
    if (die_with_parent) {
      // posix_spawn cannot set a death signal, so this path forks; the child only calls
      // async-signal-safe functions before exec.
      const pid_t parent = ::getpid();
      pid_ = ::fork();
      if (pid_ < 0) throw std::runtime_error("cannot start " + argv[0]);
      if (pid_ == 0) {
        const int null_fd = ::open("/dev/null", O_RDONLY);
        ::dup2(null_fd, 0);
        ::dup2(out_pipe[1], 1);
        ::dup2(err_pipe[1], 2);
        for (const int fd : {null_fd, out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]})
          ::close(fd);
        // The parent may have died before the death signal was armed.
        if (::prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || ::getppid() != parent) ::_exit(127);
        ::execve(args[0], args.data(), envp.data());
        ::_exit(127);
      }
    } else if (::posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), envp.data()) != 0) {
      throw std::runtime_error("cannot start " + argv[0]);
    }
    posix_spawn_file_actions_destroy(&actions);
    ::close(out_pipe[1]);
    ::close(err_pipe[1]);
    out_fd_ = out_pipe[0];
    err_fd_ = err_pipe[0];
  }
  ~Subprocess() {
    if (!reaped_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (out_fd_ >= 0) ::close(out_fd_);
    if (err_fd_ >= 0) ::close(err_fd_);
  }
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  pid_t pid() const { return pid_; }
  const std::string& out() const { return out_; }
  const std::string& err() const { return err_; }

  // Reads what is available for up to `wait`; false once both pipes are closed.
  bool pump(std::chrono::milliseconds wait) {
    pollfd fds[2] = {{out_fd_, POLLIN, 0}, {err_fd_, POLLIN, 0}};
    if (out_fd_ < 0 && err_fd_ < 0) return false;
    if (::poll(fds, 2, static_cast<int>(wait.count())) <= 0) return true;
    read_into(out_fd_, fds[0].revents, out_);
    read_into(err_fd_, fds[1].revents, err_);
    return out_fd_ >= 0 || err_fd_ >= 0;
  }

  // Pumps until `done()` holds or the deadline passes; true if it held.
  bool wait_for_output(const std::function<bool()>& done, std::chrono::milliseconds deadline) {
    const auto end = std::chrono::steady_clock::now() + deadline * kDeadlineScale;
    while (!done()) {
      if (std::chrono::steady_clock::now() >= end) return false;
      if (!pump(std::chrono::milliseconds(20))) return done();
    }
    return true;
  }

  // Waits for exit, reading its output; SIGKILLs it at the deadline.
  ProcessResult finish(std::chrono::milliseconds deadline) {
    ProcessResult result;
    const auto end = std::chrono::steady_clock::now() + deadline * kDeadlineScale;
    int status = 0;
    while (true) {
      pump(std::chrono::milliseconds(20));
      const pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) break;
      if (std::chrono::steady_clock::now() >= end) {
        result.timed_out = true;
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        break;
      }
    }
    reaped_ = true;
    while (pump(std::chrono::milliseconds(50))) {
    }
    if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
    result.out = out_;
    result.err = err_;
    return result;
  }

 private:
  static void read_into(int& fd, short revents, std::string& sink) {
    if (fd < 0 || (revents & (POLLIN | POLLHUP | POLLERR)) == 0) return;
    char buffer[4096];
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n > 0) {
      sink.append(buffer, static_cast<std::size_t>(n));
    } else {
      ::close(fd);
      fd = -1;
    }
  }

  pid_t pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  bool reaped_ = false;
  std::string out_, err_;
};

inline ProcessResult run_process(const std::vector<std::string>& argv,
                                 std::chrono::milliseconds deadline,
                                 const std::vector<std::string>& env = {}) {
  Subprocess p(argv, env);
  return p.finish(deadline);
}

// The port a program printed on the first line of `text` that holds `prefix`: the number right
// after the prefix, or after the last ':' of the [http://]HOST:PORT there ("listening on
// 127.0.0.1:PORT", "dashboard on http://127.0.0.1:PORT/", "on port PORT."). nullopt until
// that line has arrived whole, so a port read half-way is never taken.
inline std::optional<std::uint16_t> printed_port(const std::string& text, std::string_view prefix) {
  const auto at = text.find(prefix);
  if (at == std::string::npos) return std::nullopt;
  const auto end = text.find('\n', at);
  if (end == std::string::npos) return std::nullopt;
  std::string_view rest(text.data() + at + prefix.size(), end - at - prefix.size());
  if (const auto scheme = rest.find("://"); scheme < rest.find_first_of(" /"))
    rest.remove_prefix(scheme + 3);
  rest = rest.substr(0, rest.find_first_of(" /"));
  if (const auto colon = rest.rfind(':'); colon != std::string_view::npos)
    rest.remove_prefix(colon + 1);
  unsigned port = 0;
  const auto [next, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), port);
  if (ec != std::errc() || next == rest.data() || port > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(port);
}

// What /proc/PID/stat says of a process: its state letter, its parent and when it started
// (clock ticks since boot: with the pid, it tells a process from a later one given the same pid).
struct ProcStat {
  char state = '?';
  pid_t parent = -1;
  unsigned long long start_ticks = 0;
};
inline std::optional<ProcStat> proc_stat(pid_t pid) {
  FILE* f = std::fopen(("/proc/" + std::to_string(pid) + "/stat").c_str(), "r");
  if (!f) return std::nullopt;
  char text[1024];
  const std::size_t n = std::fread(text, 1, sizeof text - 1, f);
  std::fclose(f);
  text[n] = '\0';
  // The name in parentheses may itself hold ") ", so the fields start after the last ')'.
  const char* rest = std::strrchr(text, ')');
  ProcStat stat;
  // Fields 3 (state), 4 (parent), 5 to 21 skipped, 22 (start time).
  if (!rest || std::sscanf(rest + 1,
                           " %c %d %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s "
                           "%*s %*s %llu",
                           &stat.state, &stat.parent, &stat.start_ticks) != 3)
    return std::nullopt;
  return stat;
}

// True while `pid` exists and is not a zombie.
inline bool process_alive(pid_t pid) {
  if (::kill(pid, 0) != 0) return false;
  const auto stat = proc_stat(pid);
  return stat && stat->state != 'Z' && stat->state != 'X';
}

// The parent of `pid`, -1 when there is no such process.
inline pid_t parent_of(pid_t pid) {
  const auto stat = proc_stat(pid);
  return stat ? stat->parent : -1;
}

// Direct children of `parent`, from /proc.
inline std::vector<pid_t> children_of(pid_t parent) {
  std::vector<pid_t> out;
  const std::string path =
      "/proc/" + std::to_string(parent) + "/task/" + std::to_string(parent) + "/children";
  FILE* f = std::fopen(path.c_str(), "r");
  if (!f) return out;
  int pid = 0;
  while (std::fscanf(f, "%d", &pid) == 1) out.push_back(pid);
  std::fclose(f);
  return out;
}

}  // namespace flotilla::test
