// The dashboard of `flotilla serve` as a person uses it: headless Chromium (Debian's chromium),
// driven over the W3C WebDriver protocol by Debian's chromedriver, opens the page while serve
// takes load. The page must show a row per worker, charts with data, and, after a click on a
// row's Kill, that row gone and a new one that becomes healthy; it must fetch nothing from any
// other origin. A screenshot is left in the test's temp folder for a person to look at. Every
// check polls the DOM with a deadline.
#include <doctest/doctest.h>
#include <signal.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/files.h"
#include "support/paths.h"
#include "support/serve_process.h"
#include "support/subprocess.h"
#include "support/wait.h"
#include "worker/http_client.h"

using namespace flotilla::test;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

const std::string kChromium = "/usr/bin/chromium";
const std::string kChromedriver = "/usr/bin/chromedriver";
// How often a condition on the page is checked: each check is a WebDriver round trip.
constexpr auto kEvery = 100ms;

// One request with a JSON body (or none) on `client`; the answer's status and body.
HttpResponse exchange(HttpClient& client, const std::string& method, const std::string& target,
                      const std::optional<json>& body) {
  std::string request = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  const std::string payload = body ? body->dump() : "";
  if (body)
    request +=
        "Content-Type: application/json\r\nContent-Length: " + std::to_string(payload.size()) +
        "\r\n";
  return client.raw(request + "\r\n" + payload);
}

std::string base64_decode(const std::string& text) {
  static const std::string kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  unsigned bits = 0;
  int count = 0;
  for (char c : text) {
    const auto at = kAlphabet.find(c);
    if (at == std::string::npos) continue;  // padding
    bits = (bits << 6) | static_cast<unsigned>(at);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out.push_back(static_cast<char>((bits >> count) & 0xff));
    }
  }
  return out;
}

// A WebDriver session in chromedriver (started on a port the OS chose), over headless Chromium
// in a fresh profile. The session and the driver end with the object, the browser with them.
class Browser {
 public:
  explicit Browser(const fs::path& scratch) : profile_(scratch / "chromium-profile") {
    const bool installed = fs::exists(kChromium) && fs::exists(kChromedriver);
    REQUIRE_MESSAGE(installed,
                    "the dashboard test needs Debian's chromium and chromium-driver (make test "
                    "installs them)");
    driver_.emplace(std::vector<std::string>{kChromedriver, "--port=0"});
    const bool up = driver_->wait_for_output(
        [&] { return printed_port(driver_->out(), "started successfully on port ").has_value(); },
        30s);
    INFO("chromedriver printed: " << driver_->out() << driver_->err());
    REQUIRE_MESSAGE(up, "chromedriver did not say its port");
    client_.emplace(*printed_port(driver_->out(), "started successfully on port "), 60s);
    fs::remove_all(profile_);
    const json options = {
        {"binary", kChromium},
        {"args",
         {"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
          "--disable-background-networking", "--disable-component-update", "--disable-sync",
          "--no-first-run", "--hide-scrollbars", "--window-size=1280,2400",
          "--user-data-dir=" + profile_.string()}}};
    json capabilities = json::object();
    capabilities["alwaysMatch"] = {{"browserName", "chrome"}, {"goog:chromeOptions", options}};
    const json session = call("POST", "/session", json{{"capabilities", capabilities}});
    session_ = "/session/" + session.at("sessionId").get<std::string>();
  }

  ~Browser() {
    try {
      if (!session_.empty()) call("DELETE", session_, std::nullopt);
    } catch (const std::exception&) {
      // The driver is stopped below either way; its browser goes with it.
    }
    if (driver_) {
      ::kill(driver_->pid(), SIGTERM);
      driver_->finish(10s);
    }
    fs::remove_all(profile_);
  }

  void open(const std::string& url) { call("POST", session_ + "/url", json{{"url", url}}); }

  // The script's return value (a function body, as WebDriver's execute/sync runs it).
  json run(const std::string& script) {
    return call("POST", session_ + "/execute/sync",
                json{{"script", script}, {"args", json::array()}});
  }

  // A real click (the pointer moved onto the element) on the first element `css` selects.
  void click(const std::string& css) {
    const json element =
        call("POST", session_ + "/element", json{{"using", "css selector"}, {"value", css}});
    const std::string id = element.at("element-6066-11e4-a52e-4f735466cecf").get<std::string>();
    call("POST", session_ + "/element/" + id + "/click", json::object());
  }

  std::string screenshot_png() {
    return base64_decode(call("GET", session_ + "/screenshot", std::nullopt).get<std::string>());
  }

 private:
  json call(const std::string& method, const std::string& target, const std::optional<json>& body) {
    const HttpResponse r = exchange(*client_, method, target, body);
    const json answer = json::parse(r.body, nullptr, false);
    if (r.status != 200 || answer.is_discarded() || !answer.contains("value"))
      throw std::runtime_error("WebDriver " + method + " " + target + ": " +
                               std::to_string(r.status) + " " + r.body.substr(0, 2000));
    return answer["value"];
  }

  fs::path profile_;
  std::optional<Subprocess> driver_;
  std::optional<HttpClient> client_;
  std::string session_;
};

// What the tests read from the page in one round trip.
const std::string kPageState = R"js(
  const rows = [...document.querySelectorAll('#targets tbody tr')].map((tr) => ({
    id: tr.dataset.target, state: tr.dataset.state,
    kill: tr.querySelectorAll('button.kill').length, stop: tr.querySelectorAll('button.stop').length}));
  const series = {};
  for (const p of document.querySelectorAll('svg.chart path.series'))
    series[p.closest('svg').id + ' ' + p.dataset.series] = Number(p.dataset.points);
  const tiles = {};
  for (const t of document.querySelectorAll('[id^="tile-"]')) tiles[t.id] = t.querySelector('.big').textContent;
  const message = document.getElementById('message');
  return {rows, series, tiles, polled: Number(document.body.dataset.polled || 0),
    error: document.body.dataset.error || null,
    markers: [...document.querySelectorAll('.marker[data-kind]')].map((m) => m.dataset.kind),
    activities: document.querySelectorAll('#activities tbody tr').length,
    message: message && !message.hidden ? message.textContent : null};
)js";

