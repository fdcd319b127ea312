// report.html and compare.html as a person sees them: loaded in a real browser (Debian's
// chromium, headless), whose DOM after the scripts ran must hold a drawn line in every chart, a
// marker for every fault, alarm state change and scaling activity, and one table row per
// expectation; a screenshot is left in the test's temp folder for a person to look at. Also
// `flotilla report DIR` as a user runs it. The runs are `flotilla run --sim`: seconds, no process.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <vector>

#include "support/files.h"
#include "support/page_data.h"
#include "support/paths.h"
#include "support/subprocess.h"

using namespace flotilla::test;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

const std::string kChromium = "/usr/bin/chromium";

// Chromium in a fresh profile, headless, with nothing of its own going to the network.
ProcessResult chromium(const fs::path& scratch, const std::vector<std::string>& args) {
  REQUIRE_MESSAGE(fs::exists(kChromium),
                  "the browser test needs Debian's chromium (make test installs it)");
  const fs::path profile = scratch / "chromium-profile";
  fs::remove_all(profile);
  std::vector<std::string> argv = {kChromium,
                                   "--headless",
                                   "--no-sandbox",
                                   "--disable-gpu",
                                   "--disable-background-networking",
                                   "--disable-component-update",
                                   "--disable-sync",
                                   "--no-first-run",
                                   "--hide-scrollbars",
                                   "--user-data-dir=" + profile.string()};
  argv.insert(argv.end(), args.begin(), args.end());
  ProcessResult result = run_process(argv, 90s);
  fs::remove_all(profile);
  return result;
}

// The DOM of `page` after its scripts ran.
std::string rendered_dom(const fs::path& scratch, const fs::path& page) {
  const auto r = chromium(scratch, {"--dump-dom", "file://" + page.string()});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  return r.out;
}

// A full-page picture (the window as tall as `height`), checked to be a PNG.
void screenshot(const fs::path& scratch, const fs::path& page, const fs::path& png, int height) {
  const auto r = chromium(scratch, {"--window-size=1280," + std::to_string(height),
                                    "--screenshot=" + png.string(), "file://" + page.string()});
  CHECK_MESSAGE(r.exit_code == 0, r.err);
  const std::string bytes = read_file(png);
  CHECK(bytes.size() > 20000);
  CHECK(bytes.rfind("\x89PNG", 0) == 0);
  MESSAGE("screenshot: " << png.string());
}

// The element whose start tag has id="ID", up to its end tag (charts and tables hold no element
// of their own tag).
std::string element_by_id(const std::string& dom, const std::string& tag, const std::string& id) {
  const auto at = dom.find("id=\"" + id + "\"");
  if (at == std::string::npos) return {};
  const auto begin = dom.rfind("<" + tag, at);
  const auto end = dom.find("</" + tag + ">", at);
  if (begin == std::string::npos || end == std::string::npos) return {};
  return dom.substr(begin, end - begin);
}

