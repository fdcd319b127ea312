#include <doctest/doctest.h>

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

TEST_CASE("round robin spreads evenly over many picks") {
  auto picker = make_picker("round_robin", 12345);
  std::vector<PickCandidate> four(4);
  std::vector<int> counts(4);
  for (int i = 0; i < 400; ++i) ++counts[*picker->pick(four)];
  CHECK(counts == std::vector<int>{100, 100, 100, 100});
}

TEST_CASE("make_picker: unknown name is a user error naming the known ones") {
  CHECK(picker_names() == std::vector<std::string>{"least_outstanding_requests", "round_robin"});
  try {
    make_picker("random", 1);
    FAIL("expected UserError");
  } catch (const UserError& e) {
    const std::string what = e.what();
    CHECK(what.find("\"random\"") != std::string::npos);
    CHECK(what.find("least_outstanding_requests, round_robin") != std::string::npos);
  }
}
