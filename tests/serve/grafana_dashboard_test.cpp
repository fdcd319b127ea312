// grafana/flotilla-dashboard.json against GET /metrics: Grafana is not in Debian, so what can go
// wrong without it is checked here: every query names only families the page exposes, parses
// as PromQL (promtool), and uses the dashboard's data source variable.
#include <doctest/doctest.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "serve/metrics_page.h"
#include "serve/metrics_page_support.h"
#include "support/files.h"
#include "support/paths.h"
#include "support/promtool.h"
#include "support/subprocess.h"

using namespace flotilla;
using nlohmann::json;

namespace {

const std::filesystem::path kDashboard = test::kSource / "grafana" / "flotilla-dashboard.json";

bool ident_start(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':';
}
bool ident_char(char c) { return ident_start(c) || std::isdigit(static_cast<unsigned char>(c)); }

// Index just past the literal or bracketed span that starts at `i` (a quote, '{' or '['),
// with quoted text inside skipped whole so that a '}' in a label value does not end it.
std::size_t skip_span(std::string_view s, std::size_t i) {
  const char open = s[i];
  if (open == '"' || open == '\'' || open == '`') {
    for (++i; i < s.size() && s[i] != open; ++i)
      if (s[i] == '\\' && open != '`') ++i;
    return i + 1;
  }
  const char close = open == '{' ? '}' : ']';
  for (++i; i < s.size() && s[i] != close;) {
    if (s[i] == '"' || s[i] == '\'' || s[i] == '`') {
      i = skip_span(s, i);
    } else {
      ++i;
    }
  }
  return i + 1;
}

// The metric names a PromQL expression reads: identifiers that stand as a selector (bare, or
// followed by '{' or '['), not functions (followed by '('), aggregations, keywords, label
// names (in braces and in by/without/on/ignoring/group_left/group_right lists), numbers,
// durations, strings or Grafana's $variables.
std::vector<std::string> metric_names(std::string_view expr) {
  static const std::set<std::string, std::less<>> kKeywords = {
      "sum",    "avg",     "min",      "max",          "count", "stddev", "stdvar",
      "topk",   "bottomk", "quantile", "count_values", "group", "and",    "or",
      "unless", "bool",    "offset",   "inf",          "nan",   "atan2"};
  static const std::set<std::string, std::less<>> kLabelLists = {
      "by", "without", "on", "ignoring", "group_left", "group_right"};
  std::vector<std::string> names;
  std::size_t i = 0;
  auto next_non_space = [&](std::size_t j) {
    while (j < expr.size() && std::isspace(static_cast<unsigned char>(expr[j]))) ++j;
    return j;
  };
  while (i < expr.size()) {
    const char c = expr[i];
    if (c == '"' || c == '\'' || c == '`' || c == '{' || c == '[') {
      i = skip_span(expr, i);
    } else if (c == '$') {  // ${name} or $name
      ++i;
      if (i < expr.size() && expr[i] == '{') {
        i = expr.find('}', i) + 1;
      } else {
        while (i < expr.size() && ident_char(expr[i])) ++i;
      }
    } else if (std::isdigit(static_cast<unsigned char>(c)) || c == '.') {
      // A number, or a duration after offset (5m, 1h30m): digits, dots, letters.
      while (i < expr.size() &&
             (std::isalnum(static_cast<unsigned char>(expr[i])) || expr[i] == '.' ||
              ((expr[i] == '-' || expr[i] == '+') && (expr[i - 1] == 'e' || expr[i - 1] == 'E'))))
        ++i;
    } else if (ident_start(c)) {
      const std::size_t start = i;
      while (i < expr.size() && ident_char(expr[i])) ++i;
      const std::string_view word = expr.substr(start, i - start);
      const std::size_t after = next_non_space(i);
      const bool call = after < expr.size() && expr[after] == '(';
      if (kLabelLists.count(word) != 0) {
        if (call) i = expr.find(')', after) + 1;
      } else if (!call && kKeywords.count(word) == 0) {
        names.emplace_back(word);
      }
    } else {
      ++i;
    }
  }
  return names;
}

// Every "expr" in the document, depth first.
void collect_exprs(const json& j, std::vector<std::string>& out) {
  if (j.is_object()) {
    for (const auto& [key, value] : j.items()) {
      if (key == "expr" && value.is_string()) out.push_back(value.get<std::string>());
      collect_exprs(value, out);
    }
  } else if (j.is_array()) {
    for (const auto& value : j) collect_exprs(value, out);
  }
}

json load_dashboard() {
  INFO(kDashboard.string());
  REQUIRE(std::filesystem::exists(kDashboard));
  return json::parse(test::read_file(kDashboard));
}

}  // namespace

