#include "balancer/data_plane.h"

#include <algorithm>

namespace flotilla {

void add_target_stats(BalancerTargetStats& into, const BalancerTargetStats& from) {
  into.requests += from.requests;
  into.outstanding += from.outstanding;
  into.errors += from.errors;
  into.responses_2xx += from.responses_2xx;
  into.responses_3xx += from.responses_3xx;
  into.responses_4xx += from.responses_4xx;
  into.responses_5xx += from.responses_5xx;
  into.target_connection_errors += from.target_connection_errors;
  into.retries += from.retries;
  into.consecutive_failures = std::max(into.consecutive_failures, from.consecutive_failures);
  into.response_time_sum += from.response_time_sum;
  into.response_time_count += from.response_time_count;
}

}  // namespace flotilla
