#include "soak/soak_verdict.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace flotilla::soak {

namespace {

// Out of [base - tolerance, base + tolerance] x base.
bool outside(std::uint64_t value, std::uint64_t base, double tolerance) {
  const double b = static_cast<double>(base);
  return std::abs(static_cast<double>(value) - b) > tolerance * b;
}

std::string percent(std::uint64_t value, std::uint64_t base) {
  const double p = base == 0 ? 0 : 100.0 * (static_cast<double>(value) - base) / base;
  std::string s = std::to_string(static_cast<long long>(std::lround(p)));
  return (p >= 0 ? "+" : "") + s + "%";
}

}  // namespace

Verdict judge(const Figures& f) {
  Verdict v;
  const auto first = std::find_if(f.samples.begin(), f.samples.end(),
                                  [&](const Sample& s) { return s.t >= f.warmup_s; });
  if (first == f.samples.end()) {
    v.failures.push_back("no sample after the warm-up");
  } else {
    v.baseline = *first;
    v.rss_min_kb = v.rss_max_kb = first->rss_kb;
    v.fds_min = v.fds_max = first->fds;
    for (auto s = first; s != f.samples.end(); ++s) {
      v.rss_min_kb = std::min(v.rss_min_kb, s->rss_kb);
      v.rss_max_kb = std::max(v.rss_max_kb, s->rss_kb);
      v.fds_min = std::min(v.fds_min, s->fds);
      v.fds_max = std::max(v.fds_max, s->fds);
    }
    const Sample& b = v.baseline;
    for (const std::uint64_t rss : {v.rss_min_kb, v.rss_max_kb})
      if (outside(rss, b.rss_kb, f.flat_tolerance)) {
        v.failures.push_back("RSS not flat (" + percent(rss, b.rss_kb) + ")");
        break;
      }
    for (const std::uint64_t fds : {v.fds_min, v.fds_max})
      if (outside(fds, b.fds, f.flat_tolerance)) {
        v.failures.push_back("fds not flat (" + percent(fds, b.fds) + ")");
        break;
      }
  }
  if (f.orphans > 0) v.failures.push_back(std::to_string(f.orphans) + " orphaned workers");
  if (f.other_errors > 0)
    v.failures.push_back(std::to_string(f.other_errors) + " client errors outside stop windows");
  for (std::size_t i = 0; i < f.stop_errors.size(); ++i)
    if (f.stop_errors[i] > f.stop_error_limit)
      v.failures.push_back("stop " + std::to_string(i + 1) + " cost " +
                           std::to_string(f.stop_errors[i]) + " requests (limit " +
                           std::to_string(f.stop_error_limit) + ")");
  if (!f.serve_exited_cleanly) v.failures.push_back("serve did not exit 0");
  v.held = v.failures.empty();
  return v;
}

}  // namespace flotilla::soak
