#include "serve/admin_api.h"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string_view>

#include "core/ascii.h"
#include "core/config.h"
#include "core/duration.h"
#include "core/errors.h"
#include "metrics/metric_id.h"
#include "metrics/statistic.h"
#include "scaling/decision_log.h"
#include "serve/admin_requests.h"
#include "serve/dashboard_page.h"
#include "serve/metrics_page.h"
#include "serve/serve_session.h"

namespace flotilla {

namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kTokenCookie = "flotilla_token";
// How far back /api/v1/metrics may reach, and the most datapoints it answers with (CloudWatch:
// 1,440).
constexpr std::size_t kMaxDatapoints = 1440;

AdminResponse json_response(int status, const json& body) {
  AdminResponse r;
  r.status = status;
  r.body = body.dump();
  r.body += '\n';
  return r;
}

// A 400 always names the field, "" (the whole body, as RFC 6901 points at it) included.
AdminResponse error_response(int status, const std::string& message,
                             std::optional<std::string> field = std::nullopt) {
  json body = {{"error", message}};
  if (field) body["field"] = *field;
  else if (status == 400) body["field"] = "";
  return json_response(status, body);
}

AdminResponse method_not_allowed(const char* allow) {
  AdminResponse r = error_response(405, std::string("method not allowed; this path takes ") + allow);
  r.headers.emplace_back("Allow", allow);
  return r;
}

// Equal without an early exit, so a token is not guessed byte by byte from timing.
bool same_secret(std::string_view a, std::string_view b) {
  unsigned diff = a.size() == b.size() ? 0 : 1;
  const std::size_t n = std::min(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

// A 400 for a UserError from admin_requests.h: a query parameter's names the parameter.
AdminResponse bad_request(const UserError& e) {
  if (e.file() == kRequestQuery)
    return error_response(400, "query parameter " + e.pointer().substr(1) + ": expected " +
                                   e.expected(),
                          e.pointer());
  return error_response(400, e.expected().empty() ? e.what() : e.expected(),
                        e.pointer() == "/" ? "" : e.pointer());
}

std::string unit_of(std::string_view name) {
  if (name == "CPUUtilization") return "Percent";
  if (name == "TargetResponseTime") return "Seconds";
  if (name.find("Count") != std::string_view::npos || name.starts_with("HTTPCode") ||
      name.starts_with("Group"))
    return "Count";
  return "None";
}

json number_or_null(const std::optional<double>& v) {
  return v && std::isfinite(*v) ? json(*v) : json(nullptr);
}

class Handler {
 public:
  Handler(ServeSession& session, const AdminRequest& request)
      : session_(session), system_(session.system()), request_(request) {
    const std::size_t q = request.target.find('?');
    path_ = request.target.substr(0, q);
    if (q != std::string::npos) query_ = parse_query(std::string_view(request.target).substr(q + 1));
  }

  AdminResponse route() {
    const bool get = request_.method == "GET" || request_.method == "HEAD";
    const bool post = request_.method == "POST";
    // Reads: GET only.
    static const std::map<std::string, AdminResponse (Handler::*)()> reads = {
        {"/api/v1/workers", &Handler::workers},     {"/api/v1/targets", &Handler::targets},
        {"/api/v1/activities", &Handler::activities}, {"/api/v1/decisions", &Handler::decisions},
        {"/api/v1/alarms", &Handler::alarms},       {"/api/v1/metrics", &Handler::metrics},
        {"/api/v1/summary", &Handler::summary},     {"/api/v1/series", &Handler::series},
    };
    if (auto it = reads.find(path_); it != reads.end()) {
      if (!get) return method_not_allowed("GET");
      return (this->*(it->second))();
    }
    // Changes: POST only.
    static const std::map<std::string, AdminResponse (Handler::*)(const json&)> changes = {
        {"/api/v1/faults", &Handler::fault},
        {"/api/v1/load", &Handler::load},
    };
    if (auto it = changes.find(path_); it != changes.end()) {
      if (!post) return method_not_allowed("POST");
      return with_body(it->second, false);
    }
    if (path_ == "/api/v1/group") {
      if (get) return group();
      if (post) return with_body(&Handler::set_group, false);
      return method_not_allowed("GET, POST");
    }
    constexpr std::string_view kWorkers = "/api/v1/workers/";
    if (path_.starts_with(kWorkers) && path_.ends_with("/kill")) {
      if (!post) return method_not_allowed("POST");
      worker_id_ = path_.substr(kWorkers.size(), path_.size() - kWorkers.size() - 5);
      return with_body(&Handler::kill, true);
    }
    return error_response(404, "no such path: " + path_);
  }

 private:
  // Parses the body as a JSON object (an empty one when `empty_ok` and there is none) and
  // calls `f`; a UserError from it is a 400 naming the field.
  AdminResponse with_body(AdminResponse (Handler::*f)(const json&), bool empty_ok) {
    try {
      return (this->*f)(parse_request_body(request_.body, empty_ok));
    } catch (const UserError& e) {
      return bad_request(e);
    }
  }

  std::string time_of(Time t) const { return session_.wall_time(t); }
  double t_of(Time t) const { return session_.seconds_since_start(t); }

  AdminResponse group() {
    const GroupState s = system_.group().state();
    return json_response(200, {{"name", s.name},
                               {"min", s.min},
                               {"max", s.max},
                               {"desired", s.desired},
                               {"in_service", s.in_service},
                               {"pending", s.pending},
                               {"terminating", s.draining + s.terminating}});
  }

  AdminResponse set_group(const json& body) {
    const std::string problem = session_.change_capacity(parse_capacity_change(body));
    if (!problem.empty()) {
      const std::size_t colon = problem.find(": ");
      return error_response(400, problem.substr(colon + 2), problem.substr(0, colon));
    }
    return group();
  }

  json health_json(const std::optional<TargetInfo>& t) const {
    if (!t) return nullptr;
    return {{"state", std::string(to_string(t->state))},
            {"reason", t->reason},
            {"description", target_description(*t)}};
  }

  static std::string target_description(const TargetInfo& t) {
    if (t.state == TargetState::kHealthy) return "";
    if (!t.last_error.empty()) return "Health checks failed: " + t.last_error;
    if (t.last_status != 0 && t.state == TargetState::kUnhealthy)
      return "Health checks failed with these codes: [" + std::to_string(t.last_status) + "]";
    return "";
  }

  AdminResponse workers() {
    const GroupState s = system_.group().state();
    json out = json::array();
    for (const WorkerInfo& w : s.workers) {
      const auto pid = session_.environment().provider().pid(w.id);
      out.push_back({{"id", w.id},
                     {"state", std::string(to_string(w.state))},
                     {"pid", pid ? json(*pid) : json(nullptr)},
                     {"port", w.endpoint ? json(w.endpoint->port) : json(nullptr)},
                     {"zone", w.zone},
                     {"launched_at", time_of(w.launched_at)},
                     {"health", health_json(system_.targets().target(w.id))}});
    }
    return json_response(200, {{"workers", out}});
  }

  AdminResponse targets() {
    const BalancerStats stats = session_.environment().data_plane().stats();
    const Time now = session_.environment().scheduler().now();
    json out = json::array();
    for (const TargetInfo& t : system_.targets().targets()) {
      BalancerTargetStats counts;
      if (auto it = stats.targets.find(t.id); it != stats.targets.end()) counts = it->second;
      json check = nullptr;
      if (t.last_check_at)
        check = {{"time", time_of(*t.last_check_at)},
                 {"age_s", to_seconds(now - *t.last_check_at)},
                 {"status", t.last_status == 0 ? json(nullptr) : json(t.last_status)},
                 {"error", t.last_error}};
      const auto cpu = system_.store().latest(
          make_metric_id(kNamespaceEc2, kMetricCpuUtilization, {{"InstanceId", t.id}}));
      out.push_back({{"id", t.id},
                     {"endpoint", t.endpoint.to_string()},
                     {"state", std::string(to_string(t.state))},
                     {"reason", t.reason},
                     {"description", target_description(t)},
                     {"last_check", check},
                     {"in_flight", counts.outstanding},
                     {"requests", counts.requests},
                     {"responses_5xx", counts.responses_5xx},
                     {"errors", counts.errors},
                     {"retries", counts.retries},
                     {"ejected", t.ejected},
                     {"cpu", cpu ? json(cpu->value) : json(nullptr)}});
    }
    return json_response(200, {{"target_group", system_.group().name()}, {"targets", out}});
  }

  AdminResponse activities() {
    json out = json::array();
    const auto& all = system_.group().activities();
    for (auto it = all.rbegin(); it != all.rend(); ++it)
      out.push_back({{"time", time_of(it->t)},
                     {"t", t_of(it->t)},
                     {"from", it->from},
                     {"to", it->to},
                     {"cause", it->cause},
                     {"status", it->failed ? "Failed" : "Successful"}});
    return json_response(200, {{"activities", out}});
  }

  AdminResponse decisions() {
    json all = decisions_json(system_.scaling_loop().records(), session_.origin());
    json out = json::array();
    for (auto it = all.rbegin(); it != all.rend(); ++it) out.push_back(*it);
    return json_response(200, {{"decisions", out}});
  }

  AdminResponse alarms() {
    json out = json::array();
    for (const auto& [name, alarm] : system_.scaling_loop().alarms()) {
      json transitions = json::array();
      for (const AlarmEvaluation& e : alarm->history())
        transitions.push_back({{"time", time_of(e.t)},
                               {"t", t_of(e.t)},
                               {"from", std::string(to_string(e.previous))},
                               {"to", std::string(to_string(e.state))},
                               {"reason", e.reason}});
      out.push_back({{"name", name},
                     {"description", alarm->config().describe()},
                     {"state", std::string(to_string(alarm->state()))},
                     {"transitions", transitions}});
    }
    return json_response(200, {{"alarms", out}});
  }

  // A time parameter as the session's time; `fallback` when absent.
  Time query_time(const std::optional<QueryTime>& t, Time fallback) const {
    if (!t) return fallback;
    if (t->relative_s)
      return session_.environment().scheduler().now() + from_seconds(*t->relative_s);
    return session_.time_at_wall(*t->since_epoch);
  }

  AdminResponse metrics() {
    try {
      return metrics_or_throw();
    } catch (const UserError& e) {
      return bad_request(e);
    }
  }

  AdminResponse metrics_or_throw() {
    const MetricsQuery query = parse_metrics_query(query_);
    const Duration period = query.period.value_or(session_.scenario().metrics_period);
    const Time now = session_.environment().scheduler().now();
    Time start = query_time(query.start, now - 300s);
    const Time end = query_time(query.end, now);
    {
      // CloudWatch rounds the start down to a whole period of wall-clock time.
      const double wall_start = to_seconds(session_.wall_since_epoch(start));
      const double p = to_seconds(period);
      start -= from_seconds(wall_start - std::floor(wall_start / p) * p);
    }
    if (end <= start) throw UserError(kRequestQuery, "/end", "an end after the start");
    const auto count = static_cast<std::size_t>(std::ceil(to_seconds(end - start) / to_seconds(period)));
    if (count > kMaxDatapoints)
      throw UserError(kRequestQuery, "/period",
                      "at most " + std::to_string(kMaxDatapoints) +
                          " periods between start and end; use a longer period");
    const MetricId id = make_metric_id(query.ns, query.name, query.dimensions);
    const std::vector<std::optional<double>> values =
        system_.store().statistics(id, query.stat,
                                   start + period * static_cast<std::int64_t>(count), period,
                                   count);
    json points = json::array();
    const std::string stat_key = to_string(query.stat);
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (!values[i]) continue;
      points.push_back({{"Timestamp", time_of(start + period * static_cast<std::int64_t>(i))},
                        {stat_key, *values[i]},
                        {"Unit", unit_of(query.name)}});
    }
    return json_response(200, {{"Label", query.name}, {"Datapoints", points}});
  }

  json load_json() const {
    const LoadStatus load = session_.load_status();
    return {{"running", load.running},
            {"rps", number_or_null(load.rps)},
            {"sent", load.sent},
            {"ok", load.ok},
            {"errors", load.errors}};
  }

  AdminResponse summary() {
    const auto& seconds = session_.seconds();
    const GroupState s = system_.group().state();
    const TargetHealthCounts counts = system_.targets().counts();
    json out = {{"t", seconds.empty() ? 0.0 : seconds.back().t + 1},
                {"rps", nullptr},
                {"error_rate", nullptr},
                {"p50_ms", nullptr},
                {"p99_ms", nullptr},
                {"healthy", counts.healthy},
                {"targets", counts.healthy + counts.unhealthy + counts.initial + counts.draining},
                {"desired", s.desired},
                {"in_service", s.in_service},
                {"pending", s.pending},
                {"slo",
                 {{"latency_ms", to_millis(session_.scenario().slo.latency)},
                  {"error_rate", session_.scenario().slo.error_rate}}},
                {"load", load_json()}};
    if (!seconds.empty()) {
      const ServeSecond& last = seconds.back();
      const std::uint64_t total = last.ok + last.errors;
      out["rps"] = total;
      out["error_rate"] = total == 0 ? json(nullptr) : json(double(last.errors) / double(total));
      out["p50_ms"] = number_or_null(last.p50_ms);
      out["p99_ms"] = number_or_null(last.p99_ms);
    }
    return json_response(200, out);
  }

  AdminResponse series() {
    std::optional<double> since;
    try {
      since = parse_series_since(query_);
    } catch (const UserError& e) {
      return bad_request(e);
    }
    json rows = json::array();
    for (const ServeSecond& r : session_.seconds()) {
      if (since && r.t <= *since) continue;
      rows.push_back({{"t", r.t},
                      {"rps", r.ok + r.errors},
                      {"ok", r.ok},
                      {"errors", r.errors},
                      {"p50_ms", number_or_null(r.p50_ms)},
                      {"p99_ms", number_or_null(r.p99_ms)},
                      {"offered_rps", r.offered_rps},
                      {"desired", r.desired},
                      {"in_service", r.in_service},
                      {"pending", r.pending},
                      {"cpu", number_or_null(r.cpu)}});
    }
    json markers = json::array();
    for (const ServeMarker& m : session_.markers(since))
      markers.push_back({{"t", m.t}, {"kind", m.kind}, {"detail", m.detail}});
    return json_response(200, {{"rows", rows}, {"markers", markers}});
  }

  AdminResponse kill(const json& body) {
    const int sig = parse_kill_signal(body);
    if (!session_.signal_worker(worker_id_, sig))
      return error_response(404, "no worker " + worker_id_ + " in the group");
    return json_response(200, {{"id", worker_id_}, {"signal", worker_signal_name(sig)}});
  }

  AdminResponse fault(const json& body) {
    const FleetSpec& fleet = session_.scenario().fleet;
    const Fault f = parse_fault_request(body, fleet.zones, fleet.provider != kProviderCommand);
    return json_response(200, {{"fault", session_.start_fault(f)}});
  }

  AdminResponse load(const json& body) {
    if (std::optional<RateSchedule> schedule = parse_load_request(body)) {
      session_.start_load(std::move(*schedule));
    } else {
      session_.stop_load();
    }
    return json_response(200, load_json());
  }

  ServeSession& session_;
  System& system_;
  const AdminRequest& request_;
  std::string path_;
  QueryParameters query_;
  std::string worker_id_;
};

}  // namespace

AdminApi::AdminApi(ServeSession& session, std::optional<std::string> token)
    : session_(session), token_(std::move(token)) {}

MetricsPageInput AdminApi::metrics_input() const {
  System& system = session_.system();
  MetricsPageInput in;
  in.group = system.group().state();
  in.target_group = system.group().name();
  in.targets = system.targets().targets();
  in.balancer = session_.environment().data_plane().stats();
  in.load = session_.load_totals();
  in.load_rate_rps = session_.load_status().rps;
  in.scaling_activities = system.group().activities_recorded();
  in.start_time = session_.settings().wall_origin;
  return in;
}

AdminResponse AdminApi::handle(const AdminRequest& request) {
  const std::size_t q = request.target.find('?');
  const std::string path = request.target.substr(0, q);
  if (token_) {
    // The dashboard's link: the token once in the URL, then in a cookie the page cannot read.
    if (path == "/" && request.method == "GET" && q != std::string::npos) {
      for (const auto& [k, v] : parse_query(std::string_view(request.target).substr(q + 1))) {
        if (k != "token") continue;
        if (!same_secret(v, *token_)) return error_response(401, "wrong token");
        AdminResponse r;
        r.status = 303;
        r.content_type = "text/plain";
        r.body = "see /\n";
        r.headers.emplace_back("Location", "/");
        r.headers.emplace_back("Set-Cookie", std::string(kTokenCookie) + "=" + *token_ +
                                                 "; HttpOnly; SameSite=Strict; Path=/");
        return r;
      }
    }
    bool authorized = false;
    const std::string_view auth = trim_ows(request.authorization);
    if (auth.size() > 7 && (auth.substr(0, 7) == "Bearer " || auth.substr(0, 7) == "bearer "))
      authorized = same_secret(trim_ows(auth.substr(7)), *token_);
    if (!authorized)
      if (auto c = cookie_value(request.cookie, kTokenCookie)) authorized = same_secret(*c, *token_);
    if (!authorized) {
      AdminResponse r = error_response(
          401, "this admin API needs a token: Authorization: Bearer TOKEN (see --token-file)");
      r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"flotilla\"");
      return r;
    }
  }
  if (request.body_too_large)
    return error_response(413, "the body is larger than " + std::to_string(kMaxBody / 1024) +
                                   " KiB");
  if (path == "/healthz") {
    AdminResponse r;
    r.content_type = "text/plain";
    r.body = "ok\n";
    return r;
  }
  const bool read = request.method == "GET" || request.method == "HEAD";
  if (path == "/" || path == "/metrics") {
    if (!read) return method_not_allowed("GET");
    AdminResponse r;
    if (path == "/") {
      r.content_type = "text/html; charset=utf-8";
      r.body = dashboard_page();
    } else {
      r.content_type = "text/plain; version=0.0.4; charset=utf-8";
      r.body = metrics_page(metrics_input());
    }
    return r;
  }
  return Handler(session_, request).route();
}

}  // namespace flotilla
