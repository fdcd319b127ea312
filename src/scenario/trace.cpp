#include "scenario/trace.h"

#include <algorithm>
#include <cassert>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "core/errors.h"

namespace flotilla {

namespace {

constexpr std::string_view kHeader = "t_seconds,rps";

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(" \t\r");
  return s.substr(first, last - first + 1);
}

// The text as the file has it, quoted and cut short like ConfigNode's "got" values.
std::string quoted(std::string_view s) {
  std::string out(s.substr(0, 57));
  if (s.size() > 57) out += "...";
  return "\"" + out + "\"";
}

std::optional<double> parse_number(std::string_view text) {
  double v = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (ec != std::errc() || ptr != end || !std::isfinite(v)) return std::nullopt;
  return v;
}

class LineError {
 public:
  LineError(const std::string& file, std::size_t line) : file_(file), line_(line) {}
  [[noreturn]] void fail(const std::string& expected) const {
    throw UserError(file_, "line " + std::to_string(line_), expected);
  }

 private:
  const std::string& file_;
  std::size_t line_;
};

}  // namespace

Trace parse_trace(std::string_view text, const std::string& file) {
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);  // a UTF-8 byte order mark
  Trace trace;
  trace.file = file;
  bool header = false;
  std::string_view last_t_text;  // the previous row's t_seconds as written, for messages
  std::size_t line = 0;
  while (!text.empty()) {
    ++line;
    const auto newline = text.find('\n');
    const std::string_view raw = text.substr(0, newline);
    text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
    const std::string_view content = trim(raw);
    if (content.empty()) continue;
    const LineError at(file, line);

    const auto comma = content.find(',');
    const std::string_view first = trim(content.substr(0, comma));
    const std::string_view second =
        comma == std::string_view::npos ? std::string_view() : trim(content.substr(comma + 1));
    if (!header) {
      if (first != "t_seconds" || second != "rps")
        at.fail("the header " + std::string(kHeader) + ", got " + quoted(content));
      header = true;
      continue;
    }
    if (comma == std::string_view::npos || second.find(',') != std::string_view::npos)
      at.fail("two fields, " + std::string(kHeader) + ", got " + quoted(content));
    const auto t = parse_number(first);
    if (!t) at.fail("t_seconds as a number, got " + quoted(first));
    const auto rps = parse_number(second);
    if (!rps) at.fail("rps as a number, got " + quoted(second));
    if (trace.rows.empty()) {
      if (*t != 0)
        at.fail("t_seconds 0 in the first row (a trace starts at 0), got " + std::string(first));
    } else if (*t <= trace.rows.back().t_s) {
      at.fail("t_seconds after " + std::string(last_t_text) + " (time going forwards), got " +
              std::string(first));
    }
    if (*rps < 0) at.fail("rps >= 0, got " + std::string(second));
    trace.rows.push_back({*t, *rps});
    if (*rps > trace.peak.rps || trace.rows.size() == 1) trace.peak = trace.rows.back();
    last_t_text = first;
  }
  const LineError end(file, line + 1);
  if (!header) end.fail("the header " + std::string(kHeader) + ", got an empty file");
  if (trace.rows.size() < 2)
    end.fail(
        "at least 2 rows after the header (the last row lasts as long as the step before it), "
        "got " +
        std::to_string(trace.rows.size()));
  return trace;
}

Trace load_trace(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_directory(path, ec)) throw UserError(path, "", "a trace file, got a folder");
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const bool exists = fs::exists(path, ec);
    throw UserError(path, "", exists ? "a readable file" : "an existing file (not found)");
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) throw UserError(path, "", "a readable file");
  return parse_trace(buffer.str(), path);
}

double Trace::length_s() const {
  assert(rows.size() >= 2);
  const double last = rows.back().t_s;
  return last + (last - rows[rows.size() - 2].t_s);
}

double Trace::rate_at(double t_s) const {
  if (rows.empty() || t_s < 0 || t_s >= length_s()) return 0;
  auto it = std::upper_bound(rows.begin(), rows.end(), t_s,
                             [](double v, const TraceRow& r) { return v < r.t_s; });
  const TraceRow& a = *std::prev(it);
  if (it == rows.end()) return a.rps;
  return a.rps + (it->rps - a.rps) * (t_s - a.t_s) / (it->t_s - a.t_s);
}

Duration TracePlayback::playable() const {
  return from_seconds((trace.length_s() - to_seconds(offset)) / speedup);
}

std::vector<RatePoint> TracePlayback::points(Duration total) const {
  assert(speedup > 0 && scale >= 0);
  const double from = to_seconds(offset);
  const double end = from + to_seconds(total) * speedup;  // trace time at `total`
  // The same expression as playable(), so a trace played to its end ends exactly at `total`.
  auto scenario_time = [&](double u) { return from_seconds((u - from) / speedup); };
  const auto& rows = trace.rows;
  auto it = std::upper_bound(rows.begin(), rows.end(), from,
                             [](double v, const TraceRow& r) { return v < r.t_s; });
  std::vector<RatePoint> out;
  out.reserve(static_cast<std::size_t>(rows.end() - it) + 2);
  out.push_back({Duration::zero(), scale * trace.rate_at(from)});
  for (; it != rows.end(); ++it) {
    out.push_back({scenario_time(it->t_s), scale * it->rps});
    if (it->t_s >= end) return out;
  }
  out.push_back({scenario_time(trace.length_s()), scale * rows.back().rps});
  return out;
}

}  // namespace flotilla
