#include "scenario/traffic.h"

namespace flotilla {

std::string_view to_string(LoadErrorKind kind) {
  switch (kind) {
    case LoadErrorKind::kHttp5xx:
      return "http_5xx";
    case LoadErrorKind::kHttp4xx:
      return "http_4xx";
    case LoadErrorKind::kConnectError:
      return "connect_error";
    case LoadErrorKind::kReset:
      return "reset";
    case LoadErrorKind::kTimeout:
      return "timeout";
    case LoadErrorKind::kOverload:
      return "overload";
  }
  return "unknown";
}

std::uint64_t ErrorCounts::total() const {
  std::uint64_t sum = 0;
  for (auto c : counts) sum += c;
  return sum;
}

void ErrorCounts::add(const ErrorCounts& other) {
  for (std::size_t i = 0; i < kLoadErrorKindCount; ++i) counts[i] += other.counts[i];
}

SecondLatency summarize(const LatencyHistogram& h) {
  SecondLatency s;
  s.count = h.count();
  if (s.count == 0) return s;
  s.min = h.min();
  s.p50 = h.percentile(50);
  s.p90 = h.percentile(90);
  s.p99 = h.percentile(99);
  s.max = h.max();
  return s;
}

}  // namespace flotilla
