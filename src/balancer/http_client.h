#pragma once
// A small asynchronous HTTP/1.1 client for the control plane (health checks, worker /metrics,
// the workers' control interface). One connection per call: control-plane rates are a few
// requests a second.
//
// Threading: runs on the given io_context; `done` is called exactly once, on that io_context's
// thread, also when the call fails or times out. Never called inline from the call.
#include <functional>
#include <string>

#include "core/endpoint.h"
#include "core/time.h"
#include "worker/faults.h"

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

struct HttpRequest {
  std::string method = "GET";  // GET, PUT, POST, ...
  std::string target = "/";
  std::string body;          // sent with its Content-Length (also when empty, for PUT and POST)
  std::string content_type;  // sent when not empty
};

// `request` to http://endpoint with "Connection: close". The whole exchange (connect, write,
// read) must finish within `timeout`, else the result is !ok with error "timeout". Response
// bodies above 1 MiB are an error.
void http_request(boost::asio::io_context& io, const Endpoint& endpoint, HttpRequest request,
                  Duration timeout, std::function<void(HttpGetResult)> done);
// http_request() of GET `target`.
void http_get(boost::asio::io_context& io, const Endpoint& endpoint, std::string target,
              Duration timeout, std::function<void(HttpGetResult)> done);
// PUT /flotilla/faults with `change` (worker/control.h): applied when the result is ok with
// status 200, whose body is then the faults the worker has set; a 400's body names the field.
void send_worker_faults(boost::asio::io_context& io, const Endpoint& endpoint,
                        const WorkerFaults& change, Duration timeout,
                        std::function<void(HttpGetResult)> done);

}  // namespace flotilla
