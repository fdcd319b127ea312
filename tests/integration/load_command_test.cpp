// `flotilla load --url` as a user runs it: the real binary against a real flotilla-worker.
#include <doctest/doctest.h>
#include <signal.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/connect.h"
#include "support/subprocess.h"
#include "worker_process.h"

using namespace flotilla::test;
using namespace std::chrono_literals;

namespace {

std::vector<std::string> load_argv(const std::vector<std::string>& extra) {
  return flotilla_argv("load", extra);
}

}  // namespace

TEST_CASE("load: a constant rate against a URL, progress on stderr, a wrk2-like summary") {
  Worker worker("w1");
  const std::string url = "http://" + worker.target() + "/work";
  const auto r = run_process(load_argv({"--url", url, "--rps", "50", "--duration", "2s"}), 30s);
  INFO(r.out, r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find(url + ": 50 requests/s for 2s, keep-alive connections, 1 thread") == 0);
  CHECK(r.out.find("100 sent, 100 ok, 0 errors") != std::string::npos);
  CHECK(r.out.find("requests/s achieved") != std::string::npos);
  CHECK(r.out.find("p50 ") != std::string::npos);
  CHECK(r.out.find("p99 ") != std::string::npos);
  CHECK(r.err.find("offered 50 rps") != std::string::npos);  // at least one progress line
  CHECK(r.err.find("in service") == std::string::npos);
}

TEST_CASE("load: --json prints one object, errors are figures, exit 0") {
  const std::uint16_t nobody = [] {
    Worker w("gone");
    return w.port;
  }();  // the worker is gone: its port refuses
  REQUIRE(connect_refused(nobody));
  const auto r =
      run_process(load_argv({"--url", "http://127.0.0.1:" + std::to_string(nobody), "--rps", "40",
                             "--duration", "500ms", "--json", "--connections", "new"}),
                  30s);
  INFO(r.out, r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.err.empty());  // progress only once a second: the run is shorter
  const auto j = nlohmann::json::parse(r.out);
  CHECK(j["sent"] == 20);
  CHECK(j["ok"] == 0);
  CHECK(j["errors"] == 20);
  CHECK(j["errors_by_kind"]["connect_error"] == 20);
  CHECK(j["connections"] == "new");
  CHECK(j["latency_ms"]["p99"].is_null());
}

TEST_CASE("load: bad arguments exit 2 with a message naming the flag") {
  struct Row {
    std::vector<std::string> args;
    std::string says;
  };
  const Row rows[] = {
      // Without --url it sets serve's load, which needs a rate.
      {{"--duration", "1s"}, "--url"},
      {{"--url", "https://127.0.0.1:1/", "--rps", "10", "--duration", "1s"}, "TLS"},
      {{"--url", "127.0.0.1:1", "--rps", "10", "--duration", "1s"}, "--url"},
      {{"--url", "http://127.0.0.1:99999/", "--rps", "10", "--duration", "1s"}, "--url"},
      {{"--url", "http://127.0.0.1:1/", "--rps", "0", "--duration", "1s"}, "--rps"},
      {{"--url", "http://127.0.0.1:1/", "--rps", "-5", "--duration", "1s"}, "--rps"},
      {{"--url", "http://127.0.0.1:1/", "--rps", "many", "--duration", "1s"}, "--rps"},
      {{"--url", "http://127.0.0.1:1/", "--rps", "10"}, "--duration"},
      {{"--url", "http://127.0.0.1:1/", "--rps", "10", "--duration", "soon"}, "--duration"},
      {{"--url", "http://127.0.0.1:1/", "--rps", "10", "--duration", "1s", "--connections", "x"},
       "--connections"},
      {{"--url", "http://127.0.0.1:1/", "--rps", "10", "--duration", "1s", "--threads", "0"},
       "--threads"},
      {{"--url", "http://127.0.0.1:1/", "--rps", "10", "--duration", "1s", "--timeout", "0s"},
       "--timeout"},
  };
  for (const auto& row : rows) {
    const auto r = run_process(load_argv(row.args), 20s);
    INFO(r.out, r.err);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find(row.says) != std::string::npos);
  }
}

TEST_CASE("load: SIGINT ends the run early and still prints the summary, as wrk does") {
  Worker worker("w1");
  const std::string url = "http://" + worker.target() + "/work";
  Subprocess load(load_argv({"--url", url, "--rps", "100", "--duration", "60s", "--json"}));
  // A progress line means the run has been sending for a second.
  REQUIRE(load.wait_for_output([&] { return load.err().find("offered") != std::string::npos; },
                               20s));
  REQUIRE(::kill(load.pid(), SIGINT) == 0);
  const auto r = load.finish(10s);  // far less than the 60 s it was asked to run
  INFO(r.out, r.err);
  REQUIRE_FALSE(r.timed_out);
  CHECK(r.signal == 0);
  CHECK(r.exit_code == 0);
  const auto j = nlohmann::json::parse(r.out);
  CHECK(j["interrupted"] == true);
  CHECK(j["elapsed_s"].get<double>() < 30);
  const auto sent = j["sent"].get<std::uint64_t>();
  CHECK(sent >= 100);   // at least the first second's
  CHECK(sent < 6000);   // not the whole minute
  CHECK(j["ok"].get<std::uint64_t>() + j["errors"].get<std::uint64_t>() +
            j["abandoned"].get<std::uint64_t>() ==
        sent);
  CHECK(j["errors"] == 0);
}
