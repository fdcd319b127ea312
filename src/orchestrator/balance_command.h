#pragma once
// `flotilla balance`: the balancer alone in front of static targets (any HTTP servers), with
// health checks, like an ALB listener with one target group or an HAProxy frontend. The same
// Balancer and TargetGroup serve `flotilla run`.
//
// Once listening it writes exactly one line to `out` and flushes it:
//
//   flotilla balance listening on HOST:PORT
//
// SIGINT or SIGTERM: stop accepting (a connect is refused), close idle client connections, let
// the requests in flight finish (their responses say `Connection: close`) for at most
// BalanceConfig::drain_timeout, then close what is left and return 0; a second signal cuts the
// wait short. User mistakes (bad file, bad flag, port in use) throw UserError before that line
// is written.
#include <iosfwd>

#include "orchestrator/balance_config.h"

namespace flotilla {

int run_balance(const BalanceFlags& flags, std::ostream& out);

}  // namespace flotilla
