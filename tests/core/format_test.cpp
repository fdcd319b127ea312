#include <doctest/doctest.h>

#include <cmath>

#include "core/format.h"

using flotilla::format_number;

TEST_CASE("format_number: decimals, trailing zeros, signs, large and non-finite values") {
  struct Row {
    double v;
    int decimals;
    const char* want;
  };
  const Row rows[] = {
      {78.2, 2, "78.2"},    {50, 2, "50"},     {44.956, 2, "44.96"}, {0.001, 2, "0"},
      {-0.001, 2, "0"},     {0.25, 3, "0.25"}, {1e6, 2, "1000000"},  {-3.5, 1, "-3.5"},
      {2.0005, 3, "2.001"}, {NAN, 2, ""},      {INFINITY, 2, ""},
  };
  for (const auto& row : rows) {
    CAPTURE(row.v);
    CHECK(format_number(row.v, row.decimals) == row.want);
  }
}
