// serve's admin API (serve/admin_api.h) over a real session in the simulated world: the same
// group, scaling loop, target group, collector and faults as live, modelled workers, virtual
// time. Each endpoint's answer, the safety rules (token, 405, 413, 400 with a JSON pointer), and
// what the mutations do to the fleet. The socket side (admin_server.h) and serve as a process
// are tested live in tests/integration/serve_test.cpp, but for the acceptor's backoff out of
// file descriptors, which lowers this process's own limit.
#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "orchestrator/environment.h"
#include "scenario/scenario.h"
#include "serve/admin_api.h"
#include "serve/admin_server.h"
#include "serve/serve_session.h"
#include "support/fd_exhaustion.h"
#include "worker/profile.h"

using namespace flotilla;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

const std::string kSource = FLOTILLA_SOURCE_DIR;

json serve_file() {
  return json::parse(R"({
    "fleet": { "profile": "fleet/standard.json", "min": 2, "max": 6, "desired": 3 },
    "policies": [],
    "metrics": { "period": "5s" },
    "slo": { "latency": "250ms" }
  })");
}

// A session served in virtual time, started, with its initial workers in service.
struct Served {
  explicit Served(std::optional<std::string> token = std::nullopt, json file = serve_file(),
                  Duration retention = std::chrono::hours(3)) {
    scenario = parse_scenario(file, kSource + "/scenarios/serve-test.json", ScenarioUse::kServe);
    SimulatedOptions options;
    options.profile = load_worker_profile(scenario.fleet.profile);
    options.seed = 7;
    env = make_simulated(std::move(options));
    ServeSettings settings;
    settings.spec.simulated = true;
    settings.spec.seed = 7;
    settings.retention = retention;
    // 2026-12-01T12:00:00Z: API times are this plus the session's seconds.
    settings.wall_origin = std::chrono::system_clock::time_point(std::chrono::seconds(1796126400));
    session = std::make_unique<ServeSession>(*env, scenario, settings);
    api = std::make_unique<AdminApi>(*session, token);
    session->start();
    REQUIRE(env->run_until([&] { return session->system().group().state().in_service == 3; },
                           30s));
  }

  AdminResponse call(const std::string& method, const std::string& target,
                     const std::string& body = "", const std::string& authorization = "") {
    AdminRequest r;
    r.method = method;
    r.target = target;
    r.body = body;
    r.authorization = authorization;
    return api->handle(r);
  }
  json get(const std::string& target) {
    const AdminResponse r = call("GET", target);
    REQUIRE_MESSAGE(r.status == 200, target << ": " << r.body);
    return json::parse(r.body);
  }
  json post(const std::string& target, const json& body, int status = 200) {
    const AdminResponse r = call("POST", target, body.dump());
    REQUIRE_MESSAGE(r.status == status, target << ": " << r.body);
    return json::parse(r.body);
  }
  void run_for(Duration d) { env->run_until([] { return false; }, d); }

  Scenario scenario;
  std::unique_ptr<Environment> env;
  std::unique_ptr<ServeSession> session;
  std::unique_ptr<AdminApi> api;
};

std::string header(const AdminResponse& r, const std::string& name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return "";
}

std::vector<std::string> in_service_ids(Served& s) {
  std::vector<std::string> ids;
  const json workers = s.get("/api/v1/workers");
  for (const json& w : workers["workers"])
    if (w["state"] == "in_service") ids.push_back(w["id"]);
  return ids;
}

}  // namespace

