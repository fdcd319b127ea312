#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "balancer/picker.h"
#include "core/errors.h"

using namespace flotilla;

namespace {

// One call of pick() in a sequence: the candidates shown and the index expected (-1 = none).
struct Call {
  std::vector<PickCandidate> candidates;
  int expected;
};

struct Row {
  const char* name;
  const char* algorithm;
  std::vector<Call> calls;
};

PickCandidate c(std::uint32_t outstanding = 0, bool excluded = false, std::uint32_t weight = 1) {
  return PickCandidate{outstanding, weight, excluded};
}

// A candidate in slow start, `percent` of the way up its ramp.
PickCandidate ramp(std::uint8_t percent, std::uint32_t outstanding = 0, bool excluded = false) {
  return PickCandidate{outstanding, 1, excluded, percent};
}

void run(const Row& row) {
  CAPTURE(std::string(row.name));
  auto picker = make_picker(row.algorithm, 0);
  for (std::size_t i = 0; i < row.calls.size(); ++i) {
    CAPTURE(i);
    const auto got = picker->pick(row.calls[i].candidates);
    const int index = got ? static_cast<int>(*got) : -1;
    CHECK(index == row.calls[i].expected);
  }
}

}  // namespace

TEST_CASE("round_robin picks in rotation and skips what it cannot use") {
  const std::vector<PickCandidate> three = {c(), c(), c()};
  const std::vector<Row> rows = {
      {"empty", "round_robin", {{{}, -1}}},
      {"all excluded", "round_robin", {{{c(0, true), c(0, true)}, -1}}},
      {"weight zero is not routable",
       "round_robin",
       {{{c(0, false, 0), c()}, 1}, {{c(0, false, 0), c()}, 1}}},
      {"one target", "round_robin", {{{c()}, 0}, {{c()}, 0}, {{c()}, 0}}},
      {"rotation", "round_robin", {{three, 0}, {three, 1}, {three, 2}, {three, 0}}},
      {"ignores outstanding",
       "round_robin",
       {{{c(9), c(0)}, 0}, {{c(9), c(0)}, 1}, {{c(9), c(0)}, 0}}},
      {"excluded skipped, rotation continues after it",
       "round_robin",
       {{{c(), c(0, true), c()}, 0}, {{c(), c(0, true), c()}, 2}, {{c(), c(), c()}, 0}}},
      {"retry excludes the first pick", "round_robin", {{three, 0}, {{c(0, true), c(), c()}, 1}}},
      {"set shrinks below the cursor",
       "round_robin",
       {{three, 0}, {three, 1}, {three, 2}, {{c()}, 0}, {{c(), c()}, 1}}},
      {"set grows", "round_robin", {{{c(), c()}, 0}, {{c(), c()}, 1}, {three, 2}, {three, 0}}},
  };
  for (const auto& row : rows) run(row);
}

TEST_CASE("least_outstanding_requests picks the least busy, ties in rotation") {
  const std::vector<PickCandidate> idle = {c(), c(), c()};
  const std::vector<Row> rows = {
      {"empty", "least_outstanding_requests", {{{}, -1}}},
      {"all excluded", "least_outstanding_requests", {{{c(0, true), c(3, true)}, -1}}},
      {"one target", "least_outstanding_requests", {{{c(5)}, 0}, {{c(7)}, 0}}},
      {"least wins",
       "least_outstanding_requests",
       {{{c(3), c(1), c(2)}, 1}, {{c(3), c(1), c(2)}, 1}}},
      {"ties rotate", "least_outstanding_requests", {{idle, 0}, {idle, 1}, {idle, 2}, {idle, 0}}},
      {"ties among the least only",
       "least_outstanding_requests",
       {{{c(1), c(5), c(1)}, 0}, {{c(1), c(5), c(1)}, 2}, {{c(1), c(5), c(1)}, 0}}},
      {"excluded least is skipped", "least_outstanding_requests", {{{c(0, true), c(4), c(2)}, 2}}},
      {"weight zero is not routable", "least_outstanding_requests", {{{c(0, false, 0), c(3)}, 1}}},
      {"set shrinks",
       "least_outstanding_requests",
       {{idle, 0}, {idle, 1}, {idle, 2}, {{c(2), c(1)}, 1}}},
  };
  for (const auto& row : rows) run(row);
}

