#include "serve/metrics_page.h"

#include <doctest/doctest.h>

#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "serve/metrics_page_support.h"
#include "support/promtool.h"

using namespace flotilla;
using flotilla::test::family_of;
using flotilla::test::family_types;
using flotilla::test::populated_input;
using flotilla::test::promtool_check_metrics;

namespace {

// The page's samples, "name{labels}" as written -> value as written.
std::map<std::string, std::string> samples(const std::string& page) {
  std::map<std::string, std::string> out;
  std::istringstream in(page);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const auto space = line.rfind(' ');
    REQUIRE(space != std::string::npos);
    const bool inserted = out.emplace(line.substr(0, space), line.substr(space + 1)).second;
    CHECK_MESSAGE(inserted, "a series twice: " << line);
  }
  return out;
}

}  // namespace

TEST_CASE("metrics_page: each value lands in its series") {
  const auto page = metrics_page(populated_input());
  const auto got = samples(page);
  struct Row {
    const char* series;
    const char* value;
  };
  const Row rows[] = {
      {"flotilla_group_desired_capacity{group=\"web\"}", "5"},
      {"flotilla_group_min_size{group=\"web\"}", "1"},
      {"flotilla_group_max_size{group=\"web\"}", "6"},
      {"flotilla_group_in_service_instances{group=\"web\"}", "2"},
      {"flotilla_group_pending_instances{group=\"web\"}", "1"},
      {"flotilla_group_terminating_instances{group=\"web\"}", "2"},  // draining + terminating
      {"flotilla_group_total_instances{group=\"web\"}", "5"},
      {"flotilla_target_group_healthy_targets{target_group=\"web-targets\"}", "2"},  // w-4 ejected
      {"flotilla_target_group_unhealthy_targets{target_group=\"web-targets\"}", "1"},
      {"flotilla_target_healthy{target_group=\"web-targets\",target=\"w-1\"}", "1"},
      {"flotilla_target_healthy{target_group=\"web-targets\",target=\"w-2\"}", "0"},
      {"flotilla_target_healthy{target_group=\"web-targets\",target=\"w-3\"}", "0"},
      {"flotilla_target_healthy{target_group=\"web-targets\",target=\"w-4\"}", "1"},
      {"flotilla_target_healthy{target_group=\"web-targets\",target=\"w-9\"}", "0"},
      {"flotilla_target_ejected{target_group=\"web-targets\",target=\"w-4\"}", "1"},
      {"flotilla_target_ejected{target_group=\"web-targets\",target=\"w-1\"}", "0"},
      {"flotilla_target_state{target_group=\"web-targets\",target=\"w-2\",state=\"unhealthy\"}",
       "1"},
      {"flotilla_target_state{target_group=\"web-targets\",target=\"w-2\",state=\"healthy\"}", "0"},
      {"flotilla_target_state{target_group=\"web-targets\",target=\"w-3\",state=\"draining\"}",
       "1"},
      {"flotilla_target_info{target_group=\"web-targets\",target=\"w-2\",endpoint=\"127.0.0.1:"
       "4002\"}",
       "1"},
      {"flotilla_target_requests_total{target_group=\"web-targets\",target=\"w-1\"}", "100"},
      {"flotilla_target_requests_total{target_group=\"web-targets\",target=\"w-2\"}", "10"},
      {"flotilla_target_requests_total{target_group=\"web-targets\",target=\"w-3\"}", "0"},
      {"flotilla_target_requests_total{target_group=\"web-targets\",target=\"w-9\"}", "7"},
      {"flotilla_target_in_flight{target_group=\"web-targets\",target=\"w-1\"}", "2"},
      {"flotilla_target_in_flight{target_group=\"web-targets\",target=\"w-9\"}", "1"},
      {"flotilla_target_responses_total{target_group=\"web-targets\",target=\"w-1\",code=\"2xx\"}",
       "95"},
      {"flotilla_target_responses_total{target_group=\"web-targets\",target=\"w-1\",code=\"5xx\"}",
       "5"},
      {"flotilla_target_responses_total{target_group=\"web-targets\",target=\"w-9\",code=\"2xx\"}",
       "6"},
      {"flotilla_target_errors_total{target_group=\"web-targets\",target=\"w-2\"}", "3"},
      {"flotilla_target_connection_errors_total{target_group=\"web-targets\",target=\"w-2\"}", "2"},
      {"flotilla_balancer_requests_total", "130"},
      {"flotilla_balancer_responses_total{code=\"2xx\",source=\"target\"}", "100"},
      {"flotilla_balancer_responses_total{code=\"2xx\",source=\"balancer\"}", "4"},
      {"flotilla_balancer_responses_total{code=\"3xx\",source=\"target\"}", "1"},
      {"flotilla_balancer_responses_total{code=\"4xx\",source=\"target\"}", "2"},
      {"flotilla_balancer_responses_total{code=\"4xx\",source=\"balancer\"}", "1"},
      {"flotilla_balancer_responses_total{code=\"5xx\",source=\"target\"}", "5"},
      {"flotilla_balancer_responses_total{code=\"5xx\",source=\"balancer\"}", "3"},
      {"flotilla_balancer_error_responses_total{code=\"400\"}", "1"},
      {"flotilla_balancer_error_responses_total{code=\"502\"}", "1"},
      {"flotilla_balancer_error_responses_total{code=\"503\"}", "2"},
      {"flotilla_balancer_error_responses_total{code=\"504\"}", "0"},
      {"flotilla_balancer_retries_total", "4"},
      {"flotilla_balancer_retry_budget_exhausted_total", "1"},
      {"flotilla_balancer_target_connection_errors_total", "2"},
      {"flotilla_balancer_active_connections", "6"},
      {"flotilla_balancer_new_connections_total", "9"},
      {"flotilla_balancer_accept_pauses_total", "3"},
      {"flotilla_balancer_target_response_time_seconds_bucket{le=\"0.001\"}", "0"},
      {"flotilla_balancer_target_response_time_seconds_bucket{le=\"0.0025\"}", "1"},
      {"flotilla_balancer_target_response_time_seconds_bucket{le=\"0.025\"}", "2"},
      {"flotilla_balancer_target_response_time_seconds_bucket{le=\"0.25\"}", "3"},
      {"flotilla_balancer_target_response_time_seconds_bucket{le=\"+Inf\"}", "3"},
      {"flotilla_balancer_target_response_time_seconds_count", "3"},
      {"flotilla_balancer_target_response_time_seconds_sum", "0.222"},
      {"flotilla_load_requests_total{outcome=\"ok\"}", "90"},
      {"flotilla_load_requests_total{outcome=\"error\"}", "10"},
      {"flotilla_load_errors_total{kind=\"http_5xx\"}", "6"},
      {"flotilla_load_errors_total{kind=\"connect_error\"}", "4"},
      {"flotilla_load_errors_total{kind=\"timeout\"}", "0"},
      {"flotilla_load_in_flight_requests", "3"},
      {"flotilla_load_running", "1"},
      {"flotilla_load_rate_rps", "50"},
      {"flotilla_load_response_time_seconds_bucket{le=\"0.0025\"}", "0"},
      {"flotilla_load_response_time_seconds_bucket{le=\"0.005\"}", "90"},
      {"flotilla_load_response_time_seconds_count", "90"},
      {"flotilla_scaling_activities_total", "7"},
      {"process_start_time_seconds", "1800000000.25"},
  };
  for (const auto& row : rows) {
    CAPTURE(row.series);
    const auto it = got.find(row.series);
    REQUIRE_MESSAGE(it != got.end(), "missing from the page:\n" << page);
    const std::string want = row.value;
    if (want.find_first_of(".e") == std::string::npos) {
      CHECK(it->second == want);
    } else {  // a fraction: as near as a double sum gets
      CHECK(std::stod(it->second) == doctest::Approx(std::stod(want)).epsilon(1e-12));
    }
  }
  // A removed target has traffic series but no state: the target group no longer knows it.
  CHECK(page.find("target=\"w-9\",state=") == std::string::npos);
  CHECK(page.find("target=\"w-9\",endpoint=") == std::string::npos);
}