TEST_CASE("admin API: the reads describe the group, its workers and targets") {
  Served s;
  s.run_for(3s);
  const json group = s.get("/api/v1/group");
  CHECK(group["min"] == 2);
  CHECK(group["max"] == 6);
  CHECK(group["desired"] == 3);
  CHECK(group["in_service"] == 3);
  CHECK(group["pending"] == 0);
  CHECK(group["terminating"] == 0);

  const json workers = s.get("/api/v1/workers")["workers"];
  REQUIRE(workers.size() == 3);
  for (const json& w : workers) {
    CHECK(w["state"] == "in_service");
    CHECK(w["health"]["state"] == "healthy");
    CHECK(w["health"]["reason"] == "");
    CHECK(w["port"].is_number());
    // Launched just before the session's second 0 (2026-12-01T12:00:00Z).
    CHECK(w["launched_at"].get<std::string>().starts_with("2026-12-01T12:00:0"));
  }

  const json targets = s.get("/api/v1/targets");
  REQUIRE(targets["targets"].size() == 3);
  for (const json& t : targets["targets"]) {
    CHECK(t["state"] == "healthy");
    CHECK(t["last_check"]["status"] == 200);
    CHECK(t["last_check"]["age_s"].get<double>() <= 1.0);
    CHECK(t["ejected"] == false);
    CHECK(t["in_flight"] == 0);
  }

  const AdminResponse health = s.call("GET", "/healthz");
  CHECK(health.status == 200);
  CHECK(health.body == "ok\n");

  const json activities = s.get("/api/v1/activities")["activities"];
  REQUIRE(!activities.empty());
  CHECK(activities.back()["status"] == "Successful");
  CHECK(s.get("/api/v1/decisions")["decisions"].is_array());
  CHECK(s.get("/api/v1/alarms")["alarms"].is_array());

  const AdminResponse page = s.call("GET", "/");
  CHECK(page.status == 200);
  CHECK(page.content_type.starts_with("text/html"));
  const AdminResponse metrics = s.call("GET", "/metrics");
  CHECK(metrics.status == 200);
  CHECK(metrics.content_type.starts_with("text/plain; version=0.0.4"));
  CHECK(metrics.body.find("flotilla_group_in_service_instances{group=\"serve\"} 3") !=
        std::string::npos);
}

TEST_CASE("admin API: load from the API shows in the series, the summary and /metrics") {
  Served s;
  const json started = s.post("/api/v1/load", {{"rps", 100}, {"duration", "30s"}});
  CHECK(started["running"] == true);
  CHECK(started["rps"] == 100.0);
  s.run_for(10s);
  const json summary = s.get("/api/v1/summary");
  CHECK(summary["rps"].get<double>() == doctest::Approx(100).epsilon(0.1));
  CHECK(summary["error_rate"] == 0.0);
  CHECK(summary["p99_ms"].get<double>() > 0);
  CHECK(summary["healthy"] == 3);
  CHECK(summary["targets"] == 3);
  CHECK(summary["slo"]["latency_ms"] == 250.0);
  CHECK(summary["load"]["running"] == true);

  const json series = s.get("/api/v1/series");
  const json& rows = series["rows"];
  REQUIRE(rows.size() >= 10);
  const json& last = rows.back();
  CHECK(last["ok"].get<int>() == doctest::Approx(100).epsilon(0.1));
  CHECK(last["offered_rps"] == 100.0);
  CHECK(last["in_service"] == 3);
  // Only what came after `since`.
  const double t = last["t"];
  CHECK(s.get("/api/v1/series?since=" + std::to_string(t - 2))["rows"].size() == 2);

  const std::string page = s.call("GET", "/metrics").body;
  CHECK(page.find("flotilla_load_rate_rps 100") != std::string::npos);

  const json stopped = s.post("/api/v1/load", {{"stop", true}});
  CHECK(stopped["running"] == false);
  CHECK(stopped["sent"].get<int>() >= 900);
  CHECK(stopped["errors"] == 0);
  s.run_for(3s);
  CHECK(s.get("/api/v1/summary")["rps"] == 0);
}

TEST_CASE("admin API: a killed worker is replaced, the kill and the replacement are markers") {
  Served s;
  s.post("/api/v1/load", {{"rps", 50}, {"duration", "60s"}});
  s.run_for(5s);
  const std::vector<std::string> before = in_service_ids(s);
  REQUIRE(before.size() == 3);
  const json killed = s.post("/api/v1/workers/" + before[1] + "/kill", {{"signal", "KILL"}});
  CHECK(killed["id"] == before[1]);
  CHECK(killed["signal"] == "KILL");
  REQUIRE(s.env->run_until(
      [&] {
        const auto ids = in_service_ids(s);
        return ids.size() == 3 && std::find(ids.begin(), ids.end(), before[1]) == ids.end();
      },
      30s));
  bool kill_marker = false, replaced_marker = false;
  const json series = s.get("/api/v1/series");
  for (const json& m : series["markers"]) {
    kill_marker |= m["kind"] == "kill" && m["detail"].get<std::string>().find(before[1]) !=
                                                std::string::npos;
    replaced_marker |= m["kind"] == "activity" &&
                       m["detail"].get<std::string>().find("replacement") != std::string::npos;
  }
  CHECK(kill_marker);
  CHECK(replaced_marker);

  SUBCASE("an unknown worker is 404, a bad signal 400 naming /signal") {
    CHECK(s.call("POST", "/api/v1/workers/i-nope/kill", "{}").status == 404);
    const json bad = s.post("/api/v1/workers/" + before[0] + "/kill", {{"signal", "HUP"}}, 400);
    CHECK(bad["field"] == "/signal");
  }
  SUBCASE("STOP makes the target unhealthy and the group replaces it") {
    s.post("/api/v1/workers/" + before[0] + "/kill", {{"signal", "STOP"}});
    REQUIRE(s.env->run_until(
        [&] {
          const auto t = s.session->system().targets().target(before[0]);
          return !t || t->state != TargetState::kHealthy;
        },
        30s));
    REQUIRE(s.env->run_until(
        [&] {
          const auto ids = in_service_ids(s);
          return ids.size() == 3 && std::find(ids.begin(), ids.end(), before[0]) == ids.end();
        },
        60s));
  }
}