TEST_CASE("weighted_round_robin: smooth, in proportion to weight") {
  const std::vector<PickCandidate> equal = {c(), c(), c()};
  const std::vector<PickCandidate> five_one_one = {c(0, false, 5), c(), c()};
  const std::vector<PickCandidate> two_one = {c(0, false, 2), c()};
  const std::vector<Row> rows = {
      {"empty", "weighted_round_robin", {{{}, -1}}},
      {"all excluded", "weighted_round_robin", {{{c(0, true), c(0, true, 3)}, -1}}},
      {"all weight zero", "weighted_round_robin", {{{c(0, false, 0), c(0, false, 0)}, -1}}},
      {"one target", "weighted_round_robin", {{{c(0, false, 7)}, 0}, {{c(0, false, 7)}, 0}}},
      {"equal weights rotate",
       "weighted_round_robin",
       {{equal, 0}, {equal, 1}, {equal, 2}, {equal, 0}}},
      // current weights: 5,1,1 -> 0 | 3,2,2 -> 0 | 1,3,3 -> 1 (first of the tie) | 6,-3,4 -> 0 |
      // 4,-2,5 -> 2 | 9,-1,-1 -> 0 | 7,0,0 -> 0, back to 0,0,0.
      {"5:1:1 interleaves",
       "weighted_round_robin",
       {{five_one_one, 0},
        {five_one_one, 0},
        {five_one_one, 1},
        {five_one_one, 0},
        {five_one_one, 2},
        {five_one_one, 0},
        {five_one_one, 0},
        {five_one_one, 0}}},
      {"weight zero never picked",
       "weighted_round_robin",
       {{{c(0, false, 0), c(), c(0, false, 0)}, 1}, {{c(0, false, 0), c(), c(0, false, 0)}, 1}}},
      {"ignores outstanding", "weighted_round_robin", {{{c(9), c(0)}, 0}, {{c(9), c(0)}, 1}}},
      // 2,1 -> 0 (-1,1); retry with 0 excluded: 1 alone (2 -> 1), 0 keeps -1; then 1,2 -> 1:
      // a retry's pick subtracts only the weight that was routable.
      {"retry excludes the first pick, current weights kept",
       "weighted_round_robin",
       {{two_one, 0}, {{c(0, true, 2), c()}, 1}, {two_one, 1}}},
      // 1,1,1 -> 0 (-2,1,1); shrinks to one: position 0 alone (-2); grows back: the new
      // positions start at 0: -1,1,1 -> 1 (-1,-2,1); 0,-1,2 -> 2.
      {"set shrinks then grows",
       "weighted_round_robin",
       {{equal, 0}, {{c()}, 0}, {equal, 1}, {equal, 2}}},
      // 2,1 -> 0 (-1,1); the first target leaves (weight 0): only 1 is left, twice.
      {"a target is drained mid-stream",
       "weighted_round_robin",
       {{two_one, 0}, {{c(0, false, 0), c()}, 1}, {{c(0, false, 0), c()}, 1}}},
  };
  for (const auto& row : rows) run(row);
}

TEST_CASE("weighted_round_robin: 5:1:1 over 700 picks is exactly 500/100/100, whatever the seed") {
  for (const std::uint64_t seed : {0ULL, 1ULL, 2ULL, 977ULL}) {
    CAPTURE(seed);
    auto picker = make_picker("weighted_round_robin", seed);
    const std::vector<PickCandidate> candidates = {c(0, false, 5), c(), c()};
    std::vector<int> counts(3);
    int longest_run = 0;
    int run_length = 0;
    std::optional<std::size_t> previous;
    for (int i = 0; i < 700; ++i) {
      const auto index = *picker->pick(candidates);
      ++counts[index];
      run_length = previous == index ? run_length + 1 : 1;
      longest_run = std::max(longest_run, run_length);
      previous = index;
    }
    CHECK(counts == std::vector<int>{500, 100, 100});
    // Smooth: cycles of a a b a c a a, so at most four of the heavy one in a row (across a cycle
    // boundary); a blockwise weighted round robin would send it five.
    CHECK(longest_run == 4);
  }
}

