#include "orchestrator/load_command.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/duration.h"
#include "core/errors.h"
#include "core/format.h"
#include "core/signal_counter.h"
#include "core/terminal.h"
#include "scenario/load_generator.h"
#include "scenario/report.h"

namespace flotilla {

namespace {

constexpr int kMaxLoadThreads = 64;
// How soon a SIGINT or SIGTERM ends the run.
constexpr Duration kSignalPoll = std::chrono::milliseconds(100);

bool name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '.' || c == '_';
}

struct Run {
  std::string url;
  HttpUrl where;
  double rps = 0;
  Duration duration{};
  Duration timeout{};
  Connections connections = Connections::kKeepAlive;
  int threads = 1;
};

Run checked(const LoadFlags& flags) {
  Run run;
  if (!flags.url) throw UserError("--url: required: the http:// URL to send the load to");
  std::string why;
  const auto where = parse_http_url(*flags.url, why);
  if (!where) throw UserError("--url: " + why);
  run.url = *flags.url;
  run.where = *where;
  if (!flags.rps) throw UserError("--rps: required: requests per second, a number > 0");
  if (!(*flags.rps > 0) || !std::isfinite(*flags.rps))
    throw UserError("--rps: expected a number > 0, got " + format_number(*flags.rps));
  run.rps = *flags.rps;
  if (!flags.duration) throw UserError("--duration: required: how long to send, such as 30s");
  run.duration = parse_duration_flag(*flags.duration, "--duration");
  run.timeout = parse_duration_flag(flags.timeout, "--timeout");
  if (flags.connections == "keep-alive") {
    run.connections = Connections::kKeepAlive;
  } else if (flags.connections == "new") {
    run.connections = Connections::kNew;
  } else {
    throw UserError("--connections: expected keep-alive or new, got \"" + flags.connections + "\"");
  }
  if (flags.threads < 1 || flags.threads > kMaxLoadThreads)
    throw UserError("--threads: expected a number from 1 to " + std::to_string(kMaxLoadThreads) +
                    ", got " + std::to_string(flags.threads));
  run.threads = flags.threads;
  return run;
}

std::optional<double> millis_if(bool any, Duration d) {
  if (!any) return std::nullopt;
  return to_millis(d);
}

nlohmann::json number_or_null(const std::optional<double>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

std::string ms_text(const std::optional<double>& v) {
  return v ? format_number(*v, 2) + " ms" : std::string("-");
}

}  // namespace

std::optional<HttpUrl> parse_http_url(const std::string& text, std::string& why) {
  const auto fail = [&](const std::string& what) -> std::optional<HttpUrl> {
    why = what + ", got \"" + text + "\"";
    return std::nullopt;
  };
  std::string lower = text.substr(0, std::min<std::size_t>(text.size(), 8));
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower.starts_with("https://"))
    return fail("expected an http:// URL (https is not supported: the load generator has no TLS)");
  if (!lower.starts_with("http://")) return fail("expected http://HOST[:PORT][/PATH]");
  std::string_view rest = std::string_view(text).substr(7);
  const std::size_t end = rest.find_first_of("/?#");
  const std::string_view authority = rest.substr(0, end);
  std::string_view target = end == std::string_view::npos ? "" : rest.substr(end);
  if (const auto hash = target.find('#'); hash != std::string_view::npos)
    target = target.substr(0, hash);  // a fragment is the client's own, never sent

  HttpUrl url;
  if (authority.find('@') != std::string_view::npos)
    return fail("expected http://HOST[:PORT][/PATH] without user information");
  if (authority.starts_with("["))
    return fail("expected an IPv4 address or a name as the host (IPv6 is not supported)");
  const std::size_t colon = authority.rfind(':');
  const std::string_view host = authority.substr(0, colon);
  if (host.empty() || !std::all_of(host.begin(), host.end(), name_char))
    return fail("expected http://HOST[:PORT][/PATH] with an IPv4 address or a name as HOST");
  url.host = std::string(host);
  if (colon != std::string_view::npos) {
    const std::string_view port = authority.substr(colon + 1);
    unsigned value = 0;
    const auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc() || ptr != port.data() + port.size() || value == 0 ||
        value > 65535)
      return fail("expected a port from 1 to 65535 after the host");
    url.port = static_cast<std::uint16_t>(value);
  }
  if (target.empty()) {
    url.target = "/";
  } else if (target.front() == '?') {
    url.target = "/" + std::string(target);
  } else {
    url.target = std::string(target);
  }
  const bool printable = std::all_of(url.target.begin(), url.target.end(),
                                     [](unsigned char c) { return c > 0x20 && c < 0x7f; });
  if (!printable) return fail("expected a path without spaces or control characters (encode them)");
  return url;
}