TEST_CASE("admin API: POST /api/v1/group sets capacity within the limits, as AWS does") {
  Served s;
  CHECK(s.post("/api/v1/group", {{"desired", 5}})["desired"] == 5);
  REQUIRE(s.env->run_until([&] { return s.get("/api/v1/group")["in_service"] == 5; }, 30s));

  // AWS: a new max below desired takes desired down with it.
  const json limited = s.post("/api/v1/group", {{"max", 4}});
  CHECK(limited["max"] == 4);
  CHECK(limited["desired"] == 4);

  struct Row {
    json body;
    std::string field;
  };
  const Row rows[] = {
      {{{"desired", 99}}, "/desired"},     // above max
      {{{"min", 5}, {"max", 3}}, "/min"},  // min > max
      {{{"max", 0}}, "/max"},
      {{{"desired", "three"}}, "/desired"},
      {{{"size", 3}}, "/size"},  // unknown field
      {json::object(), ""},      // nothing to change
  };
  for (const Row& row : rows) {
    CAPTURE(row.body.dump());
    const json answer = s.post("/api/v1/group", row.body, 400);
    CHECK(answer["field"] == row.field);
    CHECK(!answer["error"].get<std::string>().empty());
  }
  CHECK(s.get("/api/v1/group")["desired"] == 4);  // nothing changed

  const AdminResponse not_json = s.call("POST", "/api/v1/group", "{desired: 3");
  CHECK(not_json.status == 400);
  CHECK(json::parse(not_json.body)["field"] == "");
  const AdminResponse array = s.call("POST", "/api/v1/group", "[3]");
  CHECK(array.status == 400);
}

TEST_CASE("admin API: methods, sizes and paths") {
  Served s;
  struct Row {
    std::string method, target;
    int status;
    std::string allow;
  };
  const Row rows[] = {
      {"GET", "/api/v1/load", 405, "POST"},
      {"GET", "/api/v1/faults", 405, "POST"},
      {"GET", "/api/v1/workers/i-00000000000000001/kill", 405, "POST"},
      {"POST", "/api/v1/workers", 405, "GET"},
      {"DELETE", "/api/v1/group", 405, "GET, POST"},
      {"POST", "/metrics", 405, "GET"},
      {"GET", "/api/v2/group", 404, ""},
      {"GET", "/nothing", 404, ""},
  };
  for (const Row& row : rows) {
    CAPTURE(row.method + " " + row.target);
    const AdminResponse r = s.call(row.method, row.target);
    CHECK(r.status == row.status);
    CHECK(header(r, "Allow") == row.allow);
  }
  AdminRequest big;
  big.method = "POST";
  big.target = "/api/v1/group";
  big.body_too_large = true;
  CHECK(s.api->handle(big).status == 413);
}

TEST_CASE("admin API: with a token, every request needs it, the dashboard link sets a cookie") {
  Served s(std::string("s3cret"));
  CHECK(s.call("GET", "/api/v1/group").status == 401);
  CHECK(s.call("GET", "/healthz").status == 401);
  CHECK(s.call("GET", "/metrics").status == 401);
  CHECK(s.call("GET", "/api/v1/group", "", "Bearer wrong").status == 401);
  CHECK(s.call("GET", "/api/v1/group", "", "Bearer s3cret").status == 200);
  CHECK(s.call("GET", "/metrics", "", "Bearer s3cret").status == 200);
  // A 413 is only told to someone with the token.
  AdminRequest big;
  big.method = "POST";
  big.target = "/api/v1/group";
  big.body_too_large = true;
  CHECK(s.api->handle(big).status == 401);

  const AdminResponse wrong_link = s.call("GET", "/?token=nope");
  CHECK(wrong_link.status == 401);
  const AdminResponse link = s.call("GET", "/?token=s3cret");
  CHECK(link.status == 303);
  CHECK(header(link, "Location") == "/");
  const std::string cookie = header(link, "Set-Cookie");
  CHECK(cookie.starts_with("flotilla_token=s3cret;"));
  CHECK(cookie.find("HttpOnly") != std::string::npos);
  CHECK(cookie.find("SameSite=Strict") != std::string::npos);

  AdminRequest with_cookie;
  with_cookie.method = "GET";
  with_cookie.target = "/api/v1/summary";
  with_cookie.cookie = "theme=dark; flotilla_token=s3cret";
  CHECK(s.api->handle(with_cookie).status == 200);
  with_cookie.cookie = "flotilla_token=s3cre";
  CHECK(s.api->handle(with_cookie).status == 401);
}

