#include "serve/admin_requests.h"

#include <signal.h>

#include <charconv>
#include <cmath>

#include "core/ascii.h"
#include "core/config.h"
#include "core/errors.h"
#include "orchestrator/metric_file.h"
#include "scenario/scenario.h"

namespace flotilla {

namespace {

using nlohmann::json;
using namespace std::chrono_literals;

// A load from the API without a duration runs this long (every load stops by itself).
constexpr Duration kDefaultLoadDuration = std::chrono::hours(1);
// Faults from the API end within this (serve may run open-ended).
constexpr Duration kFaultHorizon = std::chrono::hours(24);
// How far from now a relative time may point: about 30 years, far beyond any session, and well
// inside what a Duration (int64 nanoseconds, +-292 years) holds once added to now.
constexpr double kMaxRelativeSeconds = 1e9;

constexpr std::pair<std::string_view, int> kWorkerSignals[] = {
    {"KILL", SIGKILL}, {"TERM", SIGTERM}, {"STOP", SIGSTOP}, {"CONT", SIGCONT}};

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string url_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 &&
               hex_value(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// A finite number written whole ("-300", "1.5"), else nullopt.
std::optional<double> parse_number(std::string_view text) {
  double v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(v))
    return std::nullopt;
  return v;
}

[[noreturn]] void query_fail(std::string_view parameter, std::string expected) {
  throw UserError(kRequestQuery, "/" + std::string(parameter), std::move(expected));
}

std::optional<QueryTime> query_time(const QueryParameters& query, std::string_view name) {
  const auto text = query_parameter(query, name);
  if (!text) return std::nullopt;
  QueryTime t;
  if (auto relative = parse_number(*text); relative && std::abs(*relative) <= kMaxRelativeSeconds) {
    t.relative_s = *relative;
  } else if (auto since_epoch = parse_rfc3339(*text)) {
    t.since_epoch = *since_epoch;
  } else {
    query_fail(name,
               "an RFC 3339 time (2026-12-01T15:40:00Z) or seconds relative to now (-300), "
               "got \"" +
                   *text + "\"");
  }
  return t;
}

}  // namespace

QueryParameters parse_query(std::string_view query) {
  QueryParameters out;
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (part.empty()) continue;
    const std::size_t eq = part.find('=');
    out.emplace_back(url_decode(part.substr(0, eq)),
                     eq == std::string_view::npos ? "" : url_decode(part.substr(eq + 1)));
  }
  return out;
}

std::optional<std::string> query_parameter(const QueryParameters& query, std::string_view name) {
  for (const auto& [k, v] : query)
    if (k == name) return v;
  return std::nullopt;
}

std::optional<std::string> cookie_value(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    const std::size_t semi = header.find(';');
    std::string_view part = trim_ows(header.substr(0, semi));
    header = semi == std::string_view::npos ? std::string_view{} : header.substr(semi + 1);
    const std::size_t eq = part.find('=');
    if (eq != std::string_view::npos && trim_ows(part.substr(0, eq)) == name)
      return std::string(trim_ows(part.substr(eq + 1)));
  }
  return std::nullopt;
}

std::optional<int> worker_signal(std::string_view name) {
  for (const auto& [n, sig] : kWorkerSignals)
    if (n == name) return sig;
  return std::nullopt;
}

std::string worker_signal_name(int sig) {
  for (const auto& [n, s] : kWorkerSignals)
    if (s == sig) return std::string(n);
  return std::to_string(sig);
}

json parse_request_body(std::string_view body, bool empty_ok) {
  if (body.empty() && empty_ok) return json::object();
  json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded())
    throw UserError(kRequestBody, "", "a JSON object; the body is not valid JSON");
  if (!doc.is_object()) throw UserError(kRequestBody, "", "a JSON object");
  return doc;
}

CapacityChange parse_capacity_change(const json& body) {
  const ConfigNode root(body, kRequestBody);
  root.only_keys({"desired", "min", "max"});
  CapacityChange change;
  auto read = [&](const char* key, std::optional<int>& into) {
    if (auto v = root.get(key)) into = static_cast<int>(v->as_int(0, 1000000));
  };
  read("desired", change.desired);
  read("min", change.min);
  read("max", change.max);
  if (!change.desired && !change.min && !change.max)
    root.fail("an object with at least one of \"desired\", \"min\" and \"max\"");
  return change;
}

