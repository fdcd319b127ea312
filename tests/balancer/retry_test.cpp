#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "balancer/retry.h"

using namespace flotilla;

namespace {

using F = AttemptFailure;
using V = RetryVerdict;

// max_retries 2 (3 attempts), budget 50 % with a minimum of 3.
const RetryPolicy kPolicy{.max_retries = 2, .budget_percent = 50.0, .budget_min_concurrency = 3};

RetryFacts facts(F failure, int attempts = 1) {
  return RetryFacts{.failure = failure, .attempts = attempts, .active_requests = 1};
}
RetryFacts with_budget(RetryFacts f, int active_requests, int active_retries,
                       bool holds_slot = false) {
  f.active_requests = active_requests;
  f.active_retries = active_retries;
  f.holds_budget_slot = holds_slot;
  return f;
}
RetryFacts started(RetryFacts f) {
  f.response_started = true;
  return f;
}
RetryFacts streamed(RetryFacts f) {
  f.replayable = false;
  return f;
}
RetryFacts post(RetryFacts f) {
  f.idempotent = false;
  return f;
}
RetryPolicy policy(int max_retries, double percent = 50.0, int min_concurrency = 3) {
  return RetryPolicy{.max_retries = max_retries,
                     .budget_percent = percent,
                     .budget_min_concurrency = min_concurrency};
}

RetryDecision retry() { return {}; }
RetryDecision retry_taking_slot() { return {.takes_budget_slot = true}; }
RetryDecision give_up(V verdict, int status) { return {.verdict = verdict, .status = status}; }

struct RetryRow {
  const char* name;
  RetryPolicy policy;
  RetryFacts facts;
  RetryDecision expected;
};

}  // namespace

TEST_CASE("decide_retry: one row per edge case") {
  const std::vector<RetryRow> rows = {
      // The failure kinds.
      {"connect failed: retried, free of the budget", kPolicy, facts(F::kConnect), retry()},
      {"dead connection: retried, taking a budget slot", kPolicy, facts(F::kDeadConnection),
       retry_taking_slot()},
      {"a response byte reached the client: never, whatever else holds", kPolicy,
       started(facts(F::kDeadConnection)), give_up(V::kResponseStarted, 0)},
      {"response started beats not replayable", kPolicy,
       started(streamed(facts(F::kDeadConnection))), give_up(V::kResponseStarted, 0)},
      // Replayable.
      {"a partly streamed body cannot be replayed: 502", kPolicy,
       streamed(facts(F::kDeadConnection)), give_up(V::kNotReplayable, 502)},
      {"not replayable is 502 even after a failed connect", kPolicy, streamed(facts(F::kConnect)),
       give_up(V::kNotReplayable, 502)},
      // Idempotency against the failure kind.
      {"non-idempotent after a failed connect: nothing reached the target, retried", kPolicy,
       post(facts(F::kConnect)), retry()},
      {"non-idempotent after a dead connection: the target may have acted, 502", kPolicy,
       post(facts(F::kDeadConnection)), give_up(V::kNotIdempotent, 502)},
      {"non-idempotent is refused before the attempts count", kPolicy,
       post(facts(F::kDeadConnection, 3)), give_up(V::kNotIdempotent, 502)},
      // Attempts.
      {"the last allowed retry (attempt 2 of 3)", kPolicy, facts(F::kConnect, 2), retry()},
      {"every attempt made after connect failures: 503", kPolicy, facts(F::kConnect, 3),
       give_up(V::kAttemptsExhausted, 503)},
      {"every attempt made, the last one's target vanished: 502", kPolicy,
       facts(F::kDeadConnection, 3), give_up(V::kAttemptsExhausted, 502)},
      {"max_retries 0: no retry at all", policy(0), facts(F::kConnect),
       give_up(V::kAttemptsExhausted, 503)},
      {"a negative max_retries counts as 0", policy(-1), facts(F::kConnect),
       give_up(V::kAttemptsExhausted, 503)},
      {"attempts are checked before the budget", kPolicy,
       with_budget(facts(F::kDeadConnection, 3), 1, 100), give_up(V::kAttemptsExhausted, 502)},
      // The budget.
      {"below the minimum concurrency: allowed", kPolicy,
       with_budget(facts(F::kDeadConnection), 1, 2), retry_taking_slot()},
      {"at the minimum concurrency with few requests: refused, 502", kPolicy,
       with_budget(facts(F::kDeadConnection), 4, 3), give_up(V::kBudgetExhausted, 502)},
      {"the percentage above the minimum: 50 % of 10 is 5, 4 in use", kPolicy,
       with_budget(facts(F::kDeadConnection), 10, 4), retry_taking_slot()},
      {"the percentage above the minimum: 5 of 10 in use, refused", kPolicy,
       with_budget(facts(F::kDeadConnection), 10, 5), give_up(V::kBudgetExhausted, 502)},
      {"a fractional share: 50 % of 11 is 5.5, so 5 in use still fits", kPolicy,
       with_budget(facts(F::kDeadConnection), 11, 5), retry_taking_slot()},
      {"budget 0 % and minimum 0: every dead-connection retry refused", policy(2, 0.0, 0),
       with_budget(facts(F::kDeadConnection), 10, 0), give_up(V::kBudgetExhausted, 502)},
      {"a full budget does not stop a retry after a failed connect", kPolicy,
       with_budget(facts(F::kConnect), 4, 100), retry()},
      {"a request already holding a slot keeps it, full budget or not", kPolicy,
       with_budget(facts(F::kDeadConnection, 2), 4, 100, true), retry()},
      {"holding a slot does not lift the attempts limit", kPolicy,
       with_budget(facts(F::kDeadConnection, 3), 4, 1, true), give_up(V::kAttemptsExhausted, 502)},
  };
  for (const auto& row : rows) {
    CAPTURE(row.name);
    const RetryDecision got = decide_retry(row.policy, row.facts);
    CHECK(static_cast<int>(got.verdict) == static_cast<int>(row.expected.verdict));
    CHECK(got.status == row.expected.status);
    CHECK(got.takes_budget_slot == row.expected.takes_budget_slot);
  }
}

TEST_CASE("give_up_status: 502 when a target took the request and vanished, else 503") {
  CHECK(give_up_status(AttemptFailure::kDeadConnection) == 502);
  CHECK(give_up_status(AttemptFailure::kConnect) == 503);
  CHECK(give_up_status(AttemptFailure::kNone) == 503);  // no target to try at all
}

TEST_CASE("idempotent_method: RFC 9110's idempotent methods, case-sensitive") {
  const std::vector<std::pair<const char*, bool>> rows = {
      {"GET", true},      {"HEAD", true},  {"OPTIONS", true}, {"PUT", true},
      {"DELETE", true},   {"TRACE", true}, {"POST", false},   {"PATCH", false},
      {"CONNECT", false}, {"get", false},  {"", false},       {"GETX", false},
  };
  for (const auto& [method, expected] : rows) {
    CAPTURE(method);
    CHECK(idempotent_method(method) == expected);
  }
}
