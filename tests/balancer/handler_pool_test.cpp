#include "balancer/handler_pool.h"

#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

using namespace flotilla::proxy;

TEST_CASE("a block given back is handed out again, one too large for a block is not kept") {
  HandlerPool pool;
  void* first = pool.allocate(64);
  pool.deallocate(first, 64);
  CHECK(pool.free_blocks() == 1);
  CHECK(pool.allocate(HandlerPool::kBlockSize) == first);
  CHECK(pool.free_blocks() == 0);
  void* large = pool.allocate(HandlerPool::kBlockSize + 1);
  pool.deallocate(large, HandlerPool::kBlockSize + 1);
  CHECK(pool.free_blocks() == 0);
  pool.deallocate(first, HandlerPool::kBlockSize);
}

TEST_CASE("Asio takes an operation's memory from the pool of a pooled handler") {
  HandlerPool pool;  // outlives `io`
  boost::asio::io_context io;
  int runs = 0;
  boost::asio::post(io, pooled(pool, [&] { ++runs; }));
  boost::asio::steady_timer timer(io);
  timer.expires_after(std::chrono::milliseconds(0));
  timer.async_wait(pooled(pool, [&](const boost::system::error_code&) { ++runs; }));
  CHECK(pool.free_blocks() == 0);
  io.run();
  CHECK(runs == 2);
  // Both operations' blocks came back; the second reused the first's if it finished first.
  CHECK(pool.free_blocks() >= 1);
  CHECK(pool.free_blocks() <= 2);
}
