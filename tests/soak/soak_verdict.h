#pragma once
// The soak's verdict (soak.cpp): whether what it sampled and counted held, as a pure function of
// the figures, so that a table test can hold every edge of it.
//
// It holds when
//   - serve's RSS and its own file descriptors stay flat: every sample taken after the warm-up
//     is within `flat_tolerance` (10%) of the first sample taken at or after it;
//   - no worker was orphaned;
//   - no client request failed outside a stop window, and each stop window cost at most
//     `stop_error_limit` requests (the profile's capacity plus its queue: what a stopped worker
//     can hold);
//   - serve exited 0 when asked to stop.
// A run with no sample after the warm-up cannot show flatness and fails.
#include <cstdint>
#include <string>
#include <vector>

namespace flotilla::soak {

struct Sample {
  double t = 0;              // seconds since the load started
  std::uint64_t rss_kb = 0;  // VmRSS
  // Serve's own descriptors: the entries in /proc/PID/fd but its connections (to its clients
  // and to its workers) and one pipe per live worker (soak.cpp says why).
  std::uint64_t fds = 0;
};

struct Figures {
  std::vector<Sample> samples;  // in time order
  double warmup_s = 0;
  double flat_tolerance = 0.10;
  std::uint64_t orphans = 0;
  std::uint64_t other_errors = 0;          // client errors outside every stop window
  std::vector<std::uint64_t> stop_errors;  // per stop window
  std::uint64_t stop_error_limit = 0;      // per window
  bool serve_exited_cleanly = true;
};

struct Verdict {
  bool held = false;
  std::vector<std::string> failures;  // one phrase per broken condition, empty when held
  // The samples the flatness was judged on: the baseline and the extremes after it (zero when
  // there was none).
  Sample baseline;
  std::uint64_t rss_min_kb = 0, rss_max_kb = 0, fds_min = 0, fds_max = 0;
};

Verdict judge(const Figures& figures);

}  // namespace flotilla::soak