TEST_CASE("weighted_round_robin: a weight change mid-stream takes effect within one cycle") {
  auto picker = make_picker("weighted_round_robin", 0);
  const std::vector<PickCandidate> before = {c(), c()};
  for (int i = 0; i < 5; ++i) picker->pick(before);
  const std::vector<PickCandidate> after = {c(0, false, 3), c()};
  std::vector<int> counts(2);
  for (int i = 0; i < 400; ++i) ++counts[*picker->pick(after)];
  CHECK(counts[0] >= 299);
  CHECK(counts[0] <= 301);
  CHECK(counts[0] + counts[1] == 400);
}

TEST_CASE("power_of_two_choices: the less busy of two distinct draws") {
  const std::vector<Row> rows = {
      {"empty", "power_of_two_choices", {{{}, -1}}},
      {"all excluded", "power_of_two_choices", {{{c(0, true), c(3, true)}, -1}}},
      {"all weight zero", "power_of_two_choices", {{{c(0, false, 0), c(0, false, 0)}, -1}}},
      {"one target", "power_of_two_choices", {{{c(5)}, 0}, {{c(5)}, 0}}},
      {"the only routable one",
       "power_of_two_choices",
       {{{c(0, true), c(9), c(0, false, 0)}, 1}, {{c(0, false, 0), c(0, true), c(4)}, 2}}},
      // Two routable: both are always drawn, so the less busy one always wins.
      {"two routable: the less busy",
       "power_of_two_choices",
       {{{c(3), c(1)}, 1},
        {{c(3), c(1)}, 1},
        {{c(0), c(1)}, 0},
        {{c(0), c(1)}, 0},
        {{c(2), c(0, true), c(7)}, 0},
        {{c(2), c(0, false, 0), c(7), c(0, true)}, 0}}},
      {"state changes mid-stream",
       "power_of_two_choices",
       {{{c(1), c(2), c(3)}, -2},
        {{c(1)}, 0},
        {{c(0, true), c(2), c(3)}, 1},
        {{c(8), c(2), c(0, false, 0)}, 1}}},
  };
  for (const auto& row : rows) {
    CAPTURE(std::string(row.name));
    auto picker = make_picker(row.algorithm, 0);
    for (std::size_t i = 0; i < row.calls.size(); ++i) {
      CAPTURE(i);
      const auto got = picker->pick(row.calls[i].candidates);
      if (row.calls[i].expected == -2) {  // any routable candidate
        CHECK(got.has_value());
        continue;
      }
      const int index = got ? static_cast<int>(*got) : -1;
      CHECK(index == row.calls[i].expected);
    }
  }
}

TEST_CASE("power_of_two_choices: the busiest is never picked, the idlest most often") {
  auto picker = make_picker("power_of_two_choices", 7);
  const std::vector<PickCandidate> candidates = {c(0), c(5), c(9), c(0, false, 0)};
  std::vector<int> counts(4);
  for (int i = 0; i < 3000; ++i) ++counts[*picker->pick(candidates)];
  // Pairs are {0,1}, {0,2}, {1,2} with equal chance: 0 wins two, 1 wins one, 2 none.
  CHECK(counts[2] == 0);
  CHECK(counts[3] == 0);
  CHECK(counts[0] > 1850);
  CHECK(counts[0] < 2150);
  CHECK(counts[0] + counts[1] == 3000);
}

TEST_CASE("power_of_two_choices: draws in proportion to weight") {
  auto picker = make_picker("power_of_two_choices", 11);
  // Equal load: the first draw wins, and it is weighted 3:1.
  const std::vector<PickCandidate> candidates = {c(0, false, 3), c(0, false, 1)};
  std::vector<int> counts(2);
  for (int i = 0; i < 4000; ++i) ++counts[*picker->pick(candidates)];
  CHECK(counts[0] > 2850);
  CHECK(counts[0] < 3150);
}

TEST_CASE("round robin spreads evenly over many picks") {
  auto picker = make_picker("round_robin", 12345);
  std::vector<PickCandidate> four(4);
  std::vector<int> counts(4);
  for (int i = 0; i < 400; ++i) ++counts[*picker->pick(four)];
  CHECK(counts == std::vector<int>{100, 100, 100, 100});
}

