#pragma once
// What a client of the admin API (admin_api.h) sends, read into values: the bodies of the POST
// paths and the query parameters of GET /api/v1/metrics and /api/v1/series. Pure: no session,
// no clock, so that it is tested and fuzzed on its own; AdminApi parses with these and then acts.
//
// Every mistake is a UserError: a body's names kRequestBody as its file and the field as a JSON
// pointer; a query parameter's names kRequestQuery and "/<parameter>". AdminApi answers either
// with 400 and {"error", "field": <pointer>}.
//
// Threading: none (pure functions).
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/time.h"
#include "metrics/statistic.h"
#include "scenario/fault.h"
#include "scenario/rate_schedule.h"

namespace flotilla {

// What errors in a request body name as their "file", and errors in the query string.
inline constexpr const char* kRequestBody = "request body";
inline constexpr const char* kRequestQuery = "query";

// "a=1&b=x%20y" -> {{"a", "1"}, {"b", "x y"}}, percent-decoded ('+' is a space), in order (a name
// may repeat: dimension=...); empty parts are skipped, a part without '=' has the value "".
using QueryParameters = std::vector<std::pair<std::string, std::string>>;
QueryParameters parse_query(std::string_view query);
// The first value of `name`, nullopt when absent.
std::optional<std::string> query_parameter(const QueryParameters& query, std::string_view name);

// The value of cookie `name` in a Cookie header ("a=1; flotilla_token=T"), nullopt if absent.
std::optional<std::string> cookie_value(std::string_view header, std::string_view name);

// The signals the admin API sends a worker's process, by the names it takes: "KILL", "TERM",
// "STOP", "CONT"; nullopt for another name.
std::optional<int> worker_signal(std::string_view name);
// "KILL" for SIGKILL ...; the number for a signal not among them.
std::string worker_signal_name(int sig);

// A request body as a JSON object. An empty body is {} when `empty_ok`; anything else that is not
// a JSON object is a UserError at "" (the whole body).
nlohmann::json parse_request_body(std::string_view body, bool empty_ok);

// POST /api/v1/group: {desired, min, max}, each 0 to 1,000,000, at least one of them. Whether
// they fit the group's limits is the session's to say.
struct CapacityChange {
  std::optional<int> desired, min, max;
  bool operator==(const CapacityChange&) const = default;
};
CapacityChange parse_capacity_change(const nlohmann::json& body);

// POST /api/v1/workers/ID/kill: {"signal": "KILL" | "TERM" | "STOP" | "CONT"}, SIGKILL when
// absent.
int parse_kill_signal(const nlohmann::json& body);

// POST /api/v1/faults: a fault entry as in scenario files, starting now ("at" optional, 0s when
// absent), ending within 24 h; `zones`: the fleet's.
// `control_interface`: as parse_fault's (false for the command provider's workers).
Fault parse_fault_request(const nlohmann::json& body, const std::vector<std::string>& zones,
                          bool control_interface = true);

// POST /api/v1/load: {"rps": N, "duration": D (1ms to 24h, default 1h)} | {"stages": [...],
// "start_rps": N} (stages adding up to more than 0 s and at most 24 h) | {"stop": true}.
// The load's schedule from now; nullopt: stop the load.
std::optional<RateSchedule> parse_load_request(const nlohmann::json& body);

// A time parameter of /api/v1/metrics: seconds relative to now ("-300") or an RFC 3339 time.
struct QueryTime {
  std::optional<double> relative_s;  // set exactly when since_epoch is not
  std::optional<Duration> since_epoch;
};

// GET /api/v1/metrics?namespace=&name=&dimension=K=V&stat=&period=&start=&end=
struct MetricsQuery {
  std::string ns;                                               // non-empty
  std::string name;                                             // non-empty
  std::vector<std::pair<std::string, std::string>> dimensions;  // names non-empty
  Statistic stat = Statistic::average;
  std::optional<Duration> period;  // in (0, 86400 s]; nullopt: the scenario's metrics period
  std::optional<QueryTime> start;  // nullopt: 300 s before now
  std::optional<QueryTime> end;    // nullopt: now
};
MetricsQuery parse_metrics_query(const QueryParameters& query);

// GET /api/v1/series?since=T: seconds since serve started; nullopt when absent.
std::optional<double> parse_series_since(const QueryParameters& query);

}  // namespace flotilla
