#pragma once
#include "support/connect.h"
#include "support/wait.h"
// In-process HTTP servers and clients for the balancer's tests. 127.0.0.1 only, OS-chosen ports.
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/endpoint.h"
#include "core/time.h"

namespace flotilla::testing {

using flotilla::test::connect_refused;

// A backend on its own thread. Normal mode answers:
//   /health   -> health_status() with body "ok"
//   /echo     -> 200 with the request body
//   /chunked  -> 200, chunked, body "alpha-beta-gamma" repeated
//   /status/N -> status N with body = name
//   /big-header/N -> 200 with an X-Pad field of N bytes in its header
//   /held     -> 200 with body = name, once release_held() is called
//   otherwise -> 200 with body = name
// and every response carries X-Backend: name and what it saw: X-Seen-XFF, X-Seen-Proto,
// X-Seen-XFH (X-Forwarded-Host), X-Seen-Port (X-Forwarded-Port), X-Seen-Hop ("yes" if an X-Hop
// field arrived), X-Seen-Keep-Alive ("yes" if Keep-Alive arrived).
class TestBackend {
 public:
  enum class Mode {
    kNormal,
    kSwallow,  // reads a request, then closes the connection without answering
    kHang,     // reads a request, never answers
    kGarbage,  // answers "this is not http\r\n\r\n"
    // Answers a 200 head (Content-Length: 100) and the first half of its body,
    // kHalfResponseBody, then holds the connection (counted in held()); release_held() resets
    // it (RST): a target that dies in the middle of a response.
    kHalfThenReset,
  };
  static constexpr std::string_view kHalfResponseBody =
      "first-half-of-a-body-that-never-gets-its-second-ha";

  explicit TestBackend(std::string name, Mode mode = Mode::kNormal);
  ~TestBackend();
  TestBackend(const TestBackend&) = delete;
  TestBackend& operator=(const TestBackend&) = delete;

  const std::string& name() const { return name_; }
  std::uint16_t port() const { return port_; }
  Endpoint endpoint() const { return {"127.0.0.1", port_}; }
  void set_health_status(int status) { health_status_ = status; }
  std::uint64_t requests() const { return requests_; }
  std::uint64_t connections() const { return connections_; }
  // Requests for /held that arrived and are not answered yet.
  std::uint64_t held() const { return held_; }
  // Answers every /held request that arrived so far (asynchronously, on the backend's thread);
  // kHalfThenReset: resets every held connection instead.
  void release_held();

  // Closes the listener and every connection at once (as if the process died) and joins the
  // thread. Idempotent.
  void stop();
  // Closes every open connection but keeps listening (a server dropping idle keep-alives).
  // Returns once they are closed.
  void close_connections();

  static std::string chunked_body();

 private:
  struct Impl;
  std::string name_;
  Mode mode_;
  std::uint16_t port_ = 0;
  std::atomic<int> health_status_{200};
  std::atomic<std::uint64_t> requests_{0};
  std::atomic<std::uint64_t> connections_{0};
  std::atomic<std::uint64_t> held_{0};
  std::unique_ptr<Impl> impl_;
};

struct TestResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

// One client connection, driven on the calling thread with a deadline per call.
class TestClient {
 public:
  explicit TestClient(std::uint16_t port);
  ~TestClient();

  // Sends `raw` as is and reads one response. nullopt on error/timeout (see error()).
  std::optional<TestResponse> raw(const std::string& raw, Duration limit = 5s);
  // The two halves of raw(): write bytes (blocking; false on error), read one response.
  bool send(const std::string& bytes);
  std::optional<TestResponse> read(Duration limit = 5s);
  std::optional<TestResponse> get(
      const std::string& target,
      const std::vector<std::pair<std::string, std::string>>& fields = {});
  // True if the peer closes the connection (reads EOF) within `limit`.
  bool closed_by_peer(Duration limit = 5s);
  // The bytes that arrive next, as they are (at least one); "" once the peer closed or reset
  // the connection; nullopt on timeout.
  std::optional<std::string> read_some(Duration limit = 5s);
  const std::string& error() const { return error_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string error_;
};

struct LoadResult {
  int ok = 0;  // 200 responses
  std::vector<std::string> failures;
  std::map<std::string, int> by_backend;  // X-Backend of 200 responses
};

// `connections` keep-alive connections issue GET / until `total` responses arrived; after each
// response on_response(completed so far) runs (on the calling thread). Bounded by `limit`.
LoadResult run_load(std::uint16_t port, int connections, int total,
                    std::function<void(int)> on_response = {}, Duration limit = 20s);

// Polls `condition` every few milliseconds until it holds or `limit` passes.
// Waits for `condition` with a deadline (support/wait.h).
inline bool eventually(const std::function<bool()>& condition, Duration limit = 5s) {
  return flotilla::test::wait_until(condition, limit);
}

// A request the balancer must refuse, the status it answers with (then it closes the connection).
struct RefusedRequest {
  const char* name;
  std::string raw;
  int status;
};
const std::vector<RefusedRequest>& refused_requests();

// A listener that never accepts, with its accept queue already full: connecting to it hangs
// (the kernel drops the SYNs), as with a target that is up but overwhelmed.
class BlackHole {
 public:
  BlackHole();
  ~BlackHole();
  std::uint16_t port() const { return port_; }
  Endpoint endpoint() const { return {"127.0.0.1", port_}; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::uint16_t port_ = 0;
};

// A port nothing listens on (bound by the OS, then closed).
std::uint16_t closed_port();

}  // namespace flotilla::testing
