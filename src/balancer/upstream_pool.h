#pragma once
// Internal to the balancer's .cpp files (it includes Asio): connections to targets, and the
// keep-alive pool an IO thread keeps per target. A pooled connection is reused for the next
// request to that target (one connect per target instead of one per request); the pool closes
// connections idle for kUpstreamIdleTimeout, and connections the target closed or wrote to
// unasked while idle, which are dead.
//
// A pooled connection keeps a read pending: its completion while the connection idles tells
// that the target closed it (or wrote unasked), with no system call of its own, and the same read
// then serves the next exchange's response once the connection is taken.
#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "balancer/byte_buffer.h"
#include "balancer/handler_pool.h"
#include "core/time.h"

namespace flotilla::proxy {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;

inline constexpr std::size_t kUpstreamBufferSize = 16 * 1024;
inline constexpr std::size_t kMaxIdlePerTarget = 256;  // per IO thread
inline constexpr Duration kUpstreamIdleTimeout = 30s;

// Who a taken connection's reads complete to. Called on the connection's IO thread, never from
// within UpstreamConn::read() itself.
class UpstreamReader {
 public:
  virtual void on_upstream_read(const boost::system::error_code& ec, std::size_t n) = 0;

 protected:
  ~UpstreamReader() = default;
};

// One connection to a target. Not thread-safe: its IO thread's only. It is either idle (in a
// pool, or not yet used) or attached to one reader, which it keeps alive until detach().
class UpstreamConn : public std::enable_shared_from_this<UpstreamConn> {
 public:
  // `pool` (its IO thread's) holds the memory of the reads it starts.
  UpstreamConn(asio::io_context& io, HandlerPool& pool)
      : socket(io), in(kUpstreamBufferSize), pool_(&pool) {}

  void attach(std::shared_ptr<UpstreamReader> reader) {
    reader_ = std::move(reader);
    ++attach_serial_;
  }
  // Drops the reader and anything read for it that it did not ask for.
  void detach() {
    reader_.reset();
    ++attach_serial_;
    wanted_ = false;
    has_result_ = false;
  }
  // Reads into in.prepare() for the attached reader: the read armed while idle if it is still
  // pending, else a new one. One read asked at a time; the reader commits what it got.
  void read();
  // Idle: keeps a read pending, so that the target closing the connection is noticed.
  void watch();
  // The target closed the connection or wrote to it unasked while it was idle.
  bool dead() const { return dead_; }

  tcp::socket socket;
  ByteBuffer in;
  SteadyClock::time_point idle_since{};

 private:
  void start_read();
  void on_read(const boost::system::error_code& ec, std::size_t n);
  void deliver_result();

  HandlerPool* pool_;
  std::shared_ptr<UpstreamReader> reader_;
  bool read_pending_ = false;  // an async read is in flight
  bool wanted_ = false;        // the reader asked for the read in flight
  bool has_result_ = false;    // a read completed after attach() and before the reader asked
  boost::system::error_code result_ec_;
  std::size_t result_n_ = 0;
  std::uint32_t attach_serial_ = 0;  // a result handed over from the loop is for this attachment
  bool dead_ = false;
};

void close_quietly(tcp::socket& socket);

// One target's idle connections on one IO thread. Not thread-safe: its IO thread's only.
class UpstreamPool {
 public:
  // The most recently pooled connection that is still usable, or null; the dead ones met on
  // the way are dropped. Taking one found closed is not a failed attempt: the caller just
  // connects.
  std::shared_ptr<UpstreamConn> take() {
    while (!idle_.empty()) {
      auto conn = std::move(idle_.back());
      idle_.pop_back();
      if (!conn->dead()) return conn;
    }
    return nullptr;
  }
  bool full() const { return idle_.size() >= kMaxIdlePerTarget; }
  // Keeps `conn` (detached, with no unread bytes and no read pending, its exchange complete)
  // for reuse, watching it. Not when full().
  void put(std::shared_ptr<UpstreamConn> conn, SteadyClock::time_point now) {
    conn->idle_since = now;
    conn->watch();
    idle_.push_back(std::move(conn));
  }
  // Closes the connections idle for kUpstreamIdleTimeout or dead.
  void sweep(SteadyClock::time_point now);
  void close_all();

 private:
  std::vector<std::shared_ptr<UpstreamConn>> idle_;
};

}  // namespace flotilla::proxy
