#include "balancer/upstream_pool.h"

#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/write.hpp>
#include <functional>
#include <memory>
#include <string_view>

using namespace flotilla;
using namespace flotilla::proxy;

namespace {

using boost::system::error_code;

struct CountingReader final : UpstreamReader {
  void on_upstream_read(const error_code& ec, std::size_t n) override {
    ++calls;
    last_ec = ec;
    last_n = n;
  }
  int calls = 0;
  error_code last_ec;
  std::size_t last_n = 0;
};

// A pooled-to-be connection and the target's end of it, on loopback.
struct Link {
  Link() : acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)), peer(io) {
    conn = std::make_shared<UpstreamConn>(io, handler_pool);
    conn->socket.connect(acceptor.local_endpoint());
    acceptor.accept(peer);
  }
  void peer_write(std::string_view bytes) { asio::write(peer, asio::buffer(bytes)); }
  // Pools the connection, takes it back and attaches a reader to it.
  std::shared_ptr<CountingReader> pooled_and_taken(UpstreamPool& pool) {
    pool.put(conn, SteadyClock::now());
    const auto taken = pool.take();
    REQUIRE(taken == conn);
    auto reader = std::make_shared<CountingReader>();
    conn->attach(reader);
    return reader;
  }
  // Runs handlers until `condition` holds, for at most `limit`.
  bool run_until(const std::function<bool()>& condition, Duration limit = 2s) {
    const auto deadline = SteadyClock::now() + limit;
    while (!condition()) {
      if (SteadyClock::now() >= deadline) return false;
      io.restart();
      io.run_one_for(10ms);
    }
    return true;
  }

  HandlerPool handler_pool;  // outlives `io`
  asio::io_context io;
  tcp::acceptor acceptor;
  tcp::socket peer;
  std::shared_ptr<UpstreamConn> conn;
};

}  // namespace

TEST_CASE("an idle pooled connection the target closes is dropped, never taken") {
  Link link;
  UpstreamPool pool;
  pool.put(link.conn, SteadyClock::now());
  link.peer.close();
  REQUIRE(link.run_until([&] { return link.conn->dead(); }));
  CHECK_FALSE(link.conn->socket.is_open());
  CHECK(pool.take() == nullptr);
}

TEST_CASE("an idle pooled connection the target writes to unasked is dropped") {
  Link link;
  UpstreamPool pool;
  pool.put(link.conn, SteadyClock::now());
  link.peer_write("HTTP/1.1 408 Request Timeout\r\n\r\n");
  REQUIRE(link.run_until([&] { return link.conn->dead(); }));
  CHECK(pool.take() == nullptr);
}

TEST_CASE("a taken connection's response arrives through the read armed while it idled") {
  Link link;
  UpstreamPool pool;
  pool.put(link.conn, SteadyClock::now());
  link.io.poll();  // the armed read finds nothing: the connection stays usable
  CHECK_FALSE(link.conn->dead());
  const auto conn = pool.take();
  REQUIRE(conn == link.conn);
  const auto reader = std::make_shared<CountingReader>();
  conn->attach(reader);
  conn->read();
  link.peer_write("HTTP/1.1 200 OK\r\n");
  REQUIRE(link.run_until([&] { return reader->calls > 0; }));
  CHECK(reader->calls == 1);
  CHECK_FALSE(reader->last_ec);
  CHECK(reader->last_n == 17);
}

TEST_CASE("a read that completes before its reader asks is handed over after read(), not in it") {
  Link link;
  UpstreamPool pool;
  const auto reader = link.pooled_and_taken(pool);
  const auto& conn = link.conn;
  link.peer_write("HTTP/1.1 200 OK\r\n");
  // The armed read takes the bytes off the socket while the reader has not asked yet.
  REQUIRE(link.run_until([&] { return conn->socket.available() == 0; }));
  CHECK(reader->calls == 0);
  conn->read();
  CHECK(reader->calls == 0);
  REQUIRE(link.run_until([&] { return reader->calls > 0; }));
  CHECK(reader->calls == 1);
  CHECK(reader->last_n == 17);
  CHECK_FALSE(conn->dead());
}

TEST_CASE("a reader that detached gets nothing, and the connection is not reused") {
  Link link;
  UpstreamPool pool;
  const auto reader = link.pooled_and_taken(pool);
  const auto& conn = link.conn;
  conn->read();
  conn->detach();
  link.peer_write("late");
  REQUIRE(link.run_until([&] { return conn->dead(); }));
  CHECK(reader->calls == 0);
}

TEST_CASE("the sweep closes pooled connections idle too long, and keeps the others") {
  Link old_link;
  Link fresh_link;
  UpstreamPool pool;
  const auto now = SteadyClock::now();
  pool.put(old_link.conn, now - kUpstreamIdleTimeout);
  pool.put(fresh_link.conn, now);
  pool.sweep(now);
  CHECK_FALSE(old_link.conn->socket.is_open());
  CHECK(pool.take() == fresh_link.conn);
  CHECK(pool.take() == nullptr);
}