TEST_CASE("metrics_page: every family once, whole, typed and described, promtool finds nothing") {
  for (const bool populated : {true, false}) {
    CAPTURE(populated);
    const auto page = metrics_page(populated ? populated_input() : MetricsPageInput{});
    const auto types = family_types(page);
    // Samples follow their own # TYPE line, so no family is split.
    std::string current;
    std::istringstream again(page);
    for (std::string line; std::getline(again, line);) {
      if (line.rfind("# TYPE ", 0) == 0) {
        current = line.substr(7, line.find(' ', 7) - 7);
      } else if (!line.empty() && line[0] != '#') {
        const std::string name = line.substr(0, line.find_first_of("{ "));
        CHECK_MESSAGE(family_of(name, types) == current, "out of its family: " << line);
      }
    }
    for (const char* name :
         {"flotilla_group_desired_capacity", "flotilla_group_in_service_instances",
          "flotilla_balancer_requests_total", "flotilla_load_requests_total",
          "flotilla_load_rate_rps", "flotilla_scaling_activities_total"})
      CHECK_MESSAGE(types.count(name) == 1, name);

    const auto lint = promtool_check_metrics(page);
    INFO(page);
    INFO(lint.out, lint.err);
    CHECK(lint.exit_code == 0);
    CHECK(lint.out.empty());
    CHECK(lint.err.empty());
  }
}

TEST_CASE("metrics_page: without a load generator its series read zero and not running") {
  MetricsPageInput in = populated_input();
  in.load.reset();
  in.load_rate_rps.reset();
  const auto got = samples(metrics_page(in));
  for (const char* series :
       {"flotilla_load_requests_total{outcome=\"ok\"}",
        "flotilla_load_requests_total{outcome=\"error\"}", "flotilla_load_running",
        "flotilla_load_rate_rps", "flotilla_load_in_flight_requests",
        "flotilla_load_response_time_seconds_count"}) {
    CAPTURE(series);
    REQUIRE(got.count(series) == 1);
    CHECK(got.at(series) == "0");
  }
}