TEST_CASE("metric_names: the selectors of a PromQL expression, nothing else") {
  struct Row {
    const char* expr;
    std::vector<std::string> names;
  };
  const std::vector<Row> rows = {
      {"up", {"up"}},
      {"rate(foo_total[5m])", {"foo_total"}},
      {"sum by (code, source) (rate(a_total{code=~\"5..\",x='}'}[$__rate_interval]))", {"a_total"}},
      {"histogram_quantile(0.99, sum by (le) (rate(h_seconds_bucket[1m])))", {"h_seconds_bucket"}},
      {"a / ignoring(x) group_left(y, z) b", {"a", "b"}},
      {"100 * sum(x{l=\"{not_a_name}\"}) / clamp_min(sum(y), 1e-9)", {"x", "y"}},
      {"sum(rate(c_total[5m])) without (instance)", {"c_total"}},
      {"z offset 5m", {"z"}},
      {"count(up == bool 1) or vector(0)", {"up"}},
      {"max(job:rate:ratio) > min (other)", {"job:rate:ratio", "other"}},
      {"sum(${DS_PROMETHEUS}) + 2.5e+3", {}},
      {"1 + 2", {}},
  };
  for (const auto& row : rows) {
    CAPTURE(row.expr);
    CHECK(metric_names(row.expr) == row.names);
  }
}

TEST_CASE("grafana dashboard: every query names a family that GET /metrics exposes") {
  const json dashboard = load_dashboard();
  std::vector<std::string> exprs;
  collect_exprs(dashboard, exprs);
  REQUIRE(exprs.size() >= 10);

  const auto types = test::family_types(metrics_page(test::populated_input()));
  // A histogram is read through its _bucket, _sum and _count series, never bare.
  auto exposed = [&](const std::string& name) {
    const auto family = types.find(test::family_of(name, types));
    return family != types.end() && (family->first != name || family->second != "histogram");
  };

  std::set<std::string> used;
  for (const auto& expr : exprs) {
    CAPTURE(expr);
    const auto names = metric_names(expr);
    CHECK_MESSAGE(!names.empty(), "a query that reads no metric");
    for (const auto& name : names) {
      CHECK_MESSAGE(exposed(name), name << " is not on the /metrics page");
      used.insert(name);
    }
  }
  // The panels the dashboard promises: requests by code, error %, latency from the histogram,
  // capacity, healthy targets, per-target requests and the load generator's rate.
  for (const char* name :
       {"flotilla_balancer_responses_total",
        "flotilla_balancer_target_response_time_seconds_bucket", "flotilla_group_desired_capacity",
        "flotilla_group_in_service_instances", "flotilla_group_pending_instances",
        "flotilla_target_group_healthy_targets", "flotilla_target_requests_total",
        "flotilla_load_rate_rps", "flotilla_load_requests_total"})
    CHECK_MESSAGE(used.count(name) == 1, name << " is in no query");
}

TEST_CASE("grafana dashboard: queries parse as PromQL and use the ${DS_PROMETHEUS} data source") {
  const json dashboard = load_dashboard();
  CHECK(dashboard.at("schemaVersion").get<int>() >= 36);
  bool has_variable = false;
  for (const auto& v : dashboard.at("templating").at("list")) {
    if (v.at("name") == "DS_PROMETHEUS" && v.at("type") == "datasource" &&
        v.at("query") == "prometheus")
      has_variable = true;
  }
  CHECK(has_variable);
  std::set<int> ids;
  for (const auto& panel : dashboard.at("panels")) {
    CAPTURE(panel.at("title").get<std::string>());
    CHECK(ids.insert(panel.at("id").get<int>()).second);
    CHECK(panel.at("datasource").at("uid") == "${DS_PROMETHEUS}");
    for (const auto& target : panel.at("targets"))
      CHECK(target.at("datasource").at("uid") == "${DS_PROMETHEUS}");
  }

  // promtool parses rule expressions: one recording rule per query, Grafana's interval
  // variables replaced by a duration.
  std::vector<std::string> exprs;
  collect_exprs(dashboard, exprs);
  std::ostringstream rules;
  rules << "groups:\n  - name: dashboard\n    rules:\n";
  const std::regex grafana_interval(R"(\$__(rate_interval|interval|range))");
  for (std::size_t i = 0; i < exprs.size(); ++i) {
    rules << "      - record: dashboard:query_" << i
          << "\n        expr: " << json(std::regex_replace(exprs[i], grafana_interval, "1m")).dump()
          << "\n";
  }
  REQUIRE_MESSAGE(
      std::filesystem::exists(test::kPromtool),
      test::kPromtool << " is missing: install Debian's prometheus package (make test-deps)");
  const auto dir = test::fresh_temp_dir("grafana-rules");
  std::ofstream(dir / "rules.yml") << rules.str();
  const auto result = test::run_process(
      {test::kPromtool, "check", "rules", (dir / "rules.yml").string()}, std::chrono::seconds(30));
  std::filesystem::remove_all(dir);
  INFO(rules.str());
  INFO(result.out, result.err);
  CHECK(result.exit_code == 0);
  CHECK(result.out.find("SUCCESS: " + std::to_string(exprs.size()) + " rules found") !=
        std::string::npos);
}