int load_command(const LoadFlags& flags, std::ostream& out) {
  const Run run = checked(flags);
  LoadConfig config;
  config.target = Endpoint{run.where.host, run.where.port};
  config.requests = {RequestSpec{.method = "GET", .path = run.where.target}};
  config.connections = run.connections;
  config.schedule = RateSchedule({RatePoint{Duration::zero(), run.rps}}, run.duration);
  config.request_timeout = run.timeout;
  config.threads = run.threads;

  LoadGenerator load(config);
  // SIGINT or SIGTERM ends the run early and still prints the summary of what was sent, as wrk
  // and k6 do; the requests then in flight are abandoned and counted apart.
  const SignalCounter signals;
  const auto started = std::chrono::steady_clock::now();
  load.start();
  const bool tty = !flags.quiet && cursor_control_allowed(STDERR_FILENO);
  bool line_open = false;
  bool interrupted = false;
  auto next_progress = started + std::chrono::seconds(1);
  while (!load.wait_for(kSignalPoll)) {
    if (signals.count() > 0) {
      interrupted = true;
      load.stop();
      break;
    }
    if (std::chrono::steady_clock::now() < next_progress) continue;
    next_progress += std::chrono::seconds(1);
    if (flags.quiet) continue;
    const LoadSnapshot snap = load.snapshot(2);
    ProgressLine progress;
    progress.elapsed = snap.elapsed;
    progress.total = run.duration;
    progress.fleet = false;
    set_last_second(progress, snap);
    std::cerr << (tty ? "\r\033[K" : "") << format_progress_line(progress) << (tty ? "" : "\n")
              << std::flush;
    line_open = tty;
  }
  if (line_open) std::cerr << "\r\033[K" << std::flush;
  const double elapsed_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  const LoadSnapshot snap = load.snapshot();
  const std::uint64_t completed = snap.ok + snap.errors;
  const std::uint64_t abandoned = snap.sent - std::min(snap.sent, completed);
  const double achieved = elapsed_s > 0 ? static_cast<double>(completed) / elapsed_s : 0;
  const bool any = snap.latency.count() > 0;
  const auto p50 = millis_if(any, snap.latency.percentile(50));
  const auto p90 = millis_if(any, snap.latency.percentile(90));
  const auto p99 = millis_if(any, snap.latency.percentile(99));
  const auto max = millis_if(any, snap.latency.max());
  const std::string connections = run.connections == Connections::kNew ? "new" : "keep-alive";

  if (flags.json) {
    nlohmann::json by_kind = nlohmann::json::object();
    for (std::size_t i = 0; i < kLoadErrorKindCount; ++i) {
      const auto kind = static_cast<LoadErrorKind>(i);
      by_kind[std::string(to_string(kind))] = snap.by_kind[kind];
    }
    const nlohmann::json j = {
        {"url", run.url},
        {"rps", run.rps},
        {"duration_s", to_seconds(run.duration)},
        {"connections", connections},
        {"threads", run.threads},
        {"timeout_s", to_seconds(run.timeout)},
        {"sent", snap.sent},
        {"ok", snap.ok},
        {"errors", snap.errors},
        {"errors_by_kind", by_kind},
        {"interrupted", interrupted},
        {"abandoned", abandoned},
        {"elapsed_s", elapsed_s},
        {"achieved_rps", achieved},
        {"latency_ms",
         {{"p50", number_or_null(p50)},
          {"p90", number_or_null(p90)},
          {"p99", number_or_null(p99)},
          {"max", number_or_null(max)}}},
    };
    out << j.dump(2) << "\n";
    return kExitOk;
  }

  std::ostringstream text;
  text << run.url << ": " << format_number(run.rps) << " requests/s for "
       << format_duration(run.duration) << ", " << connections << " connections, " << run.threads
       << (run.threads == 1 ? " thread" : " threads") << "\n";
  if (interrupted)
    text << "  interrupted after " << format_number(elapsed_s, 2) << " s: " << abandoned
         << " requests in flight abandoned (neither ok nor errors)\n";
  text << "  requests  " << snap.sent << " sent, " << snap.ok << " ok, " << snap.errors
       << " errors\n";
  if (snap.errors > 0) {
    std::vector<std::string> kinds;
    for (std::size_t i = 0; i < kLoadErrorKindCount; ++i) {
      const auto kind = static_cast<LoadErrorKind>(i);
      if (snap.by_kind[kind] > 0)
        kinds.push_back(std::string(to_string(kind)) + " " + std::to_string(snap.by_kind[kind]));
    }
    text << "  errors    " << join(kinds) << "\n";
  }
  text << "  rate      " << format_number(achieved, 1) << " requests/s achieved (" << completed
       << " completed in " << format_number(elapsed_s, 2) << " s)\n";
  text << "  latency   p50 " << ms_text(p50) << ", p90 " << ms_text(p90) << ", p99 " << ms_text(p99)
       << ", max " << ms_text(max) << " (successful requests, from the scheduled send time)\n";
  out << text.str() << std::flush;
  return kExitOk;
}

}  // namespace flotilla