TEST_CASE("slow start under round_robin and least_outstanding_requests: the gate per pick") {
  const std::vector<PickCandidate> half = {c(), ramp(50)};
  const std::vector<PickCandidate> idle_half = {c(), ramp(50), c()};
  const std::vector<Row> rows = {
      // Its first turn adds 50 credit (refused, 0 serves), its second reaches 100 (taken).
      {"round_robin: a ramp at 50% takes every other turn",
       "round_robin",
       {{half, 0}, {half, 0}, {half, 1}, {half, 0}, {half, 0}, {half, 1}}},
      {"round_robin: the only routable candidate is taken though the gate refuses it",
       "round_robin",
       {{{c(0, true), ramp(10)}, 1}, {{c(0, true), ramp(10)}, 1}}},
      {"round_robin: the ramp over, it is back in every rotation",
       "round_robin",
       {{half, 0}, {half, 0}, {{c(), c()}, 1}, {{c(), c()}, 0}}},
      // The ramp is the least busy every time, so it wins every pick and takes every other one.
      {"least_outstanding_requests: a ramp at 50% takes every other pick it wins",
       "least_outstanding_requests",
       {{{ramp(50), c(1)}, 1},
        {{ramp(50), c(1)}, 0},
        {{ramp(50), c(1)}, 1},
        {{ramp(50), c(1)}, 0}}},
      {"least_outstanding_requests: a refused ramp passes to the next least busy",
       "least_outstanding_requests",
       {{{ramp(10), c(5), c(2)}, 2}, {{ramp(10), c(5), c(2), c(1)}, 3}}},
      {"least_outstanding_requests: the only routable candidate is taken though refused",
       "least_outstanding_requests",
       {{{ramp(10, 3), c(0, true)}, 0}, {{ramp(10, 3), c(0, false, 0)}, 0}}},
      // Idle: ties in rotation; the ramp's turns go to the next one on every other turn.
      {"least_outstanding_requests: idle, the ramp's refused turn goes to the next in rotation",
       "least_outstanding_requests",
       {{idle_half, 0}, {idle_half, 2}, {idle_half, 0}, {idle_half, 1}, {idle_half, 2}}},
  };
  for (const auto& row : rows) run(row);
}

TEST_CASE("slow start: a target p% up its ramp gets p% of a full target's picks, every algorithm") {
  // As the target group publishes them with slow start on: weight 1 x 100, ramped, and the
  // ramp as a percent. Weighted pickers go by the weight alone (the share must not count twice).
  for (const auto& algorithm : picker_names()) {
    for (const std::uint8_t percent : {std::uint8_t{10}, std::uint8_t{50}, std::uint8_t{100}}) {
      CAPTURE(algorithm);
      CAPTURE(int{percent});
      auto picker = make_picker(algorithm, 3);
      const std::vector<PickCandidate> candidates = {
          {0, 100, false, 100}, {0, 100, false, 100}, {0, percent, false, percent}};
      std::vector<int> counts(3);
      for (int i = 0; i < 21000; ++i) ++counts[*picker->pick(candidates)];
      const double full = (counts[0] + counts[1]) / 2.0;
      // Exact for the three deterministic pickers; power_of_two_choices draws (sd ~0.007).
      CHECK(std::abs(counts[2] / full - percent / 100.0) < 0.03);
      CHECK(std::abs(counts[0] - counts[1]) < 0.03 * full);
    }
  }
}

TEST_CASE("make_picker: unknown name is a user error naming the known ones") {
  CHECK(picker_names() == std::vector<std::string>{"least_outstanding_requests",
                                                   "power_of_two_choices", "round_robin",
                                                   "weighted_round_robin"});
  try {
    make_picker("random", 1);
    FAIL("expected UserError");
  } catch (const UserError& e) {
    const std::string what = e.what();
    CHECK(what.find("\"random\"") != std::string::npos);
    CHECK(what.find("least_outstanding_requests, power_of_two_choices, round_robin, "
                    "weighted_round_robin") != std::string::npos);
  }
}
