#pragma once
// Internal to the balancer's .cpp files (it includes Asio): the listening socket. It accepts on
// the first IO thread's io_context and hands each accepted connection to the IO threads in turn
// (round robin), where a session serves it. Out of descriptors or memory it pauses
// (accept_backoff.h), counting each pause in the first IO thread's accept_pauses.
//
// Threading: constructed and started on the control thread before the IO threads run; close()
// on the first IO thread.
#include <boost/asio/ip/tcp.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "balancer/io_thread.h"
#include "core/accept_backoff.h"

namespace flotilla::proxy {

class Listener {
 public:
  // Binds host:port and listens. Not an IP address, the port in use or another failure ->
  // UserError naming host:port.
  Listener(const std::vector<std::unique_ptr<IoThread>>& threads, const std::string& host,
           std::uint16_t port);
  std::uint16_t port() const;  // the bound one
  // Accepts until close().
  void start();
  void close();

 private:
  void do_accept();

  const std::vector<std::unique_ptr<IoThread>>& threads_;
  tcp::acceptor acceptor_;
  AcceptBackoff backoff_;
  std::size_t next_thread_ = 0;
};

}  // namespace flotilla::proxy
