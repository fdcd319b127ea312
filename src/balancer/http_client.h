#pragma once
// A small asynchronous HTTP/1.1 GET for the control plane (health checks, worker /metrics).
// One connection per call: control-plane rates are a few requests a second.
//
// Threading: runs on the given io_context; `done` is called exactly once, on that io_context's
// thread, also when the call fails or times out. Never called inline from http_get().
#include <functional>
#include <string>

#include "core/endpoint.h"
#include "core/time.h"

namespace boost::asio {
class io_context;
}

namespace flotilla {

struct HttpGetResult {
  bool ok = false;     // a complete response was received (whatever its status)
  int status = 0;      // when ok
  std::string body;    // when ok
  std::string error;   // when !ok: "timeout", "connection refused", "bad response", ...
  Duration elapsed{};  // from the call to the result (measured on the steady clock)
};

// GET http://endpoint/target with "Connection: close". The whole exchange (connect, write, read)
// must finish within `timeout`, else the result is !ok with error "timeout". Bodies above 1 MiB
// are an error.
void http_get(boost::asio::io_context& io, const Endpoint& endpoint, std::string target,
              Duration timeout, std::function<void(HttpGetResult)> done);

}  // namespace flotilla
