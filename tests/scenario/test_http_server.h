#pragma once
// A tiny HTTP/1.1 server for the load generator's tests, on 127.0.0.1 with an OS-chosen port and
// a thread of its own. It reads every request whole, keeps a log of them, and answers each with
// `status` and "ok\n" (HEAD: the headers alone), after an optional delay.
// Setters may be called from any thread at any time.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/time.h"

namespace flotilla::test {

class TestHttpServer {
 public:
  TestHttpServer();
  ~TestHttpServer();

  std::uint16_t port() const;

  void set_status(int status);
  // Every response waits `delay` after its request arrived.
  void set_delay(Duration delay);
  // The first `n` requests (in arrival order) wait `delay` instead.
  void set_delay_first(std::uint64_t n, Duration delay);
  // Closes each connection right after its response, without "Connection: close": the client
  // finds out when it reuses the connection.
  void set_close_after_response(bool close);
  // Closes the listening socket and every connection; returns when done. New connections are
  // then refused.
  void stop_accepting();

  std::uint64_t requests() const;     // requests received
  std::uint64_t connections() const;  // connections accepted

  struct SeenRequest {
    std::string method;
    std::string target;
    std::size_t body_bytes = 0;
    bool connection_close = false;  // the request asked for Connection: close
  };
  // Every request received, in arrival order.
  std::vector<SeenRequest> seen() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace flotilla::test
