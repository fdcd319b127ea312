#pragma once
// AdminApi: serve's admin interface as a pure handler, request in, response out, over a running
// ServeSession (serve_session.h). No sockets: admin_server.h carries requests to it, and tests
// call it directly in virtual time.
//
// Paths (JSON unless said; times RFC 3339 UTC; `t` fields in seconds since serve started):
//   GET  /healthz                         "ok" (text)
//   GET  /                                the dashboard (HTML); /?token=T sets the token cookie
//   GET  /metrics                         Prometheus text exposition (metrics_page.h)
//   GET  /api/v1/group      POST {desired, min, max}
//   GET  /api/v1/workers    GET /api/v1/targets    GET /api/v1/activities (newest first)
//   GET  /api/v1/decisions (newest first)          GET /api/v1/alarms
//   GET  /api/v1/metrics?namespace=&name=&dimension=K=V&stat=&period=&start=&end=
//        CloudWatch GetMetricStatistics: {"Label", "Datapoints": [{"Timestamp", "<Stat>",
//        "Unit"}]}; start and end RFC 3339 or seconds relative to now ("-300").
//   GET  /api/v1/summary    GET /api/v1/series?since=T    (the dashboard's)
//   POST /api/v1/workers/ID/kill {"signal": "KILL" | "TERM" | "STOP" | "CONT"}
//   POST /api/v1/faults  a fault entry as in scenario files, starting now ("at" optional)
//   POST /api/v1/load    {"rps": N, "duration": D} | {"stages": [...], "start_rps": N} |
//                        {"stop": true}
//
// Rules: with a token, every request needs `Authorization: Bearer TOKEN` or the cookie
// `flotilla_token=TOKEN` (401); a path that only changes something answers GET with 405 (and
// Allow: POST), a read-only one answers POST with 405 (Allow: GET); a body over kMaxBody is
// 413; bad JSON or a bad field is 400 with {"error": ..., "field": "/json/pointer"}; an unknown
// path 404, an unknown worker 404.
//
// Threading: the control-plane thread (the session's).
#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace flotilla {

class ServeSession;
struct MetricsPageInput;

struct AdminRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path and query: "/api/v1/metrics?name=CPUUtilization"
  std::string body;
  std::string authorization;  // the Authorization header's value, "" without one
  std::string cookie;         // the Cookie header's value
  bool body_too_large = false;  // the server stopped reading past kMaxBody
};

struct AdminResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // Allow, Set-Cookie, Location
};

class AdminApi {
 public:
  static constexpr std::size_t kMaxBody = 64 * 1024;

  // `token`: required of every request when set (--token-file).
  AdminApi(ServeSession& session, std::optional<std::string> token);

  AdminResponse handle(const AdminRequest& request);

 private:
  MetricsPageInput metrics_input() const;

  ServeSession& session_;
  std::optional<std::string> token_;
};

}  // namespace flotilla
