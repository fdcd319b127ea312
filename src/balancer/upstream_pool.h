#pragma once
// Internal to the balancer's .cpp files (it includes Asio): connections to targets, and the
// keep-alive pool an IO thread keeps per target. A pooled connection is reused for the next
// request to that target (one connect per target instead of one per request); the pool closes
// connections idle for kUpstreamIdleTimeout, and connections the target closed or wrote to
// unasked while idle, which are dead.
#include <sys/socket.h>

#include <boost/asio/ip/tcp.hpp>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <memory>
#include <vector>

#include "balancer/byte_buffer.h"
#include "core/time.h"

namespace flotilla::proxy {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;

inline constexpr std::size_t kUpstreamBufferSize = 16 * 1024;
inline constexpr std::size_t kMaxIdlePerTarget = 256;  // per IO thread
inline constexpr Duration kUpstreamIdleTimeout = 30s;

struct UpstreamConn {
  explicit UpstreamConn(asio::io_context& io) : socket(io), in(kUpstreamBufferSize) {}
  tcp::socket socket;
  ByteBuffer in;
  SteadyClock::time_point idle_since{};
};

// A pooled connection the target closed (or wrote to unasked) while idle is dead: the peek reads
// the EOF without consuming anything and without blocking.
inline bool idle_connection_usable(tcp::socket& socket) {
  char byte;
  const ssize_t n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n >= 0) return false;
  return errno == EAGAIN || errno == EWOULDBLOCK;
}

void close_quietly(tcp::socket& socket);

// One target's idle connections on one IO thread. Not thread-safe: its IO thread's only.
class UpstreamPool {
 public:
  // The most recently pooled connection that is still usable, or null; the dead ones met on
  // the way are closed. Taking one found closed is not a failed attempt: the caller just
  // connects.
  std::unique_ptr<UpstreamConn> take() {
    while (!idle_.empty()) {
      auto conn = std::move(idle_.back());
      idle_.pop_back();
      if (idle_connection_usable(conn->socket)) return conn;
      close_quietly(conn->socket);
    }
    return nullptr;
  }
  bool full() const { return idle_.size() >= kMaxIdlePerTarget; }
  // Keeps `conn` (with no unread bytes, its exchange complete) for reuse. Not when full().
  void put(std::unique_ptr<UpstreamConn> conn, SteadyClock::time_point now) {
    conn->idle_since = now;
    idle_.push_back(std::move(conn));
  }
  // Closes the connections idle for kUpstreamIdleTimeout or dead.
  void sweep(SteadyClock::time_point now);
  void close_all();

 private:
  std::vector<std::unique_ptr<UpstreamConn>> idle_;
};

}  // namespace flotilla::proxy
