// Debian's Prometheus server scrapes `flotilla serve` as a user would set it up: the admin
// address's GET /metrics every second with the serve's bearer token, and the group's
// in-service count read back through Prometheus's HTTP API.
#include <doctest/doctest.h>

#include <signal.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "support/files.h"
#include "support/paths.h"
#include "support/serve_process.h"
#include "support/subprocess.h"
#include "support/wait.h"
#include "worker/http_client.h"

using namespace flotilla::test;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

const std::string kPrometheus = "/usr/bin/prometheus";
constexpr std::string_view kToken = "scrape-token-7f3a";

// The address Prometheus bound, from its log: `msg="Listening on" address=127.0.0.1:PORT`
// (with --web.listen-address=127.0.0.1:0 it names the port the OS chose).
std::optional<std::uint16_t> prometheus_port(const std::string& log) {
  return printed_port(log, "msg=\"Listening on\" address=");
}

std::string percent_encode(std::string_view text) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '_' || c == '-' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// The value of an instant query that returns one sample; nullopt for none, or any failure
// (Prometheus still starting, no scrape yet).
std::optional<double> query_one(std::uint16_t port, std::string_view query) {
  try {
    const auto r = http_get(port, "/api/v1/query?query=" + percent_encode(query));
    if (r.status != 200) return std::nullopt;
    const auto doc = nlohmann::json::parse(r.body);
    const auto& result = doc.at("data").at("result");
    if (doc.at("status") != "success" || result.size() != 1) return std::nullopt;
    return std::stod(result[0].at("value").at(1).get<std::string>());
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace

TEST_CASE("prometheus scrapes serve with its bearer token and reads the group's in-service count") {
  REQUIRE_MESSAGE(
      fs::exists(kPrometheus),
      kPrometheus << " is missing: install Debian's prometheus package (make test-deps)");
  const auto dir = fresh_temp_dir("prometheus-scrape");
  std::ofstream(dir / "token") << kToken;  // no newline: the token is the file's whole text

  // Two workers that stay two: the in-service count settles where a scrape can meet it.
  nlohmann::json scenario = {{"name", "prometheus-scrape"},
                             {"fleet",
                              {{"profile", (kSource / "fleet/standard.json").string()},
                               {"min", 2},
                               {"max", 2},
                               {"desired", 2}}}};
  std::ofstream(dir / "scenario.json") << scenario.dump(2);

  ServeProcess serve(dir / "scenario.json", dir / "out", {"--token-file", (dir / "token").string()},
                     std::string(kToken), 30s);
  const std::uint16_t admin = serve.admin_port();

  // The page Prometheus will scrape needs the token.
  CHECK(serve.raw_request("GET", "/metrics").status == 401);
  CHECK(serve.request("GET", "/metrics").body.find("flotilla_group_in_service_instances") !=
        std::string::npos);

  std::ofstream(dir / "prometheus.yml") << "global:\n"
                                           "  scrape_interval: 1s\n"
                                           "  scrape_timeout: 1s\n"
                                           "scrape_configs:\n"
                                           "  - job_name: flotilla\n"
                                           "    authorization:\n"
                                           "      credentials_file: "
                                        << (dir / "token").string()
                                        << "\n"
                                           "    static_configs:\n"
                                           "      - targets: ['127.0.0.1:"
                                        << admin << "']\n";
  Subprocess prometheus({kPrometheus, "--config.file=" + (dir / "prometheus.yml").string(),
                         "--storage.tsdb.path=" + (dir / "tsdb").string(),
                         "--web.listen-address=127.0.0.1:0", "--log.level=info"});
  prometheus.wait_for_output([&] { return prometheus_port(prometheus.err()).has_value(); },
                             30000ms);
  INFO("prometheus: ", prometheus.err());
  REQUIRE(prometheus_port(prometheus.err()));
  const std::uint16_t prom = *prometheus_port(prometheus.err());

  // Until Prometheus's latest scrape shows what serve's API says now, with both workers in.
  std::optional<double> scraped;
  int in_service = -1;
  const bool met = wait_until(
      [&] {
        serve.process().pump(0ms);
        prometheus.pump(0ms);
        scraped = query_one(prom, "flotilla_group_in_service_instances");
        const auto group = serve.request("GET", "/api/v1/group");
        if (group.status != 200) return false;
        in_service = nlohmann::json::parse(group.body).at("in_service").get<int>();
        return scraped && *scraped == in_service && in_service == 2;
      },
      60s, 100ms);
  CAPTURE(in_service);
  CAPTURE(scraped.value_or(-1));
  CHECK(met);
  // The scrape itself succeeded (so the bearer token went along), and the page's other families
  // arrived with it.
  CHECK(query_one(prom, "up{job=\"flotilla\"}") == 1.0);
  CHECK(query_one(prom, "flotilla_group_desired_capacity") == 2.0);

  ::kill(prometheus.pid(), SIGTERM);
  const auto prometheus_exit = prometheus.finish(30s);
  const auto serve_exit = serve.stop();
  INFO("serve: ", serve_exit.out, serve_exit.err);
  CHECK(prometheus_exit.exit_code == 0);
  CHECK_FALSE(serve_exit.timed_out);
  CHECK(serve_exit.exit_code == 0);
  CHECK(fs::exists(dir / "out" / "report.json"));
  fs::remove_all(dir);
}
