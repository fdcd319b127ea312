#pragma once
// DockerEngine: HTTP/1.1 requests to a Docker Engine API on its unix socket, for the swarm
// provider (swarm_provider.h). Private to src/fleet: include it from .cpp files only. Beast and
// Asio stay in docker_engine.cpp.
//
// Every request opens its own connection and asks for Connection: close: requests to the engine
// are a few a second, and one connection each keeps a stalled request from holding up others.
// Targets are paths with the API version ("/v1.41/info"); bodies are JSON.
//
// Threading: request() and follow() are called on the io_context's thread and call back on it,
// never from inside the call. request_now() blocks the calling thread (only for start-up checks
// and the destructor's clean-up, before or after the run) and must not be called from inside a
// handler of the same io_context.
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/time.h"

namespace boost::asio {
class io_context;
}

namespace flotilla {

inline constexpr std::string_view kDockerApi = "/v1.41";
inline constexpr std::string_view kDefaultDockerSocket = "/var/run/docker.sock";

// The engine's socket: DOCKER_HOST when it is set ("unix:///run/docker.sock"), else
// kDefaultDockerSocket. UserError for a DOCKER_HOST that is not a unix:// address.
std::string docker_socket_path(const char* docker_host);

// `text` percent-encoded for a query string (RFC 3986's unreserved characters kept).
std::string url_encode(std::string_view text);

struct EngineResponse {
  bool ok = false;    // an HTTP answer arrived
  std::string error;  // why not, when !ok ("connect /var/run/docker.sock: No such file ...")
  int status = 0;
  std::string body;
  // The engine's {"message": "..."} for an error status, else the body as it is.
  std::string message() const;
};

class DockerEngine {
 public:
  // A follow() in progress; destroying it (or cancel()) ends the stream without on_end.
  class Stream {
   public:
    virtual ~Stream() = default;
    virtual void cancel() = 0;
  };

  DockerEngine(boost::asio::io_context& io, std::string socket_path,
               Duration timeout = std::chrono::seconds(10));
  ~DockerEngine();
  DockerEngine(const DockerEngine&) = delete;
  DockerEngine& operator=(const DockerEngine&) = delete;

  const std::string& socket_path() const { return socket_path_; }

  // `method` to `target`; `done` once the whole answer is in or the request failed or timed out.
  // `done` is not called once the engine object is gone.
  void request(std::string method, std::string target, std::string body,
               std::function<void(EngineResponse)> done);
  // A GET whose answer streams (logs with follow=1): `on_data` for each piece of the body as it
  // arrives, then `on_end` once (an empty string for the end of the stream, else why it failed;
  // a status other than 200 is a failure that names the engine's message). No timeout.
  std::unique_ptr<Stream> follow(std::string target, std::function<void(std::string_view)> on_data,
                                 std::function<void(const std::string&)> on_end);
  // As request(), on a private io_context, blocking the caller until the answer or the timeout.
  EngineResponse request_now(const std::string& method, const std::string& target,
                             const std::string& body = "") const;

 private:
  boost::asio::io_context& io_;
  std::string socket_path_;
  Duration timeout_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// Splits the Docker log stream format of a container without a TTY: frames of an 8-byte header
// (stream type 1 stdout, 2 stderr; three zero bytes; the payload's length, big-endian 32 bits)
// and the payload. Feed it bytes as they arrive; it hands out each payload with its stream type.
class LogDemultiplexer {
 public:
  void feed(std::string_view bytes,
            const std::function<void(int stream, std::string_view payload)>& out);

 private:
  std::string pending_;
};

}  // namespace flotilla
