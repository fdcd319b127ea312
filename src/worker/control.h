#pragma once
// The worker's control interface, apart from any socket: what a request under /flotilla/ is
// answered. Only flotilla uses it (to inject faults); it is served on the worker's own address
// (worker/server.h), so a provider that runs workers elsewhere reaches it where it reaches the
// worker.
//
//   GET /flotilla/faults   200, the faults set now (worker/faults.h: every kind, null when off)
//   PUT /flotilla/faults   body: a control message (worker/faults.h); the kinds given are set
//                          (an object) or cleared (null), the others stay. 200 with the faults
//                          set now. A bad body changes nothing: 400 with
//                          {"error": "expected ...", "field": "/slow/factor"} ("" for the body
//                          as a whole).
//   PUT /flotilla/signal   body {"signal": "KILL"} or {"signal": "STOP", "for": "5s"} (1ms-1h):
//                          200 with the body as taken; once that answer is written the worker
//                          SIGKILLs itself, or SIGSTOPs itself and a helper process it forked
//                          SIGCONTs it after "for" (a stopped process cannot take the request
//                          that would continue it). For workers whose process flotilla cannot
//                          signal (the swarm provider's on other nodes). The worker must not be
//                          pid 1 of its PID namespace: the kernel drops what pid 1 sends itself
//                          (the swarm provider runs it under an init). 400 for a bad body.
//   another method         405 (Allow: GET, PUT; PUT only for /flotilla/signal)
//   another /flotilla/...  404
// Bodies are JSON (application/json). A control request is not work: it takes no slot, counts in
// no counter and no fault delays or fails it.
//
// Pure apart from the model it changes: time is an argument. Threading: the model's.
#include <optional>
#include <string>
#include <string_view>

#include "core/time.h"
#include "worker/worker_model.h"

namespace flotilla {

inline constexpr std::string_view kControlPrefix = "/flotilla/";
inline constexpr std::string_view kFaultsPath = "/flotilla/faults";
inline constexpr std::string_view kSignalPath = "/flotilla/signal";
inline constexpr Duration kMinSelfStop = std::chrono::milliseconds(1);
inline constexpr Duration kMaxSelfStop = std::chrono::hours(1);
// Larger control bodies are refused as malformed requests.
inline constexpr std::size_t kMaxControlBody = 64 * 1024;

// Whether a request target (its path, any query ignored) is for the control interface.
bool is_control_target(std::string_view target);

// What PUT /flotilla/signal asks for: SIGKILL, or SIGSTOP for `stop_for`.
struct SelfSignal {
  int signal = 0;
  Duration stop_for{};
  bool operator==(const SelfSignal&) const = default;
};

struct ControlAnswer {
  int status = 200;
  std::string body;   // JSON
  std::string allow;  // the Allow field of a 405, else empty
  // To carry out (suffer_self_signal) once the answer is written.
  std::optional<SelfSignal> then;
};

ControlAnswer control_request(std::string_view method, std::string_view target,
                              std::string_view body, WorkerModel& model, Time now);

// The body of PUT /flotilla/signal for `s`.
std::string self_signal_json(const SelfSignal& s);

// Signals the calling process as `s` says (not pure: the one system call of this file). SIGSTOP
// forks a helper first (async-signal-safe calls only in it) that sends SIGCONT after
// s.stop_for; it is orphaned at once, so the init of the namespace reaps it.
void suffer_self_signal(const SelfSignal& s);

}  // namespace flotilla
