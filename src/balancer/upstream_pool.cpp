#include "balancer/upstream_pool.h"

namespace flotilla::proxy {

void close_quietly(tcp::socket& socket) {
  boost::system::error_code ignored;
  socket.close(ignored);
}

void UpstreamPool::sweep(SteadyClock::time_point now) {
  std::erase_if(idle_, [&](std::unique_ptr<UpstreamConn>& conn) {
    if (now - conn->idle_since < kUpstreamIdleTimeout && idle_connection_usable(conn->socket)) {
      return false;
    }
    close_quietly(conn->socket);
    return true;
  });
}

void UpstreamPool::close_all() {
  for (auto& conn : idle_) close_quietly(conn->socket);
  idle_.clear();
}

}  // namespace flotilla::proxy