// Each drawn series of an SVG element: its data-series and the points its path goes through
// (each M, L or V command is one; a step's H V pair is one).
std::map<std::string, int> series_points(const std::string& svg) {
  std::map<std::string, int> out;
  static const std::regex path(R"(<path class="series"[^>]*>)");
  static const std::regex name(R"re( data-series="([^"]*)")re");
  static const std::regex d(R"re( d="([^"]*)")re");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), path); it != std::sregex_iterator();
       ++it) {
    const std::string tag = it->str();
    std::smatch n, p;
    if (!std::regex_search(tag, n, name) || !std::regex_search(tag, p, d)) continue;
    int points = 0;
    for (char c : p[1].str()) points += c == 'M' || c == 'L' || c == 'V';
    out[n[1].str()] = points;
  }
  return out;
}

int count(const std::string& text, const std::string& what) {
  int n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// Rows in the <tbody> of the table with this id; -1 when there is no such table.
int table_rows(const std::string& dom, const std::string& id) {
  const std::string table = element_by_id(dom, "table", id);
  if (table.empty()) return -1;
  const auto begin = table.find("<tbody>");
  const auto end = table.find("</tbody>");
  if (begin == std::string::npos || end == std::string::npos) return -1;
  return count(table.substr(begin, end - begin), "<tr");
}

std::map<std::string, int> markers_by_kind(const std::string& dom) {
  std::map<std::string, int> out;
  static const std::regex marker(R"re(<path class="marker" data-kind="([a-z_]+)")re");
  for (auto it = std::sregex_iterator(dom.begin(), dom.end(), marker); it != std::sregex_iterator();
       ++it)
    ++out[(*it)[1].str()];
  return out;
}

// A scenario with all three kinds of marker: target tracking scales out, a step policy's alarm
// changes state and scales in, and a worker is killed; its traffic is a mix of three requests.
fs::path marker_scenario(const fs::path& dir) {
  auto s = nlohmann::json::parse(read_file(kSource / "scenarios/tracking-and-step.json"));
  s["name"] = "report-page";
  s["fleet"]["profile"] = (kSource / s["fleet"]["profile"].get<std::string>()).string();
  for (auto& p : s["policies"]) p = (kSource / p.get<std::string>()).string();
  s["faults"] = nlohmann::json::parse(R"([{"at": "30s", "kill": {"count": 1}}])");
  s["traffic"].erase("path");
  s["traffic"]["requests"] = nlohmann::json::parse(R"([{"path": "/api/items", "weight": 6},
      {"path": "/api/orders", "method": "POST", "weight": 3, "body_bytes": 512},
      {"path": "/static/app.js", "weight": 1}])");
  const fs::path file = dir / "report-page.json";
  std::ofstream(file) << s.dump(2);
  return file;
}

fs::path run_sim(const fs::path& scenario, const fs::path& out) {
  const auto r = run_process(
      {kFlotilla, "run", scenario.string(), "--sim", "--quiet", "--out", out.string()}, 60s);
  INFO(r.out, r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find((out / "report.html").string()) != std::string::npos);
  return out;
}

}  // namespace

TEST_CASE(
    "report.html in Chromium: every chart drew its data, a marker per fault, alarm change "
    "and activity shows its cause, a row per expectation") {
  const auto dir = fresh_temp_dir("report-page");
  const fs::path run = run_sim(marker_scenario(dir), dir / "run");
  const fs::path page = run / "report.html";
  const auto report = nlohmann::json::parse(read_file(run / "report.json"));
  const std::string dom = rendered_dom(dir, page);
  INFO("the page: " << page.string());
  REQUIRE(dom.find("data-drawn=\"run\"") != std::string::npos);
  CHECK(dom.find("data-error=\"") == std::string::npos);

  const std::map<std::string, std::vector<std::string>> charts = {
      {"chart-requests", {"offered_rps", "ok"}},
      {"chart-latency", {"p50_ms", "p99_ms"}},
      {"chart-errors", {"errors"}},
      {"chart-capacity", {"desired", "in_service", "pending"}},
      {"chart-cpu", {"cpu_avg"}},
  };
  for (const auto& [id, keys] : charts) {
    CAPTURE(id);
    const std::string svg = element_by_id(dom, "svg", id);
    REQUIRE(!svg.empty());
    const auto drawn = series_points(svg);
    for (const auto& key : keys) {
      CAPTURE(key);
      REQUIRE(drawn.count(key) == 1);
      CHECK(drawn.at(key) >= 2);
    }
  }
  // Drawn from the data: the requests line has a point per second the run kept (90 or so).
  CHECK(series_points(element_by_id(dom, "svg", "chart-requests")).at("ok") >=
        static_cast<int>(report["duration_s"].get<double>()));

  CHECK(table_rows(dom, "expectations") == static_cast<int>(report["expectations"].size()));
  CHECK(report["expectations"].size() == 5);
  // The SLO's latency is a line on the latency chart.
  REQUIRE(report.contains("slo"));
  CHECK(count(element_by_id(dom, "svg", "chart-latency"), "class=\"hline\"") == 1);
  CHECK(dom.find("SLO " + std::to_string(report["slo"]["latency_ms"].get<int>()) + " ms") !=
        std::string::npos);

  const double end = report["duration_s"].get<double>();
  int faults = 0, transitions = 0, scale_outs = 0, scale_ins = 0;
  for (const auto& e : report["events"])
    faults += e["kind"] == "fault" && e["t"].get<double>() >= 0 && e["t"].get<double>() <= end;
  for (const auto& a : report["alarms"])
    for (const auto& t : a["transitions"])
      transitions += t["t"].get<double>() >= 0 && t["t"].get<double>() <= end;
  for (const auto& a : report["activities"]) {
    if (a["t"].get<double>() < 0 || a["t"].get<double>() > end || a["status"] == "Failed") continue;
    scale_outs += a["to"].get<int>() > a["from"].get<int>();
    scale_ins += a["to"].get<int>() < a["from"].get<int>();
  }
  CHECK(faults == 1);
  CHECK(transitions >= 2);
  CHECK(scale_outs >= 1);
  CHECK(scale_ins >= 1);
  const auto markers = markers_by_kind(element_by_id(dom, "svg", "timeline"));
  CHECK(markers.count("fault") == 1);
  CHECK(markers.at("fault") == faults);
  CHECK(markers.at("alarm") == transitions);
  CHECK(markers.at("scale_out") == scale_outs);
  CHECK(markers.at("scale_in") == scale_ins);
  CHECK(markers.at("replacement") >= 1);  // the killed worker's
  // Each marker carries its cause for the tooltip.
  for (const auto& e : report["events"])
    if (e["kind"] == "fault")
      CHECK(dom.find("data-tip=\"fault: " + e["detail"].get<std::string>() + "\"") !=
            std::string::npos);
  CHECK(dom.find("data-tip=\"alarm step-cpu-low: ") != std::string::npos);

  CHECK(table_rows(dom, "activities") == static_cast<int>(report["activities"].size()));
  CHECK(table_rows(dom, "recovery") == static_cast<int>(report["recovery"].size()));
  CHECK(report["recovery"].size() == 1);
  CHECK(table_rows(dom, "decisions") == static_cast<int>(report["decisions"].size()));
  CHECK(table_rows(dom, "alarms") == static_cast<int>(report["alarms"][0]["transitions"].size()));
  // A row per entry of the mix, and per worker launched: the initial ones, the scale-out's, the
  // killed one's replacement.
  CHECK(report["paths"].size() == 3);
  CHECK(table_rows(dom, "paths") == static_cast<int>(report["paths"].size()));
  CHECK(report["workers"].size() >= 4);
  CHECK(table_rows(dom, "workers") == static_cast<int>(report["workers"].size()));
  CHECK(dom.find("POST") != std::string::npos);
  CHECK(dom.find("signal 9 (SIGKILL)") != std::string::npos);

  // Tall enough for the tables at the end (paths, workers) to show.
  screenshot(dir, page, dir / "report.png", 3800);

  // Hovering the fault's marker shows its cause: the same page with a script that moves the
  // mouse onto the marker.
  const fs::path hover = dir / "hover.html";
  std::string html = read_file(page);
  const std::string mouse = R"(<script>
    const m = document.querySelector('#timeline .marker[data-kind="fault"]').getBoundingClientRect();
    document.getElementById('timeline').dispatchEvent(new MouseEvent('mousemove',
        {clientX: m.x + m.width / 2, clientY: m.y + m.height / 2, bubbles: true}));
  </script></body>)";
  html.replace(html.rfind("</body>"), 7, mouse);
  std::ofstream(hover) << html;
  const std::string hovered = rendered_dom(dir, hover);
  // The tooltip holds elements of its own tag: it reaches to the page's scripts after it.
  const auto from = hovered.find("<div id=\"tooltip\"");
  REQUIRE(from != std::string::npos);
  const std::string tooltip = hovered.substr(from, hovered.find("<script", from) - from);
  CHECK(tooltip.find("hidden") == std::string::npos);
  for (const auto& e : report["events"])
    if (e["kind"] == "fault")
      CHECK(tooltip.find(e["detail"].get<std::string>()) != std::string::npos);
}

TEST_CASE(
    "compare.html in Chromium: a point per policy, the frontier, and each policy's "
    "capacity over the same traffic") {
  const auto dir = fresh_temp_dir("compare-page");
  const fs::path out = dir / "compare";
  const auto r = run_process(
      {kFlotilla, "compare", (kSource / "scenarios/flash-sale.json").string(), "--sim", "--policy",
       (kSource / "policies/cpu-target-50.json").string(), "--policy",
       (kSource / "policies/step-cpu.json").string(), "--policy",
       (kSource / "policies/cpu-target-70-aws-defaults.json").string(), "--out", out.string()},
      120s);
  INFO(r.out, r.err);
  REQUIRE(r.exit_code == 0);
  const fs::path page = out / "compare.html";
  const auto comparison = nlohmann::json::parse(read_file(out / "compare.json"));
  const std::string dom = rendered_dom(dir, page);
  REQUIRE(dom.find("data-drawn=\"compare\"") != std::string::npos);
  CHECK(dom.find("data-error=\"") == std::string::npos);

  const std::string frontier = element_by_id(dom, "svg", "chart-frontier");
  REQUIRE(!frontier.empty());
  CHECK(count(frontier, "class=\"point\"") == 3);
  int on_frontier = 0;
  for (const auto& p : comparison["policies"]) on_frontier += p["on_frontier"].get<bool>();
  CHECK(on_frontier >= 1);
  // The frontier's line goes through every frontier point (and the corners between them).
  CHECK(series_points(frontier).at("frontier") == 2 * on_frontier - 1);

  const auto capacity = series_points(element_by_id(dom, "svg", "chart-capacity"));
  for (const char* policy : {"cpu-target-50", "step-cpu", "cpu-target-70-aws-defaults"}) {
    CAPTURE(policy);
    REQUIRE(capacity.count(policy) == 1);
    CHECK(capacity.at(policy) >= 2);
  }
  CHECK(series_points(element_by_id(dom, "svg", "chart-traffic")).at("offered_rps") >= 2);
  CHECK(table_rows(dom, "comparison") == 3);
  // Each run's own page is there too.
  for (const char* policy : {"cpu-target-50", "step-cpu", "cpu-target-70-aws-defaults"})
    CHECK(fs::exists(out / policy / "report.html"));

  screenshot(dir, page, dir / "compare.png", 1400);
}

TEST_CASE("report DIR: rebuilds report.html from report.json and timeseries.csv") {
  const auto dir = fresh_temp_dir("report-command");
  const fs::path run = run_sim(kSource / "scenarios/flash-sale.json", dir / "run");
  fs::remove(run / "report.html");
  const auto r = run_process({kFlotilla, "report", run.string()}, 30s);
  INFO(r.out, r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out == "report: " + (run / "report.html").string() + "\n");
  const auto data = page_data(read_file(run / "report.html"));
  CHECK(data["report"] == nlohmann::json::parse(read_file(run / "report.json")));
  CHECK(data["seconds"] == 90);
  CHECK(data["series"]["ok"].size() == 90);

  // The SLO, when report.json has it, is a line on the latency chart.
  auto report = nlohmann::json::parse(read_file(run / "report.json"));
  report["slo"] = {{"latency_ms", 250}, {"error_rate", 0.01}};
  std::ofstream(run / "report.json") << report.dump();
  REQUIRE(run_process({kFlotilla, "report", run.string()}, 30s).exit_code == 0);
  const std::string latency =
      element_by_id(rendered_dom(dir, run / "report.html"), "svg", "chart-latency");
  CHECK(count(latency, "class=\"hline\"") == 1);
  CHECK(series_points(latency).at("p99_ms") >= 2);
  fs::remove_all(dir);
}

TEST_CASE("report DIR: a missing or malformed input is exit 2 naming the file and the mistake") {
  const auto dir = fresh_temp_dir("report-command-errors");
  const fs::path good = run_sim(kSource / "scenarios/steady.json", dir / "good");
  const std::string csv = read_file(good / "timeseries.csv");
  const std::string json = read_file(good / "report.json");
  struct Row {
    const char* name;
    const char* report;  // nullptr: no report.json
    const char* series;  // nullptr: no timeseries.csv
    const char* file;    // the file the message names
    const char* says;
  };
  const std::vector<Row> rows = {
      {"no report.json", nullptr, "good", "report.json", "an existing file (not found)"},
      {"report.json not JSON", "{\"scenario\": ", "good", "report.json", "valid JSON"},
      {"a field of the wrong type", R"({"scenario": 7, "duration_s": 1, "expectations": []})",
       "good", "report.json", "/scenario: expected a string, got 7"},
      {"no timeseries.csv", "good", nullptr, "timeseries.csv", "an existing file (not found)"},
      {"a bad row", "good",
       "t,offered_rps,ok,errors,p50_ms,p99_ms,in_service,pending,desired,"
       "cpu_avg\n0,1,1,0,1,1,2,0,2,5\n1,1,one,0,1,1,2,0,2,5\n",
       "timeseries.csv", "line 3: expected ok as a whole number >= 0, got \"one\""},
  };
  int n = 0;
  for (const Row& row : rows) {
    CAPTURE(row.name);
    const fs::path folder = dir / ("case-" + std::to_string(n++));
    fs::create_directories(folder);
    if (row.report)
      std::ofstream(folder / "report.json")
          << (std::string(row.report) == "good" ? json : row.report);
    if (row.series)
      std::ofstream(folder / "timeseries.csv")
          << (std::string(row.series) == "good" ? csv : row.series);
    const auto r = run_process({kFlotilla, "report", folder.string()}, 30s);
    INFO(r.out, r.err);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find((folder / row.file).string()) != std::string::npos);
    CHECK(r.err.find(row.says) != std::string::npos);
    CHECK(!fs::exists(folder / "report.html"));
  }
  for (const auto& missing : {dir / "nowhere", good / "report.json"}) {
    const auto r = run_process({kFlotilla, "report", missing.string()}, 30s);
    INFO(r.out, r.err);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find(missing.string() + ": expected a run's output folder") != std::string::npos);
  }
  fs::remove_all(dir);
}