TEST_CASE("admin API: a fault entry from the API starts now and is a marker") {
  Served s;
  s.run_for(2s);
  const json f = s.post("/api/v1/faults", {{"kill", {{"workers", 1}}}});
  CHECK(f["fault"] == "kill 1 worker");
  REQUIRE(s.env->run_until([&] { return s.session->system().replaced_workers() == 1; }, 30s));
  bool marker = false;
  const json series = s.get("/api/v1/series");
  for (const json& m : series["markers"])
    marker |= m["kind"] == "fault" && m["detail"].get<std::string>().starts_with("kill 1 worker");
  CHECK(marker);

  const json unknown = s.post("/api/v1/faults", {{"explode", json::object()}}, 400);
  CHECK(!unknown["error"].get<std::string>().empty());
  const json missing_for = s.post("/api/v1/faults", {{"slow", {{"factor", 3}}}}, 400);
  CHECK(!missing_for["error"].get<std::string>().empty());
  const json bad_load = s.post("/api/v1/load", {{"rps", -1}}, 400);
  CHECK(bad_load["field"] == "/rps");
  const json two_shapes = s.post("/api/v1/load", {{"rps", 5}, {"stop", true}}, 400);
  CHECK(two_shapes["field"] == "");
}

TEST_CASE("admin API: /api/v1/metrics answers as CloudWatch GetMetricStatistics") {
  Served s;
  s.post("/api/v1/load", {{"rps", 80}, {"duration", "60s"}});
  s.run_for(40s);
  const std::string id = in_service_ids(s).front();
  const json cpu = s.get("/api/v1/metrics?namespace=AWS/EC2&name=CPUUtilization&dimension=" +
                         std::string("InstanceId%3D") + id + "&stat=Average&period=10&start=-30");
  CHECK(cpu["Label"] == "CPUUtilization");
  const json& points = cpu["Datapoints"];
  REQUIRE(points.size() >= 2);
  for (const json& p : points) {
    CHECK(p["Average"].get<double>() > 0);
    CHECK(p["Unit"] == "Percent");
    // Periods start on whole multiples of 10 s of wall-clock time.
    const std::string ts = p["Timestamp"];
    CHECK(ts.substr(18) == "0.000Z");
  }
  const json requests = s.get(
      "/api/v1/metrics?namespace=AWS/ApplicationELB&name=RequestCount&dimension=TargetGroup=serve"
      "&stat=Sum&period=10&start=2026-12-01T12:00:10Z&end=2026-12-01T12:00:30Z");
  REQUIRE(requests["Datapoints"].size() == 2);
  CHECK(requests["Datapoints"][1]["Sum"].get<double>() == doctest::Approx(800).epsilon(0.05));
  CHECK(requests["Datapoints"][0]["Timestamp"] == "2026-12-01T12:00:10.000Z");

  struct Row {
    std::string query, field;
  };
  const Row rows[] = {
      {"name=CPUUtilization", "/namespace"},
      {"namespace=AWS/EC2", "/name"},
      {"namespace=AWS/EC2&name=CPUUtilization&stat=Median", "/stat"},
      {"namespace=AWS/EC2&name=CPUUtilization&period=0", "/period"},
      {"namespace=AWS/EC2&name=CPUUtilization&start=yesterday", "/start"},
      {"namespace=AWS/EC2&name=CPUUtilization&start=-10&end=-20", "/end"},
      {"namespace=AWS/EC2&name=CPUUtilization&dimension=InstanceId", "/dimension"},
  };
  for (const Row& row : rows) {
    CAPTURE(row.query);
    const AdminResponse r = s.call("GET", "/api/v1/metrics?" + row.query);
    CHECK(r.status == 400);
    CHECK(json::parse(r.body)["field"] == row.field);
  }
}

