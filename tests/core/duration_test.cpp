#include <doctest/doctest.h>

#include "core/duration.h"

using namespace flotilla;

TEST_CASE("parse_duration: units, bare seconds and mistakes") {
  struct Row {
    const char* text;
    std::optional<Duration> want;
  };
  const Row rows[] = {
      {"500ms", 500ms},      {"20s", 20s},        {"2m", 120s},         {"1h", 3600s},
      {"1.5s", 1500ms},      {"250us", 250us},    {"90", 90s},          {"0.25", 250ms},
      {" 3s ", 3s},          {"0", 0s},           {"", std::nullopt},   {"s", std::nullopt},
      {"5 s", std::nullopt}, {"-1s", std::nullopt}, {"3d", std::nullopt}, {"1e3", std::nullopt},
      {"abc", std::nullopt}, {"40ns", 40ns},  {"1.5us", 1500ns},
      // The nearest nanosecond, not a truncation (found by the duration fuzzer: 0.900000001 s
      // read back from "900000001ns" as 900000000 ns).
      {"0.900000001", 900000001ns}, {"900000001ns", 900000001ns},
  };
  for (const auto& row : rows) {
    CAPTURE(row.text);
    CHECK(parse_duration(row.text) == row.want);
  }
}

TEST_CASE("format_duration: shortest exact unit") {
  CHECK(format_duration(90s) == "90s");
  CHECK(format_duration(1500ms) == "1500ms");
  CHECK(format_duration(250us) == "250us");
  CHECK(format_duration(0s) == "0s");
  CHECK(format_duration(900000001ns) == "900000001ns");
  // What it writes, parse_duration reads back.
  // 8400009000010001 ns is beyond a double's exact integers (found by the duration fuzzer).
  for (const Duration d : {Duration(1), Duration(900000001), Duration(123456789012345),
                           Duration(8400009000010001), Duration(302400392400000000)}) {
    CAPTURE(d.count());
    CHECK(parse_duration(format_duration(d)) == d);
  }
}