// A serve file: three workers of the standard profile, health checked often so that a
// replacement is healthy within seconds, and no policy (so the group stays at its desired).
fs::path serve_scenario(const fs::path& dir) {
  const json s = {
      {"name", "dashboard-test"},
      {"seed", 1},
      {"fleet",
       {{"profile", (kSource / "fleet/standard.json").string()},
        {"min", 1},
        {"max", 6},
        {"desired", 3}}},
      {"balancer",
       {{"algorithm", "round_robin"},
        {"health_check", {{"interval", "500ms"}, {"timeout", "250ms"}, {"healthy_threshold", 2}}}}},
      {"metrics", {{"period", "1s"}}},
      {"slo", {{"latency", "250ms"}, {"error_rate", 0.01}}}};
  const fs::path file = dir / "dashboard-test.json";
  std::ofstream(file) << s.dump(2);
  return file;
}

std::set<std::string> ids_of(const json& rows) {
  std::set<std::string> out;
  for (const auto& r : rows) out.insert(r.at("id").get<std::string>());
  return out;
}

}  // namespace

TEST_CASE(
    "dashboard in Chromium: a row per worker, charts with data, and a worker killed from its "
    "row is replaced by one that becomes healthy") {
  const auto dir = fresh_temp_dir("dashboard");
  const fs::path out = dir / "out";
  ServeProcess serve(serve_scenario(dir), out);
  serve.post("/api/v1/load", {{"rps", 50}});
  const int desired = serve.get("/api/v1/group").at("desired").get<int>();
  REQUIRE(desired == 3);

  Browser browser(dir);
  browser.open(serve.admin_url());
  json page;
  const auto read = [&] { return page = browser.run(kPageState); };
  INFO("the page, as last read: " << page.dump());  // evaluated when a check fails

  // N rows, every one healthy, each with its Kill and Stop buttons.
  const bool shown = wait_until(
      [&] {
        read();
        if (page["rows"].size() != static_cast<std::size_t>(desired)) return false;
        for (const auto& r : page["rows"])
          if (r["state"] != "healthy") return false;
        return true;
      },
      60s, kEvery);
  REQUIRE(shown);
  CHECK(page["error"].is_null());
  for (const auto& r : page["rows"]) {
    CHECK(r["kill"] == 1);
    CHECK(r["stop"] == 1);
  }

  // Every chart has drawn points of its own series, and the tiles have figures.
  const std::vector<std::string> drawn = {"chart-requests ok",         "chart-latency p50_ms",
                                          "chart-latency p99_ms",      "chart-capacity desired",
                                          "chart-capacity in_service", "chart-cpu cpu"};
  const bool charted = wait_until(
      [&] {
        read();
        for (const auto& key : drawn)
          if (page["series"].value(key, 0) <= 0) return false;
        return page["tiles"].value("tile-rps", "\u2013") != "\u2013";
      },
      60s, kEvery);
  CHECK(charted);
  for (const char* tile :
       {"tile-rps", "tile-errors", "tile-p50", "tile-p99", "tile-healthy", "tile-capacity"})
    CHECK(page["tiles"].contains(tile));
  CHECK(page["tiles"].value("tile-healthy", "") == "3 / 3");

  // Kill the first row's worker with its button: its row goes, a new one comes and is healthy.
  const std::set<std::string> before = ids_of(page["rows"]);
  const std::string victim = page["rows"][0]["id"].get<std::string>();
  browser.click("#targets tr[data-target=\"" + victim + "\"] button.kill");
  std::string replacement;
  const bool replaced = wait_until(
      [&] {
        read();
        const std::set<std::string> now = ids_of(page["rows"]);
        if (now.count(victim) || now.size() != before.size()) return false;
        for (const auto& r : page["rows"]) {
          const std::string id = r["id"].get<std::string>();
          if (!before.count(id) && r["state"] == "healthy")
            replacement = id;
          else if (r["state"] != "healthy")
            return false;
        }
        return !replacement.empty();
      },
      90s, kEvery);
  CHECK(replaced);
  CHECK(page["message"].is_string());
  CHECK(page["message"].dump().find("KILL to " + victim) != std::string::npos);
  // The kill is a marker on the timeline, and the replacement a scaling activity in the log.
  CHECK(wait_until(
      [&] {
        read();
        for (const auto& kind : page["markers"])
          if (kind == "kill") return page["activities"].get<int>() >= 1;
        return false;
      },
      30s, kEvery));

  // Offline: nothing came from anywhere but the admin address.
  const json fetched =
      browser.run("return performance.getEntriesByType('resource').map((e) => e.name);");
  CHECK(!fetched.empty());
  for (const auto& url : fetched) {
    CAPTURE(url);
    CHECK(url.get<std::string>().rfind(serve.admin_url(), 0) == 0);
  }

  const fs::path png = dir / "dashboard.png";
  const std::string bytes = browser.screenshot_png();
  std::ofstream(png, std::ios::binary) << bytes;
  CHECK(bytes.rfind("\x89PNG", 0) == 0);
  CHECK(bytes.size() > 20000);
  MESSAGE("screenshot: " << png.string());

  const ProcessResult stopped = serve.stop();
  INFO(stopped.out, stopped.err);
  CHECK(stopped.exit_code == 0);
  CHECK(fs::exists(out / "report.json"));
}
