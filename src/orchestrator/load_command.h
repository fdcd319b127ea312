#pragma once
// `flotilla load --url URL --rps N --duration D`: the open-loop load generator that scenarios
// use (scenario/load_generator.h) alone against any http:// URL, at a constant arrival rate
// (k6's constant-arrival-rate, wrk2 -R): requests leave on schedule whatever the responses do,
// and latency runs from each request's scheduled send time.
//
// It prints a progress line once a second on standard error (unless `quiet`; rewritten in
// place on a terminal), then a summary on `out`: requests sent, ok, errors by kind, the
// achieved rate, and latency p50, p90, p99 and max of the successful requests. With `json` the
// summary is one JSON object:
//
//   {"url", "rps", "duration_s", "connections", "threads", "timeout_s", "sent", "ok", "errors",
//    "errors_by_kind": {"http_5xx", "http_4xx", "connect_error", "reset", "timeout",
//    "overload"}, "interrupted", "abandoned", "elapsed_s", "achieved_rps",
//    "latency_ms": {"p50", "p90", "p99", "max"} (each null without a successful request)}
//
// SIGINT or SIGTERM ends the run early (within 100 ms): sending stops, the requests in flight
// are abandoned ("abandoned": counted neither ok nor errors), and the summary of what was sent
// is printed, marked "interrupted", with exit 0, as wrk does.
//
// achieved_rps: requests completed (ok or not) per second from the start to the last one.
// Exit 0 when it ran (errors are figures, not a failure). Bad arguments (a URL that is not
// http://HOST[:PORT][/PATH], https, rps <= 0, a bad duration) throw UserError naming the flag;
// a host that does not resolve throws UserError when the load starts.
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>

namespace flotilla {

struct LoadFlags {
  // http://HOST[:PORT][/PATH][?QUERY]; HOST an IPv4 address or a name. Selects the standalone
  // mode, and is required for now.
  std::optional<std::string> url;
  std::optional<double> rps;               // > 0
  std::optional<std::string> duration;     // "30s"; required
  std::string connections = "keep-alive";  // or "new": one connection per request
  int threads = 1;
  std::string timeout = "10s";  // per request, from when it is sent
  bool json = false;
  bool quiet = false;
};

// Where an http:// URL points.
struct HttpUrl {
  std::string host;
  std::uint16_t port = 80;
  std::string target = "/";  // path and query, as the request line carries them
  bool operator==(const HttpUrl&) const = default;
};
// nullopt with `why` set when `text` is not an http URL this command can load.
std::optional<HttpUrl> parse_http_url(const std::string& text, std::string& why);

int load_command(const LoadFlags& flags, std::ostream& out);

}  // namespace flotilla
