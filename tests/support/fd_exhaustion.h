#pragma once
// Test support: runs the test process out of file descriptors, and a client connection that
// needs none once they are gone, for the acceptors' backoff (core/accept_backoff.h). Header-only,
// POSIX. Lowers RLIMIT_NOFILE for the whole process: one test case per process (ctest runs each
// on its own), and the limit is restored on release().
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <string>
#include <thread>
#include <vector>

namespace flotilla::test {

// CPU time of the whole process (every thread) so far.
inline std::chrono::nanoseconds process_cpu_time() {
  timespec t{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return std::chrono::seconds(t.tv_sec) + std::chrono::nanoseconds(t.tv_nsec);
}

// While it lives, every new descriptor in this process (an accept's) fails with EMFILE: the soft
// RLIMIT_NOFILE is lowered to just above the highest descriptor open now and the rest is filled
// with copies of /dev/null.
class FdExhaustion {
 public:
  FdExhaustion() {
    ::getrlimit(RLIMIT_NOFILE, &saved_);
    int highest = 2;
    if (DIR* dir = ::opendir("/proc/self/fd")) {
      while (const dirent* e = ::readdir(dir)) highest = std::max(highest, std::atoi(e->d_name));
      ::closedir(dir);
    }
    const int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null < 0) return;
    filler_.push_back(null);
    rlimit lowered = saved_;
    lowered.rlim_cur = static_cast<rlim_t>(std::max(highest, null) + 8);
    lowered_ = ::setrlimit(RLIMIT_NOFILE, &lowered) == 0;
    for (;;) {
      const int fd = ::fcntl(null, F_DUPFD_CLOEXEC, 0);
      if (fd < 0) break;
      filler_.push_back(fd);
    }
    exhausted_ = errno == EMFILE;
  }
  ~FdExhaustion() { release(); }
  FdExhaustion(const FdExhaustion&) = delete;
  FdExhaustion& operator=(const FdExhaustion&) = delete;

  // Whether the last attempt to open a descriptor failed with EMFILE.
  bool exhausted() const { return exhausted_; }

  // Closes the copies and restores the limit. Idempotent.
  void release() {
    for (int fd : filler_) ::close(fd);
    filler_.clear();
    if (lowered_) ::setrlimit(RLIMIT_NOFILE, &saved_);
    lowered_ = false;
  }

 private:
  rlimit saved_{};
  std::vector<int> filler_;
  bool lowered_ = false;
  bool exhausted_ = false;
};

// A loopback client whose socket exists before the descriptors run out: connect() needs no new
// descriptor, so the connection waits in the server's backlog for an accept that fails.
class EarlySocket {
 public:
  EarlySocket() : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {}
  ~EarlySocket() {
    if (fd_ >= 0) ::close(fd_);
  }
  EarlySocket(const EarlySocket&) = delete;
  EarlySocket& operator=(const EarlySocket&) = delete;

  bool connect(std::uint16_t port) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return ::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
  }
  bool send(const std::string& bytes) {
    return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
           static_cast<ssize_t>(bytes.size());
  }

  // What arrives first within `limit` ("" if nothing, or the server closed).
  std::string read_some(std::chrono::milliseconds limit) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(limit.count())) <= 0) return "";
    char buffer[4096];
    const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
    return n <= 0 ? std::string() : std::string(buffer, static_cast<std::size_t>(n));
  }

  // Everything the server sends until it closes, or until `limit` passes.
  std::string read_until_closed(std::chrono::milliseconds limit) {
    std::string out;
    const auto deadline = std::chrono::steady_clock::now() + limit;
    char buffer[4096];
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return out;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return out;
      const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n <= 0) return out;
      out.append(buffer, static_cast<std::size_t>(n));
    }
  }

 private:
  int fd_;
};

// What a server did with a connection that arrived while the process had no descriptor left.
struct StarvedAccept {
  bool exhausted = false;           // the descriptors did run out
  std::chrono::nanoseconds wall{};  // how long they stayed out
  std::chrono::nanoseconds cpu{};   // the process's CPU time meanwhile
  std::string response;             // the answer to the request once they came back
};

// Sends `request` (which should ask the server to close after answering) to 127.0.0.1:port
// while this process has no descriptor left, keeps it so for `window` (the span over which a
// server that retries the failing accept at once would spend a core), then frees the
// descriptors and reads the answer.
inline StarvedAccept accept_without_descriptors(std::uint16_t port, const std::string& request,
                                                std::chrono::milliseconds window) {
  StarvedAccept out;
  EarlySocket client;
  FdExhaustion exhaustion;
  out.exhausted = exhaustion.exhausted();
  const auto cpu_before = process_cpu_time();
  const auto wall_before = std::chrono::steady_clock::now();
  if (!client.connect(port) || !client.send(request)) return out;
  // A measurement window, not a synchronisation: nothing is awaited but time itself.
  std::this_thread::sleep_for(window);
  out.cpu = process_cpu_time() - cpu_before;
  out.wall = std::chrono::steady_clock::now() - wall_before;
  exhaustion.release();
  out.response = client.read_until_closed(std::chrono::seconds(10));
  return out;
}

}  // namespace flotilla::test