int parse_kill_signal(const json& body) {
  const ConfigNode root(body, kRequestBody);
  root.only_keys({"signal"});
  if (auto s = root.get("signal"))
    return *worker_signal(s->as_enum({"KILL", "TERM", "STOP", "CONT"}));
  return SIGKILL;
}

Fault parse_fault_request(const json& body, const std::vector<std::string>& zones,
                          bool control_interface) {
  json entry = body;
  if (entry.is_object() && !entry.contains("at")) entry["at"] = "0s";
  return parse_fault(ConfigNode(entry, kRequestBody), kFaultHorizon, zones, control_interface);
}

std::optional<RateSchedule> parse_load_request(const json& body) {
  const ConfigNode root(body, kRequestBody);
  root.only_keys({"rps", "duration", "stages", "start_rps", "stop"});
  const int shapes = root.has("rps") + root.has("stages") + root.has("stop");
  if (shapes != 1) root.fail("exactly one of \"rps\", \"stages\" and \"stop\"");
  if (auto stop = root.get("stop")) {
    if (!stop->as_bool()) stop->fail("true (to stop the load)");
    return std::nullopt;
  }
  if (auto rps = root.get("rps")) {
    if (root.has("start_rps")) root.at("start_rps").fail("no start_rps beside \"rps\"");
    const double rate = rps->as_number(0, kMaxRps);
    Duration duration = kDefaultLoadDuration;
    if (auto d = root.get("duration")) duration = d->as_duration(1ms, std::chrono::hours(24));
    return RateSchedule({{Duration::zero(), rate}, {duration, rate}}, duration);
  }
  if (root.has("duration")) root.at("duration").fail("no duration beside \"stages\"");
  const std::vector<Stage> stages = parse_stages(root.at("stages"));
  double start = 0;
  if (auto s = root.get("start_rps")) start = s->as_number(0, kMaxRps);
  Duration total{};
  for (const Stage& s : stages) total += s.duration;
  if (total <= Duration::zero() || total > std::chrono::hours(24))
    root.at("stages").fail("stages that add up to more than 0s and at most 24h");
  return RateSchedule(start, stages, total);
}

MetricsQuery parse_metrics_query(const QueryParameters& query) {
  MetricsQuery q;
  const auto ns = query_parameter(query, "namespace");
  const auto name = query_parameter(query, "name");
  if (!ns || ns->empty()) query_fail("namespace", "a namespace (AWS/EC2 ...)");
  if (!name || name->empty()) query_fail("name", "a metric name");
  q.ns = *ns;
  q.name = *name;
  for (const auto& [k, v] : query) {
    if (k != "dimension") continue;
    const std::size_t eq = v.find('=');
    if (eq == std::string::npos || eq == 0)
      query_fail("dimension", "NAME=VALUE, got \"" + v + "\"");
    q.dimensions.emplace_back(v.substr(0, eq), v.substr(eq + 1));
  }
  const std::string stat_text = query_parameter(query, "stat").value_or("Average");
  const auto stat = parse_statistic(stat_text);
  if (!stat)
    query_fail("stat",
               "Average, Sum, Minimum, Maximum, SampleCount or pNN, got \"" + stat_text + "\"");
  q.stat = *stat;
  if (auto p = query_parameter(query, "period")) {
    const auto seconds = parse_number(*p);
    // Below a nanosecond a period rounds to 0, and the handler divides by it.
    if (!seconds || *seconds <= 0 || *seconds > 86400 || from_seconds(*seconds) <= Duration::zero())
      query_fail("period", "seconds from 0 to 86400, got \"" + *p + "\"");
    q.period = from_seconds(*seconds);
  }
  q.start = query_time(query, "start");
  q.end = query_time(query, "end");
  return q;
}

std::optional<double> parse_series_since(const QueryParameters& query) {
  const auto text = query_parameter(query, "since");
  if (!text) return std::nullopt;
  const auto since = parse_number(*text);
  if (!since) query_fail("since", "seconds since serve started");
  return since;
}

}  // namespace flotilla
