#pragma once
// Test support: `flotilla serve` as a user starts it, on ports the OS chooses, with the two
// address lines it prints read back, and requests to its admin API. Tests that include it link
// flotilla_test_http_client.
#include <doctest/doctest.h>
#include <signal.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "support/paths.h"
#include "support/subprocess.h"
#include "worker/http_client.h"

namespace flotilla::test {

inline constexpr const char* kBalancerLine = "balancer listening on http://";
inline constexpr const char* kDashboardLine = "dashboard on http://";

class ServeProcess {
 public:
  // `flotilla serve SCENARIO --listen 127.0.0.1:0 --admin 127.0.0.1:0 --out OUT EXTRA...`, until
  // it has printed both addresses (REQUIREd within `deadline`). `token` goes with every
  // request() as a bearer token (the one --token-file holds, when EXTRA gives one).
  ServeProcess(const std::filesystem::path& scenario, const std::filesystem::path& out,
               const std::vector<std::string>& extra = {}, std::string token = "",
               std::chrono::milliseconds deadline = std::chrono::seconds(60))
      : process_(argv(scenario, out, extra)), token_(std::move(token)) {
    const bool up = process_.wait_for_output(
        [&] {
          return printed_port(process_.out(), kBalancerLine) &&
                 printed_port(process_.out(), kDashboardLine);
        },
        deadline);
    if (!up) stop(SIGTERM, std::chrono::seconds(30));
    INFO("serve printed: " << process_.out() << process_.err());
    REQUIRE_MESSAGE(up, "serve did not print its two addresses");
    balancer_port_ = *printed_port(process_.out(), kBalancerLine);
    admin_port_ = *printed_port(process_.out(), kDashboardLine);
  }

  // A test that failed half-way still stops serve as a user would, so that it stops its
  // workers.
  ~ServeProcess() {
    if (!stopped_) stop(SIGTERM, std::chrono::seconds(60));
  }
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  pid_t pid() const { return process_.pid(); }
  Subprocess& process() { return process_; }
  std::uint16_t balancer_port() const { return balancer_port_; }
  std::uint16_t admin_port() const { return admin_port_; }
  // http://127.0.0.1:PORT/, as serve printed them: what --admin and `load --url` take.
  std::string balancer_url() const { return url(balancer_port_); }
  std::string admin_url() const { return url(admin_port_); }

  // One request to the admin API on a fresh connection, with exactly the header lines
  // `headers` ("Name: value\r\n" each) and, with a body, its Content-Type and Content-Length.
  HttpResponse raw_request(const std::string& method, const std::string& target,
                           const std::string& body = "", const std::string& headers = "") {
    std::string request = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + headers;
    if (!body.empty() || method == "POST")
      request +=
          "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
          "\r\n";
    HttpClient client(admin_port_);
    return client.raw(request + "\r\n" + body);
  }
  // The same with the token, if there is one.
  HttpResponse request(const std::string& method, const std::string& target,
                       const std::string& body = "") {
    return raw_request(method, target, body,
                       token_.empty() ? "" : "Authorization: Bearer " + token_ + "\r\n");
  }
  // The JSON of a 200 answer (REQUIREd).
  nlohmann::json get(const std::string& target) { return ok_json("GET", target, ""); }
  nlohmann::json post(const std::string& target, const nlohmann::json& body) {
    return ok_json("POST", target, body.dump());
  }

  // Sends `sig` (SIGTERM: the orderly stop) and waits for serve to exit, reading what it
  // prints; SIGKILLs it at the deadline.
  ProcessResult stop(int sig = SIGTERM,
                     std::chrono::milliseconds deadline = std::chrono::seconds(60)) {
    stopped_ = true;
    ::kill(process_.pid(), sig);
    return process_.finish(deadline);
  }

 private:
  static std::vector<std::string> argv(const std::filesystem::path& scenario,
                                       const std::filesystem::path& out,
                                       const std::vector<std::string>& extra) {
    std::vector<std::string> args = {kFlotilla,     "serve",       scenario.string(),
                                     "--listen",    "127.0.0.1:0", "--admin",
                                     "127.0.0.1:0", "--out",       out.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }
  static std::string url(std::uint16_t port) {
    return "http://127.0.0.1:" + std::to_string(port) + "/";
  }

  nlohmann::json ok_json(const std::string& method, const std::string& target,
                         const std::string& body) {
    const HttpResponse r = request(method, target, body);
    INFO(method << " " << target << ": " << r.status << " " << r.body);
    REQUIRE(r.status == 200);
    return nlohmann::json::parse(r.body);
  }

  Subprocess process_;
  std::string token_;
  std::uint16_t balancer_port_ = 0;
  std::uint16_t admin_port_ = 0;
  bool stopped_ = false;
};

}  // namespace flotilla::test
