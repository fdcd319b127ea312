#pragma once
// Traces: recorded request rates, replayed as a scenario's traffic.
//
// A trace is a CSV file with the header `t_seconds,rps` and one row per step:
//
//   t_seconds,rps
//   0,424.4
//   60,433.0667
//
// t_seconds starts at 0 and goes forwards, to at most a year (31536000); rps is >= 0. The rate
// is linear between rows, and the last row's rate holds for one more step (the spacing of the
// last two rows), so the trace lasts its last t_seconds plus that step. At least two rows. Blank
// lines are ignored and "\r\n" line ends are accepted. A bad trace is a UserError naming the
// file, the line and what was expected:
// "traces/x.csv: line 7: expected t_seconds after 120 (time going forwards), got 60".
//
// Playing a trace (TracePlayback): the rate at scenario time t is
// scale x trace_rate(offset + t x speedup). `speedup` compresses the time axis only (rates stay in
// requests per second as recorded, so a trace played at speedup 60 sends 1/60 of its requests);
// `offset` is in trace time and skips the trace's start.
#include <string>
#include <string_view>
#include <vector>

#include "core/time.h"
#include "scenario/rate_schedule.h"

namespace flotilla {

struct TraceRow {
  double t_s = 0;
  double rps = 0;
  bool operator==(const TraceRow&) const = default;
};

struct Trace {
  std::string file;            // where it was read from, for messages
  std::vector<TraceRow> rows;  // at least 2, t_s from 0 and increasing, rps >= 0
  TraceRow peak;               // the first row with the highest rate

  // The last t_seconds plus the last step.
  double length_s() const;
  // The recorded rate at trace time `t_s`: linear between rows, the last row's rate for its
  // step, 0 outside [0, length_s()).
  double rate_at(double t_s) const;
};

// Parses a trace's text; `file` names it in errors.
Trace parse_trace(std::string_view text, const std::string& file);
// Reads and parses a trace file; an unreadable file is a UserError too.
Trace load_trace(const std::string& path);

struct TracePlayback {
  Trace trace;
  double speedup = 1;  // > 0
  double scale = 1;    // >= 0
  Duration offset{};   // in trace time, < trace.length_s()

  // How long the trace plays in scenario time: (length - offset) / speedup.
  Duration playable() const;
  // The rate over scenario time [0, total] as points for RateSchedule (total <= playable()).
  std::vector<RatePoint> points(Duration total) const;
};

}  // namespace flotilla
