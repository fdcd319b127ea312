#include <doctest/doctest.h>

#include <functional>
#include <string>
#include <vector>

#include "balancer/target_group_config.h"
#include "core/errors.h"

using namespace flotilla;

namespace {

TargetGroupConfig parse(const std::string& text) {
  const auto doc = nlohmann::json::parse(text);
  return parse_target_group_config(ConfigNode(doc, "g.json", "/target_groups/0"),
                                   {"name", "targets"});
}

std::string error_of(const std::string& text) {
  try {
    parse(text);
  } catch (const UserError& e) {
    return e.what();
  }
  return "<no error>";
}

}  // namespace

TEST_CASE("parse_target_group_config: every field, ALB and Envoy spellings") {
  const auto c = parse(R"({
    "name": "web", "targets": [],
    "health_check": {"path": "/ready", "interval": "2s", "timeout": "1500ms",
                     "healthy_threshold": 3, "unhealthy_threshold": 4, "matcher": "200-299"},
    "deregistration_delay": "20s", "slow_start": "30s", "fail_open": false,
    "outlier_detection": {"consecutive_5xx": 7, "interval": "5s", "base_ejection_time": "10s",
                          "max_ejection_time": "2m", "max_ejection_percent": 50,
                          "always_eject_one_host": false}})");
  CHECK(c.health_check.path == "/ready");
  CHECK(c.health_check.interval == 2s);
  CHECK(c.health_check.timeout == 1500ms);
  CHECK(c.health_check.healthy_threshold == 3);
  CHECK(c.health_check.unhealthy_threshold == 4);
  CHECK(c.health_check.matcher.to_string() == "200-299");
  CHECK(c.deregistration_delay == 20s);
  CHECK(c.slow_start == 30s);
  CHECK_FALSE(c.fail_open);
  CHECK(c.outlier_detection.consecutive_5xx == 7);
  CHECK(c.outlier_detection.interval == 5s);
  CHECK(c.outlier_detection.base_ejection_time == 10s);
  CHECK(c.outlier_detection.max_ejection_time == 120s);
  CHECK(c.outlier_detection.max_ejection_percent == 50);
  CHECK_FALSE(c.outlier_detection.always_eject_one_host);
}

TEST_CASE("parse_target_group_config: missing fields keep the defaults passed in") {
  const TargetGroupConfig defaults;
  const auto c = parse(R"({"name": "web"})");
  CHECK(c.health_check == defaults.health_check);
  CHECK(c.deregistration_delay == 5s);
  CHECK(c.slow_start == 0s);
  CHECK(c.fail_open);
  CHECK(c.outlier_detection == defaults.outlier_detection);

  // Partial objects change only what they name; the caller's defaults (path "/") survive.
  const auto doc = nlohmann::json::parse(R"({"interval": "3s", "matcher": {"http_code": "204"}})");
  const auto base =
      parse_health_check(ConfigNode(nlohmann::json::parse(R"({"path": "/"})"), "defaults.json"));
  const auto h = parse_health_check(ConfigNode(doc, "g.json"), base);
  CHECK(h.path == "/");
  CHECK(h.interval == 3s);
  CHECK(h.timeout == 500ms);
  CHECK(h.matcher.to_string() == "204");
}

TEST_CASE("parse_target_group_config: mistakes name the field and what was expected") {
  struct Row {
    const char* text;
    const char* expected;  // the start of the message
  };
  const std::vector<Row> rows = {
      {R"({"name": "w", "colour": 1})",
       "g.json: /target_groups/0/colour: expected one of the known fields (name, targets, "
       "health_check, deregistration_delay, slow_start, fail_open, outlier_detection)"},
      {R"({"health_check": {"path": "health"}})",
       "g.json: /target_groups/0/health_check/path: expected a path starting with \"/\""},
      {R"({"health_check": {"interval": "5ms"}})",
       "g.json: /target_groups/0/health_check/interval: expected a duration"},
      {R"({"health_check": {"timeout": "2s"}})",
       "g.json: /target_groups/0/health_check/timeout: expected a timeout shorter than the "
       "interval (1s)"},
      {R"({"health_check": {"interval": "400ms"}})",
       "g.json: /target_groups/0/health_check/timeout: expected a timeout shorter than the "
       "interval (400ms)"},
      {R"({"health_check": {"healthy_threshold": 11}})",
       "g.json: /target_groups/0/health_check/healthy_threshold: expected a whole number between "
       "1 and 10"},
      {R"({"health_check": {"unhealthy_threshold": 0}})",
       "g.json: /target_groups/0/health_check/unhealthy_threshold: expected a whole number"},
      {R"({"health_check": {"matcher": "200-600"}})",
       "g.json: /target_groups/0/health_check/matcher: expected status codes from 200 to 499"},
      {R"({"health_check": {"matcher": 200}})",
       "g.json: /target_groups/0/health_check/matcher: expected status codes"},
      {R"({"health_check": {"matcher": {"grpc_code": "0"}}})",
       "g.json: /target_groups/0/health_check/matcher/grpc_code: expected one of the known "
       "fields (http_code)"},
      {R"({"health_check": {"matcher": {"http_code": "x"}}})",
       "g.json: /target_groups/0/health_check/matcher/http_code: expected status codes"},
      {R"({"health_check": {"port": 80}})",
       "g.json: /target_groups/0/health_check/port: expected one of the known fields"},
      {R"({"deregistration_delay": "-1s"})",
       "g.json: /target_groups/0/deregistration_delay: expected a duration"},
      {R"({"slow_start": "20m"})", "g.json: /target_groups/0/slow_start: expected a duration"},
      {R"({"fail_open": "yes"})", "g.json: /target_groups/0/fail_open: expected true or false"},
      {R"({"outlier_detection": {"max_ejection_percent": 101}})",
       "g.json: /target_groups/0/outlier_detection/max_ejection_percent: expected a whole number "
       "between 0 and 100"},
      {R"({"outlier_detection": {"consecutive_gateway_failure": 5}})",
       "g.json: /target_groups/0/outlier_detection/consecutive_gateway_failure: expected one of "
       "the known fields"},
      {R"({"outlier_detection": {"base_ejection_time": "0s"}})",
       "g.json: /target_groups/0/outlier_detection/base_ejection_time: expected a duration"},
      {R"([1])", "g.json: /target_groups/0: expected an object"},
  };
  for (const auto& row : rows) {
    CAPTURE(std::string(row.text));
    const std::string got = error_of(row.text);
    CAPTURE(got);
    CHECK(got.rfind(row.expected, 0) == 0);
  }
}
