#pragma once
#include "support/wait.h"
// A small blocking HTTP/1.1 client for tests: one keep-alive connection to 127.0.0.1:port.
// Every operation has a deadline, so a server that misbehaves fails the test instead of hanging it.
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/time.h"

namespace flotilla::test {

struct HttpResponse {
  int status = 0;
  std::string body;
  std::string worker;  // X-Flotilla-Worker
  bool keep_alive = false;
  std::vector<std::pair<std::string, std::string>> headers;  // as they came, in order

  // The first value of header `name` (any case), "" without one.
  std::string header(std::string_view name) const;
};

class HttpClient {
 public:
  // Connects at once; throws std::runtime_error when it cannot.
  explicit HttpClient(std::uint16_t port, Duration timeout = std::chrono::seconds(10));
  ~HttpClient();

  // One request on this connection; throws when the connection fails or times out.
  HttpResponse request(std::string_view method, std::string_view target, std::string_view body = "",
                       bool chunked = false);
  // Writes `bytes` as they are and reads one response.
  HttpResponse raw(std::string_view bytes);
  // The two halves of raw(), for exchanges such as Expect: 100-continue.
  void send(std::string_view bytes);
  HttpResponse receive();
  // True when the peer closes the connection within `timeout` (nothing else arrives).
  bool closed_by_peer(Duration timeout);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One request on a fresh connection.
HttpResponse http_get(std::uint16_t port, std::string_view target);
// GET /metrics, parsed.
nlohmann::json get_metrics(std::uint16_t port);
// Calls `check` every few milliseconds until it returns true or `timeout` passes.

}  // namespace flotilla::test
