#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

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

TEST_CASE("escape_markup: markup characters as entities, XML's forbidden controls left out") {
  struct Row {
    std::string in;
    std::string out;
  };
  const std::vector<Row> rows = {
      {"plain text", "plain text"},
      {"</script> & \"x\" 'y'", "&lt;/script&gt; &amp; &quot;x&quot; &apos;y&apos;"},
      {std::string("a\x01"
                   "b\tc\nd\re",
                   9),
       "ab\tc\nd\re"},
      {"caf\xC3\xA9", "caf\xC3\xA9"},  // UTF-8 passes through
  };
  for (const Row& row : rows) {
    CAPTURE(row.in);
    CHECK(flotilla::escape_markup(row.in) == row.out);
  }
}

TEST_CASE("fill_template: each marker given is replaced, in one pass, and no other") {
  struct Row {
    std::string page;
    std::string out;
  };
  const std::vector<Row> rows = {
      {"", ""},
      {"no markers", "no markers"},
      {"<title>{{title}}</title>", "<title>T</title>"},
      {"{{title}}{{style}}{{title}}", "TcssT"},    // each occurrence, adjacent ones too
      {"{{style}} then {{title}}", "css then T"},  // in the page's order, not the list's
      {"{{script}}", "{{title}} stays"},           // a text is not searched again
      {"{{other}} {{title", "{{other}} {{title"},  // unknown or unclosed markers stay
      {"{{ title }}", "{{ title }}"},
  };
  for (const Row& row : rows) {
    CAPTURE(row.page);
    CHECK(flotilla::fill_template(
              row.page, {{"title", "T"}, {"style", "css"}, {"script", "{{title}} stays"}}) ==
          row.out);
  }
}
