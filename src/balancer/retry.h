#pragma once
// Whether a request whose attempt on a target failed is tried again on another target, and if
// not, what the client gets. A pure function of plain values: no sockets, no clock, no state of
// its own, so the balancer's sessions and a simulated data plane (which has no sockets, and
// passes the same facts) decide alike.
//
// The rules, in the order they apply:
// 1. Once a response byte reached the client, never: the client can only be told by closing
//    its connection.
// 2. A request no longer held whole (a body too large to keep, partly streamed) cannot be
//    replayed: 502.
// 3. Only an idempotent method (RFC 9110 section 9.2.2) is tried again after its connection
//    died (reset or closed before any response byte): the target may have acted on it. After a
//    failed connect nothing reached the target, so any method is.
// 4. At most 1 + max_retries attempts.
// 5. The retry budget (Envoy's) bounds the load retries add: on one budget (an IO thread), the
//    requests holding a budget slot may be at most budget_percent of the requests in progress,
//    but always at least budget_min_concurrency. Only a retry after a dead connection takes a
//    slot (the request may have reached a target, so the retry is extra load); a retry after a
//    failed connect replaces a request nobody received and is free. A request keeps its slot
//    until it ends, so its later retries pass.
// Giving up: 502 when the last attempt's target accepted the request and vanished (dead
// connection), 503 when it could not be reached (connect failed) or there was no target at all.
//
// A retry the decision allows still needs a target not yet tried; without one the request
// gives up with give_up_status() of the same failure.
#include <string_view>

namespace flotilla {

// How an attempt failed (kNone: no attempt yet, e.g. the group had no target to pick).
enum class AttemptFailure { kNone, kConnect, kDeadConnection };

struct RetryPolicy {
  int max_retries = 2;  // extra attempts after the first
  double budget_percent = 50.0;
  int budget_min_concurrency = 3;
};

// The facts about one request whose attempt just failed.
struct RetryFacts {
  AttemptFailure failure = AttemptFailure::kConnect;  // the attempt that just failed
  int attempts = 1;                                   // made so far, the failed one included
  bool response_started = false;   // a response byte (an interim response) reached the client
  bool replayable = true;          // every byte of the request is still held
  bool idempotent = true;          // its method is (idempotent_method())
  bool holds_budget_slot = false;  // an earlier retry of this request took a slot
  int active_requests = 0;         // requests in progress on this budget, this one included
  int active_retries = 0;          // of which hold a budget slot
};

enum class RetryVerdict {
  kRetry,
  kResponseStarted,    // close the client connection; nothing can be sent
  kNotReplayable,      // status 502
  kNotIdempotent,      // status give_up_status(failure)
  kAttemptsExhausted,  // status give_up_status(failure)
  kBudgetExhausted,    // status give_up_status(failure); counted as retry_budget_exhausted
};

struct RetryDecision {
  RetryVerdict verdict = RetryVerdict::kRetry;
  int status = 0;                  // the client's answer when giving up; 0 otherwise
  bool takes_budget_slot = false;  // kRetry: the request holds a budget slot from now on
  bool operator==(const RetryDecision&) const = default;
};

RetryDecision decide_retry(const RetryPolicy& policy, const RetryFacts& facts);

// 502 after a dead connection, else (connect failed, no target) 503.
int give_up_status(AttemptFailure last_failure);

// GET, HEAD, OPTIONS, PUT, DELETE, TRACE (case-sensitive, as methods are).
bool idempotent_method(std::string_view method);

}  // namespace flotilla
