#include "balancer/retry.h"

#include <algorithm>

namespace flotilla {

namespace {

RetryDecision give_up(RetryVerdict verdict, int status) {
  return RetryDecision{.verdict = verdict, .status = status};
}

}  // namespace

RetryDecision decide_retry(const RetryPolicy& policy, const RetryFacts& facts) {
  if (facts.response_started) return give_up(RetryVerdict::kResponseStarted, 0);
  if (!facts.replayable) return give_up(RetryVerdict::kNotReplayable, 502);
  const int status = give_up_status(facts.failure);
  if (facts.failure != AttemptFailure::kConnect && !facts.idempotent) {
    return give_up(RetryVerdict::kNotIdempotent, status);
  }
  if (facts.attempts >= 1 + std::max(0, policy.max_retries)) {
    return give_up(RetryVerdict::kAttemptsExhausted, status);
  }
  if (facts.failure != AttemptFailure::kDeadConnection || facts.holds_budget_slot) {
    return RetryDecision{};
  }
  const double share = policy.budget_percent / 100.0 * facts.active_requests;
  const double allowed = std::max(static_cast<double>(policy.budget_min_concurrency), share);
  if (!(facts.active_retries < allowed)) return give_up(RetryVerdict::kBudgetExhausted, status);
  return RetryDecision{.takes_budget_slot = true};
}

int give_up_status(AttemptFailure last_failure) {
  return last_failure == AttemptFailure::kDeadConnection ? 502 : 503;
}

bool idempotent_method(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "OPTIONS" || method == "PUT" ||
         method == "DELETE" || method == "TRACE";
}

}  // namespace flotilla
