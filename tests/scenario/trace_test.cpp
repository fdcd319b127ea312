#include "scenario/trace.h"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "core/errors.h"
#include "support/files.h"

namespace flotilla {
namespace {

namespace fs = std::filesystem;

// Writes `text` to a file of its own in a scratch folder and returns its path.
std::string write_trace(const fs::path& dir, const std::string& name, const std::string& text) {
  const fs::path path = dir / name;
  std::ofstream(path, std::ios::binary) << text;
  return path.string();
}

// The message of the UserError that loading `path` throws, or "<no error>".
std::string load_error(const std::string& path) {
  try {
    load_trace(path);
  } catch (const UserError& e) {
    return e.what();
  }
  return "<no error>";
}

}  // namespace

TEST_CASE("load_trace: a good trace") {
  const auto dir = test::fresh_temp_dir("trace-good");
  // CRLF line ends, a byte order mark, spaces and blank lines are all accepted.
  const auto path = write_trace(dir, "good.csv",
                                "\xEF\xBB\xBFt_seconds, rps\r\n0,100\r\n\r\n60, 400.5\r\n"
                                "120,0\r\n180,250\r\n");
  const Trace t = load_trace(path);
  CHECK(t.file == path);
  REQUIRE(t.rows.size() == 4);
  CHECK(t.rows[1] == TraceRow{60, 400.5});
  CHECK(t.rows[3] == TraceRow{180, 250});
  CHECK(t.peak == TraceRow{60, 400.5});
  CHECK(t.length_s() == 240);  // the last row lasts one more step of 60 s
  struct Row {
    double t_s;
    double rps;
  };
  const Row rows[] = {
      {-1, 0},  {0, 100},   {30, 250.25}, {60, 400.5}, {90, 200.25},
      {120, 0}, {150, 125}, {180, 250},   {239, 250},  {240, 0},
  };
  for (const auto& row : rows) {
    CAPTURE(row.t_s);
    CHECK(t.rate_at(row.t_s) == doctest::Approx(row.rps));
  }
  fs::remove_all(dir);
}

TEST_CASE("load_trace: each mistake names the file, the line and what was expected") {
  const auto dir = test::fresh_temp_dir("trace-bad");
  struct Row {
    const char* what;
    const char* text;
    const char* says;  // after "FILE: "
  };
  const Row rows[] = {
      {"empty file", "", "line 1: expected the header t_seconds,rps, got an empty file"},
      {"missing header", "0,10\n60,20\n",
       "line 1: expected the header t_seconds,rps, got \"0,10\""},
      {"other header", "time,rate\n0,1\n1,2\n",
       "line 1: expected the header t_seconds,rps, got \"time,rate\""},
      {"t not a number", "t_seconds,rps\n0,1\nsoon,2\n",
       "line 3: expected t_seconds as a number, got \"soon\""},
      {"rps not a number", "t_seconds,rps\n0,1\n60,lots\n",
       "line 3: expected rps as a number, got \"lots\""},
      {"rps empty", "t_seconds,rps\n0,1\n60,\n", "line 3: expected rps as a number, got \"\""},
      {"rps not finite", "t_seconds,rps\n0,1\n60,inf\n",
       "line 3: expected rps as a number, got \"inf\""},
      {"one field", "t_seconds,rps\n0\n", "line 2: expected two fields, t_seconds,rps, got \"0\""},
      {"three fields", "t_seconds,rps\n0,1,2\n",
       "line 2: expected two fields, t_seconds,rps, got \"0,1,2\""},
      {"not starting at 0", "t_seconds,rps\n30,1\n60,2\n",
       "line 2: expected t_seconds 0 in the first row (a trace starts at 0), got 30"},
      {"time going backwards",
       "t_seconds,rps\n0,1\n60,1\n120,1\n\n60,1\n",  // the blank line still counts
       "line 6: expected t_seconds after 120 (time going forwards), got 60"},
      {"time standing still", "t_seconds,rps\n0,1\n60,1\n60,2\n",
       "line 4: expected t_seconds after 60 (time going forwards), got 60"},
      {"negative rate", "t_seconds,rps\n0,1\n60,-3\n", "line 3: expected rps >= 0, got -3"},
      // Found by the trace fuzzer: the length overflowed to infinity.
      {"beyond a year", "t_seconds,rps\n0,1\n1e308,1\n",
       "line 3: expected t_seconds at most 31536000 (a year), got 1e308"},
      {"no rows", "t_seconds,rps\n",
       "line 2: expected at least 2 rows after the header (the last row lasts as long as the "
       "step before it), got 0"},
      {"one row", "t_seconds,rps\n0,5\n", "line 3: expected at least 2 rows"},
  };
  for (const auto& row : rows) {
    const std::string what = row.what;
    CAPTURE(what);
    const auto path = write_trace(dir, "bad.csv", row.text);
    const std::string message = load_error(path);
    CAPTURE(message);
    CHECK(message.rfind(path + ": " + row.says, 0) == 0);
  }
  fs::remove_all(dir);
}

TEST_CASE("load_trace: a file that cannot be read is a UserError naming it") {
  const auto dir = test::fresh_temp_dir("trace-unreadable");
  const std::string missing = (dir / "none.csv").string();
  CHECK(load_error(missing) == missing + ": expected an existing file (not found)");
  CHECK(load_error(dir.string()) == dir.string() + ": expected a trace file, got a folder");
  fs::remove_all(dir);
}

TEST_CASE("TracePlayback: speedup, scale and offset") {
  Trace trace;
  // 100 rps for 10 min, a ramp to 400 over 5 min, 400 for the last 5-minute step: 20 min.
  trace.rows = {{0, 100}, {600, 100}, {900, 400}};
  trace.peak = trace.rows[2];
  struct Row {
    const char* what;
    double speedup, scale;
    Duration offset;
    Duration playable;
    // rate at scenario time t = scale x trace_rate(offset + t x speedup)
    Duration t;
    double rate;
    // Rates stay in requests per second and only the time axis shrinks, so the requests shrink
    // with it: scale x (the trace's requests after offset) / speedup.
    double requests;
  };
  const Row rows[] = {
      {"as recorded", 1, 1, 0s, 1200s, 750s, 250, 60000 + 75000 + 120000},
      {"as recorded, last step", 1, 1, 0s, 1200s, 1199s, 400, 255000},
      {"speedup 60", 60, 1, 0s, 20s, 12500ms, 250, 255000 / 60.0},
      {"speedup 60, first part", 60, 1, 0s, 20s, 5s, 100, 255000 / 60.0},
      {"scale 2", 1, 2, 0s, 1200s, 750s, 500, 2 * 255000},
      {"offset in trace time", 1, 1, 600s, 600s, 150s, 250, 75000 + 120000},
      {"offset inside a ramp", 1, 1, 750s, 450s, 0s, 250, 150 * (250 + 400) / 2.0 + 120000},
      {"offset with speedup", 30, 0.5, 600s, 20s, 5s, 125, 0.5 * 195000 / 30},
      {"slowed down", 0.5, 1, 0s, 2400s, 1500s, 250, 255000 / 0.5},
  };
  for (const auto& row : rows) {
    const std::string what = row.what;
    CAPTURE(what);
    TracePlayback p{trace, row.speedup, row.scale, row.offset};
    CHECK(p.playable() == row.playable);
    const RateSchedule s(p.points(p.playable()), p.playable());
    CHECK(s.duration() == row.playable);
    CHECK(s.rate_at(row.t) == doctest::Approx(row.rate));
    CHECK(s.expected_total() == doctest::Approx(row.requests));
  }
}

TEST_CASE("TracePlayback: a duration shorter than the trace plays its start") {
  Trace trace;
  trace.rows = {{0, 0}, {100, 1000}};
  trace.peak = trace.rows[1];
  const TracePlayback p{trace, 2, 1, 0s};
  CHECK(p.playable() == 100s);
  const RateSchedule s(p.points(25s), 25s);  // trace time 0..50 s: a ramp from 0 to 500
  CHECK(s.duration() == 25s);
  CHECK(s.rate_at(24999ms) == doctest::Approx(500).epsilon(1e-3));
  CHECK(s.expected_total() == doctest::Approx(25 * 500 / 2.0));
  CHECK(p.points(25s).size() == 2);  // cut at the first row past the end: O(rows played)
}

}  // namespace flotilla
