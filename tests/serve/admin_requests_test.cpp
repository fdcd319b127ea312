// The admin API's request parsing (admin_requests.h), without a session: every body and query
// parameter it takes, and where each mistake points.
#include <doctest/doctest.h>
#include <signal.h>

#include <string>

#include "core/errors.h"
#include "serve/admin_requests.h"

using namespace flotilla;
using nlohmann::json;

namespace {

// The pointer of the UserError `f` throws, or "ok". A mistake about the whole body points at "/"
// (AdminApi answers it as "").
template <class F>
std::string pointer_of(F&& f) {
  try {
    f();
    return "ok";
  } catch (const UserError& e) {
    return e.pointer();
  }
}

}  // namespace

TEST_CASE("Admin bodies: a JSON object, or {} for an empty one where allowed") {
  struct Row {
    const char* body;
    bool empty_ok;
    const char* pointer;  // "ok" when accepted
  };
  const Row rows[] = {
      {"{}", false, "ok"},
      {"", true, "ok"},
      {"", false, ""},
      {"[1]", false, ""},
      {"{\"a\": ", false, ""},
      {"null", true, ""},
      {" {\"a\": 1} ", false, "ok"},
  };
  for (const Row& r : rows) {
    CAPTURE(r.body);
    CHECK(pointer_of([&] { parse_request_body(r.body, r.empty_ok); }) == r.pointer);
  }
  CHECK(parse_request_body("", true) == json::object());
}

TEST_CASE("Admin bodies: group, kill, load, and the field each mistake names") {
  struct Row {
    const char* what;  // "group", "kill", "load"
    const char* body;
    const char* pointer;
  };
  const Row rows[] = {
      {"group", R"({"desired": 3})", "ok"},
      {"group", R"({})", "/"},
      {"group", R"({"desired": -1})", "/desired"},
      {"group", R"({"desired": 2.5})", "/desired"},
      {"group", R"({"max": 1000001})", "/max"},
      {"group", R"({"size": 1})", "/size"},
      {"kill", R"({})", "ok"},
      {"kill", R"({"signal": "HUP"})", "/signal"},
      {"kill", R"({"sig": "KILL"})", "/sig"},
      {"load", R"({"rps": 10})", "ok"},
      {"load", R"({"rps": 10, "duration": "0s"})", "/duration"},
      {"load", R"({"rps": -1})", "/rps"},
      {"load", R"({"rps": 1, "start_rps": 1})", "/start_rps"},
      {"load", R"({"rps": 1, "stop": true})", "/"},
      {"load", R"({"stop": false})", "/stop"},
      {"load", R"({"stop": true})", "ok"},
      {"load", R"({"stages": [{"duration": "0s", "target": 5}]})", "/stages"},
      {"load", R"({"stages": [{"duration": "10s", "target": 5}], "duration": "1s"})", "/duration"},
      {"load", R"({"stages": [{"duration": "25h", "target": 5}]})", "/stages/0/duration"},
  };
  for (const Row& r : rows) {
    CAPTURE(r.what);
    CAPTURE(r.body);
    const json body = json::parse(r.body);
    const std::string what = r.what;
    CHECK(pointer_of([&] {
            if (what == "group") parse_capacity_change(body);
            if (what == "kill") parse_kill_signal(body);
            if (what == "load") parse_load_request(body);
          }) == r.pointer);
  }
  CHECK(parse_capacity_change(json::parse(R"({"min": 1, "max": 4})")) ==
        CapacityChange{std::nullopt, 1, 4});
  CHECK(parse_kill_signal(json::object()) == SIGKILL);
  CHECK(parse_kill_signal(json::parse(R"({"signal": "STOP"})")) == SIGSTOP);
  CHECK(!parse_load_request(json::parse(R"({"stop": true})")));
  const auto load = parse_load_request(json::parse(R"({"rps": 10, "duration": "30s"})"));
  REQUIRE(load);
  CHECK(load->duration() == std::chrono::seconds(30));
  CHECK(load->rate_at(std::chrono::seconds(10)) == 10);
}

TEST_CASE("Admin faults: a scenario fault starting now, or at its \"at\"") {
  CHECK(pointer_of([] { parse_fault_request(json::parse(R"({"kill": {"count": 1}})"), {}); }) ==
        "ok");
  CHECK(parse_fault_request(json::parse(R"({"kill": {"count": 1}})"), {}).at == Duration::zero());
  CHECK(pointer_of([] {
          parse_fault_request(json::parse(R"({"for": "1m", "zone_outage": {"zone": "c"}})"),
                              {"a", "b"});
        }) == "/zone_outage/zone");
}

TEST_CASE("Admin queries: decoding, and the metrics query's parameters") {
  CHECK(parse_query("a=1&&b=x%20y+z&c&=v&d=%zz") ==
        QueryParameters{{"a", "1"}, {"b", "x y z"}, {"c", ""}, {"", "v"}, {"d", "%zz"}});
  CHECK(cookie_value("a=1; flotilla_token = T ;b=2", "flotilla_token") == "T");
  CHECK(!cookie_value("a=1", "flotilla_token"));

  struct Row {
    const char* query;
    const char* pointer;
  };
  const Row rows[] = {
      {"namespace=AWS/EC2&name=CPUUtilization", "ok"},
      {"name=CPUUtilization", "/namespace"},
      {"namespace=AWS/EC2&name=", "/name"},
      {"namespace=N&name=M&dimension=K", "/dimension"},
      {"namespace=N&name=M&dimension==V", "/dimension"},
      {"namespace=N&name=M&stat=p101", "/stat"},
      {"namespace=N&name=M&period=0", "/period"},
      {"namespace=N&name=M&period=86401", "/period"},
      // Positive but below a nanosecond: it would round to a period of 0 and divide by it.
      {"namespace=N&name=M&period=1e-12", "/period"},
      {"namespace=N&name=M&start=-300&end=2026-12-01T15:40:00Z", "ok"},
      {"namespace=N&name=M&start=yesterday", "/start"},
      // Seconds beyond what a Duration holds once added to now.
      {"namespace=N&name=M&end=1e300", "/end"},
      {"namespace=N&name=M&start=-1e10", "/start"},
  };
  for (const Row& r : rows) {
    CAPTURE(r.query);
    CHECK(pointer_of([&] { parse_metrics_query(parse_query(r.query)); }) == r.pointer);
  }
  const MetricsQuery q = parse_metrics_query(
      parse_query("namespace=AWS/EC2&name=CPUUtilization&dimension=InstanceId=w-1&stat=p99&"
                  "period=60&start=-300&end=2026-12-01T15:40:00Z"));
  CHECK(q.dimensions == std::vector<std::pair<std::string, std::string>>{{"InstanceId", "w-1"}});
  CHECK(q.period == std::chrono::seconds(60));
  REQUIRE(q.start);
  CHECK(q.start->relative_s == -300);
  REQUIRE(q.end);
  CHECK(q.end->since_epoch.has_value());

  CHECK(!parse_series_since({}));
  CHECK(parse_series_since(parse_query("since=2.5")) == 2.5);
  CHECK(pointer_of([] { parse_series_since(parse_query("since=soon")); }) == "/since");
}
