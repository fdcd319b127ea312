#include "soak/soak_verdict.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace flotilla::soak {
namespace {

// Samples every 30 s from 30 s; the warm-up is 120 s, so the one at 120 s is the baseline.
std::vector<Sample> samples(const std::vector<std::pair<std::uint64_t, std::uint64_t>>& rss_fds) {
  std::vector<Sample> out;
  double t = 30;
  for (const auto& [rss, fds] : rss_fds) {
    out.push_back({t, rss, fds});
    t += 30;
  }
  return out;
}

Figures figures(std::vector<Sample> s) {
  Figures f;
  f.samples = std::move(s);
  f.warmup_s = 120;
  f.stop_error_limit = 68;
  return f;
}

TEST_CASE("the soak's verdict") {
  struct Row {
    const char* name;
    Figures figures;
    std::vector<std::string> failures;  // each a prefix of the verdict's phrase, in order
  };
  const auto flat = samples({{9000, 20}, {9500, 30}, {10000, 40}, {10000, 40}, {10500, 42}});
  const auto with = [&](auto change) {
    Figures f = figures(flat);
    change(f);
    return f;
  };
  const std::vector<Row> rows = {
      {"flat after the warm-up, nothing else: held", figures(flat), {}},
      {"growth during the warm-up does not count",
       figures(samples({{1000, 5}, {5000, 10}, {9000, 30}, {10000, 40}, {10900, 43}})),
       {}},
      {"RSS just within 10% above and below",
       figures(samples({{0, 0}, {0, 0}, {0, 0}, {10000, 40}, {11000, 40}, {9000, 40}})),
       {}},
      {"RSS 10.01% above the baseline",
       figures(samples({{0, 0}, {0, 0}, {0, 0}, {10000, 40}, {11001, 40}})),
       {"RSS not flat (+10%)"}},
      {"RSS falling by more than 10% is not flat either",
       figures(samples({{0, 0}, {0, 0}, {0, 0}, {10000, 40}, {8000, 40}})),
       {"RSS not flat (-20%)"}},
      {"fds growing by more than 10%",
       figures(samples({{0, 0}, {0, 0}, {0, 0}, {10000, 40}, {10000, 45}})),
       {"fds not flat (+13%)"}},
      {"both, RSS named first",
       figures(samples({{0, 0}, {0, 0}, {0, 0}, {10000, 40}, {20000, 80}})),
       {"RSS not flat", "fds not flat"}},
      {"a baseline sample after the warm-up's end when none falls on it",
       figures({{50, 1, 1}, {130, 10000, 40}, {160, 10900, 43}}),
       {}},
      {"no sample after the warm-up",
       figures(samples({{9000, 20}, {9500, 30}})),
       {"no sample after the warm-up"}},
      {"one orphan", with([](Figures& f) { f.orphans = 1; }), {"1 orphaned workers"}},
      {"one client error outside the stop windows",
       with([](Figures& f) { f.other_errors = 1; }),
       {"1 client errors outside stop windows"}},
      {"stop errors up to capacity plus queue",
       with([](Figures& f) {
         f.stop_errors = {0, 68, 3};
       }),
       {}},
      {"a stop that cost more than capacity plus queue, named by its number",
       with([](Figures& f) {
         f.stop_errors = {0, 69, 3};
       }),
       {"stop 2 cost 69 requests (limit 68)"}},
      {"serve's exit other than 0",
       with([](Figures& f) { f.serve_exited_cleanly = false; }),
       {"serve did not exit 0"}},
  };
  for (const Row& row : rows) {
    CAPTURE(row.name);
    const Verdict v = judge(row.figures);
    CHECK(v.held == row.failures.empty());
    REQUIRE(v.failures.size() == row.failures.size());
    for (std::size_t i = 0; i < row.failures.size(); ++i) {
      CAPTURE(v.failures[i]);
      CHECK(v.failures[i].rfind(row.failures[i], 0) == 0);
    }
  }
}

TEST_CASE("the soak's verdict names the baseline and the extremes after it") {
  const Verdict v =
      judge(figures(samples({{1, 1}, {2, 2}, {3, 3}, {10000, 40}, {10500, 38}, {9800, 42}})));
  CHECK(v.held);
  CHECK(v.baseline.t == 120);
  CHECK(v.baseline.rss_kb == 10000);
  CHECK(v.rss_min_kb == 9800);
  CHECK(v.rss_max_kb == 10500);
  CHECK(v.fds_min == 38);
  CHECK(v.fds_max == 42);
}

}  // namespace
}  // namespace flotilla::soak