TEST_CASE("serve session: the per-second series keeps the retention and no more") {
  Served s(std::nullopt, serve_file(), 2min);
  s.post("/api/v1/load", {{"rps", 20}, {"duration", "1h"}});
  s.run_for(10min);
  CHECK(s.session->seconds().size() == 120);
  const double newest = s.session->seconds().back().t;
  CHECK(s.session->seconds().front().t == newest - 119);
}

TEST_CASE("serve session: the record of a session covers its seconds, workers and expectations") {
  json file = serve_file();
  file["expect"] = json::parse(R"([{ "metric": "error_rate", "max": 0.01 }])");
  Served s(std::nullopt, file);
  s.post("/api/v1/load", {{"rps", 40}, {"duration", "20s"}});
  s.run_for(25s);
  s.session->shutdown(5s);
  const RunRecord r = s.session->record();
  CHECK(r.mode == "simulated");
  CHECK(r.timeseries.size() >= 25);
  CHECK(r.requests.ok == doctest::Approx(800).epsilon(0.05));
  CHECK(r.requests.errors == 0);
  CHECK(r.workers.size() == 3);
  REQUIRE(r.expectations.size() == 1);
  CHECK(r.expectations[0].passed);
  CHECK(s.env->provider().running() == 0);
}

namespace {

// An AdminServer over a simulated session, its io_context on a thread of its own. Requests go
// over the socket while the test's thread waits, so the session is not advanced meanwhile and
// nothing touches it from two threads.
struct OverSocket {
  explicit OverSocket(AdminLimits limits = {})
      : server(io, *served.api, "127.0.0.1", 0, limits), thread([this] { io.run(); }) {}
  ~OverSocket() {
    boost::asio::post(io, [this] { server.stop(); });
    thread.join();
  }
  std::uint16_t port() const { return server.port(); }

  Served served;
  boost::asio::io_context io;
  AdminServer server;
  std::thread thread;
};

}  // namespace

TEST_CASE("admin server: out of file descriptors, accepting pauses, then recovers") {
  OverSocket s;
  const auto starved = test::accept_without_descriptors(
      s.port(), "GET /api/v1/group HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 600ms);
  REQUIRE(starved.exhausted);
  // Retrying the accept at once would keep the control thread busy: even on a shared machine a
  // busy loop gets far more than 5% of a core, and the pauses cost a few milliseconds.
  CHECK(starved.cpu < starved.wall / 20);
  CHECK(starved.response.starts_with("HTTP/1.1 200"));
}

TEST_CASE("admin server: the limits at their defaults, a header over 16 KiB is 431") {
  CHECK(AdminLimits{}.max_header_bytes == 16 * 1024);
  CHECK(AdminLimits{}.idle_timeout == 60s);
  OverSocket s;
  struct Row {
    const char* name;
    std::size_t header_bytes;
    int status;
  };
  const Row rows[] = {{"well under", 1000, 200}, {"just over", 16 * 1024, 431}};
  for (const Row& row : rows) {
    CAPTURE(std::string(row.name));
    test::EarlySocket client;
    REQUIRE(client.connect(s.port()));
    REQUIRE(client.send("GET /api/v1/group HTTP/1.1\r\nHost: a\r\nX-Pad: " +
                        std::string(row.header_bytes, 'x') + "\r\nConnection: close\r\n\r\n"));
    const std::string answer = client.read_until_closed(10000ms);
    CHECK(answer.starts_with("HTTP/1.1 " + std::to_string(row.status)));
  }
}

TEST_CASE("admin server: a connection idle past idle_timeout is closed, a busy one is not") {
  OverSocket s(AdminLimits{.idle_timeout = 300ms});
  test::EarlySocket idle;
  REQUIRE(idle.connect(s.port()));
  const auto start = std::chrono::steady_clock::now();
  CHECK(idle.read_until_closed(10000ms).empty());
  const auto waited = std::chrono::steady_clock::now() - start;
  CHECK(waited >= 250ms);
  CHECK(waited < 5s);
  // Keep-alive requests each restart the timeout: three over twice the timeout are answered.
  test::EarlySocket busy;
  REQUIRE(busy.connect(s.port()));
  for (int i = 0; i < 3; ++i) {
    REQUIRE(busy.send("GET /api/v1/group HTTP/1.1\r\nHost: a\r\n\r\n"));
    CHECK(busy.read_some(5000ms).starts_with("HTTP/1.1 200"));
    std::this_thread::sleep_for(200ms);  // the idle span under test, not synchronisation
  }
}
