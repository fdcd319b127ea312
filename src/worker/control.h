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
//   another method         405 (Allow: GET, PUT)
//   another /flotilla/...  404
// Bodies are JSON (application/json). A control request is not work: it takes no slot, counts in
// no counter and no fault delays or fails it.
//
// Pure apart from the model it changes: time is an argument. Threading: the model's.
#include <string>
#include <string_view>

#include "core/time.h"
#include "worker/worker_model.h"

namespace flotilla {

inline constexpr std::string_view kControlPrefix = "/flotilla/";
inline constexpr std::string_view kFaultsPath = "/flotilla/faults";
// Larger control bodies are refused as malformed requests.
inline constexpr std::size_t kMaxControlBody = 64 * 1024;

// Whether a request target (its path, any query ignored) is for the control interface.
bool is_control_target(std::string_view target);

struct ControlAnswer {
  int status = 200;
  std::string body;   // JSON
  std::string allow;  // the Allow field of a 405, else empty
};

ControlAnswer control_request(std::string_view method, std::string_view target,
                              std::string_view body, WorkerModel& model, Time now);

}  // namespace flotilla
