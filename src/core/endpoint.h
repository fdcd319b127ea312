#pragma once
// Endpoint: where something listens, as an IP literal (or a name the user gave) and a port. The
// balancer, its health checks, the load generator and the fleet all speak of targets this way.
#include <cstdint>
#include <string>

namespace flotilla {

struct Endpoint {
  std::string host;  // e.g. 127.0.0.1
  std::uint16_t port = 0;
  std::string to_string() const { return host + ":" + std::to_string(port); }
  bool operator==(const Endpoint&) const = default;
};

}  // namespace flotilla
