#pragma once
// LoadGenerator: the live Traffic (traffic.h), an open-loop HTTP/1.1 load generator (k6's
// arrival-rate executors, wrk2).
//
// Requests leave on schedule whatever the responses do: each scheduled request takes an idle
// keep-alive connection or opens a new one, up to max_connections; when none can be had it is
// an "overload" error at once, never a wait. Latency runs from the SCHEDULED send time to the
// last byte of the response, so a stalled server or a late client shows up as latency instead of
// as requests that were never sent (no coordinated omission).
//
// Connections::kNew: no connection is reused; each request opens its own, sends
// "Connection: close" and closes it once the response is in (so max_connections bounds the
// requests in flight).
//
// Each request is the entry of the mix that RequestMix::pick gives its place in the schedule:
// its method, path and a body of body_bytes (Content-Length). A response to HEAD is read without
// a body.
//
// A request that fails on a reused keep-alive connection before any byte of a response arrives
// (the server had closed the idle connection) is retried once on a new connection and counts
// only once, if its method is idempotent (RFC 9110: not POST nor PATCH); otherwise it is a
// reset. A connection closed before the whole response is a reset.
//
// Per-second figures live in one SecondSeries for all threads; a second is summarised (its
// histogram dropped) once it has nothing in flight and one more second has passed. After the
// run, sent == ok + errors (unless stop() cut it short).
//
// Threading: start(), wait(), stop() from one controlling thread; snapshot() from any thread at
// any time. The IO runs on `threads` threads of its own, each with its own io_context, its own
// connections and every `threads`-th request of the schedule.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>

#include "core/time.h"
#include "scenario/traffic.h"

namespace flotilla {

class LoadGenerator final : public Traffic {
 public:
  explicit LoadGenerator(LoadConfig config);
  // Stops (as stop()) if still running.
  ~LoadGenerator() override;
  LoadGenerator(const LoadGenerator&) = delete;
  LoadGenerator& operator=(const LoadGenerator&) = delete;

  // Starts the clock (second 0 is now) and the IO threads. Throws UserError if the target's host
  // cannot be resolved. Once only.
  void start() override;
  // Blocks until the schedule has been sent and every request has completed or timed out: at
  // most about duration + request_timeout after start().
  void wait();
  // Like wait(), for at most `timeout`; true if finished.
  bool wait_for(Duration timeout);
  // Stops sending at once, abandons in-flight requests (counted neither ok nor error) and joins
  // the threads. Idempotent.
  void stop() override;

  LoadSnapshot snapshot(std::optional<std::size_t> recent_seconds = std::nullopt) const override;
  const LoadConfig& config() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace flotilla
