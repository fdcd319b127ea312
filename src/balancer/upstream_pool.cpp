#include "balancer/upstream_pool.h"

#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <cassert>

namespace flotilla::proxy {

void close_quietly(tcp::socket& socket) {
  boost::system::error_code ignored;
  socket.close(ignored);
}

void UpstreamConn::read() {
  assert(reader_ && !wanted_);
  if (has_result_) {
    // Completed before the reader asked (while its request was still being sent): handed over
    // from the loop, not from within this call.
    has_result_ = false;
    wanted_ = true;
    asio::post(socket.get_executor(),
               pooled(*pool_, [self = shared_from_this(), serial = attach_serial_] {
                 if (self->attach_serial_ == serial && self->wanted_) self->deliver_result();
               }));
    return;
  }
  wanted_ = true;
  if (!read_pending_) start_read();
}

void UpstreamConn::watch() {
  assert(!reader_ && !read_pending_ && in.size() == 0);
  in.clear();  // the whole buffer for the next response
  if (!dead_) start_read();
}

void UpstreamConn::start_read() {
  read_pending_ = true;
  socket.async_read_some(
      in.prepare(),
      pooled(*pool_, [self = shared_from_this()](const boost::system::error_code& ec,
                                                 std::size_t n) { self->on_read(ec, n); }));
}

void UpstreamConn::on_read(const boost::system::error_code& ec, std::size_t n) {
  read_pending_ = false;
  if (reader_) {
    result_ec_ = ec;
    result_n_ = n;
    if (wanted_) return deliver_result();
    has_result_ = true;
    return;
  }
  // Idle. Aborted: the pool closed it. Anything else, bytes or an end, makes it unusable.
  if (ec == asio::error::operation_aborted) return;
  dead_ = true;
  close_quietly(socket);
}

void UpstreamConn::deliver_result() {
  wanted_ = false;
  // The reader may detach itself from within the call: this reference keeps it alive until it
  // returns.
  const std::shared_ptr<UpstreamReader> reader = reader_;
  reader->on_upstream_read(result_ec_, result_n_);
}

void UpstreamPool::sweep(SteadyClock::time_point now) {
  std::erase_if(idle_, [&](std::shared_ptr<UpstreamConn>& conn) {
    if (!conn->dead() && now - conn->idle_since < kUpstreamIdleTimeout) return false;
    close_quietly(conn->socket);
    return true;
  });
}

void UpstreamPool::close_all() {
  for (auto& conn : idle_) close_quietly(conn->socket);
  idle_.clear();
}

}  // namespace flotilla::proxy
