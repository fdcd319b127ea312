#pragma once
// AdminServer: HTTP/1.1 on serve's admin address, carrying each request to AdminApi
// (admin_api.h) on the control-plane io_context, so that the handler runs on the control-plane
// thread beside the rest of the control plane and reads it without locks. Keep-alive; a body
// past AdminApi::kMaxBody is answered 413 (and the connection closed) without being read; a
// header over AdminLimits::max_header_bytes is 431; a connection idle for
// AdminLimits::idle_timeout is closed. Out of file descriptors it pauses accepting
// (core/accept_backoff.h). Not the hot path: one connection, one timer.
//
// Threading: construct, start and destroy on the thread that runs `io`.
#include <cstdint>
#include <memory>
#include <string>

#include "core/time.h"
#include "serve/admin_api.h"

namespace boost::asio {
class io_context;
}

namespace flotilla {

// The README's table of limits gives the reason for each default.
struct AdminLimits {
  std::uint32_t max_header_bytes = 16 * 1024;  // a request header; more -> 431
  // No request under way on a connection (or a reply not taken) for this long: closed.
  Duration idle_timeout = std::chrono::seconds(60);
};

class AdminServer {
 public:
  // Binds host:port and listens (port 0: the OS picks). UserError naming the address if it
  // cannot (in use, not an address of this machine).
  AdminServer(boost::asio::io_context& io, AdminApi& api, const std::string& host,
              std::uint16_t port, AdminLimits limits = {});
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  std::uint16_t port() const;
  // Closes the listening socket and every connection.
  void stop();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace flotilla
