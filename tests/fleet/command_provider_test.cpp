// CommandProvider against a server Flotilla did not write: python3's http.server.
#include "fleet/command_provider.h"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "provider_harness.h"
#include "support/connect.h"
#include "support/wait.h"

using namespace flotilla;
using CommandHarness = flotilla::test::ProviderHarness<CommandProvider>;
using flotilla::test::process_gone;

namespace {

// The status code of GET / on 127.0.0.1:port, or 0 when nothing answered.
int http_status(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int status = 0;
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0) {
    const std::string request = "GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (::write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size())) {
      char buf[64] = {};
      const auto n = ::read(fd, buf, sizeof buf - 1);
      if (n > 12 && std::string(buf, 5) == "HTTP/") status = std::atoi(buf + 9);
    }
  }
  ::close(fd);
  return status;
}

// python3's own web server on the chosen port, serving the current folder.
LaunchSpec http_server() {
  return {"python3", {"-m", "http.server", "{port}", "--bind", "{host}"}, "", std::nullopt};
}

}  // namespace

TEST_CASE("placeholders are substituted wherever they appear, other braces stay") {
  const CommandPlaceholders values{"127.0.0.1", 8081, "i-00000000000000007"};
  struct Row {
    const char* text;
    const char* expected;
  };
  const Row rows[] = {
      {"{port}", "8081"},
      {"--port={port}", "--port=8081"},
      {"{host}:{port}", "127.0.0.1:8081"},
      {"/tmp/{id}.log", "/tmp/i-00000000000000007.log"},
      {"{port}{port}", "80818081"},
      {"{ports}", "{ports}"},
      {"{}", "{}"},
      {"{PORT}", "{PORT}"},
      {"plain", "plain"},
      {"", ""},
      {"{por", "{por"},
  };
  for (const Row& row : rows) {
    CAPTURE(row.text);
    CHECK(substitute_placeholders(row.text, values) == row.expected);
  }
}

TEST_CASE("a picked port is free on loopback") {
  std::string why;
  const auto port = pick_free_port("127.0.0.1", why);
  REQUIRE(port);
  CHECK(*port > 0);
  CHECK(flotilla::test::connect_refused(*port));
  CHECK_FALSE(pick_free_port("not-an-address", why));
  CHECK(why.find("not-an-address") != std::string::npos);
}

TEST_CASE("python's http.server is a target on the chosen port, and a kill ends it by signal 9") {
  CommandHarness h;
  const WorkerId id = h.provider->launch(http_server());
  CHECK(id == "i-00000000000000001");
  CHECK(h.listening.empty());  // never from inside launch()
  REQUIRE(h.run_until([&] { return h.listened(id); }));
  const Endpoint endpoint = h.listening[id].front();
  CHECK(endpoint.host == "127.0.0.1");
  CHECK(endpoint.port > 0);
  REQUIRE(h.provider->pid(id));
  // It takes a moment to bind: the target group's health checks wait for it the same way.
  CHECK(flotilla::test::wait_until([&] { return http_status(endpoint.port) == 200; }));

  h.provider->signal(id, SIGKILL);
  REQUIRE(h.run_until([&] { return h.exited(id); }));
  CHECK(h.exits[id].size() == 1);
  CHECK(h.exits[id][0].signal == SIGKILL);
  CHECK(h.events == std::vector<std::string>{"listening " + id, "exit " + id});
  CHECK_FALSE(h.provider->pid(id));
  CHECK(h.provider->running() == 0);
  CHECK(flotilla::test::wait_until([&] { return http_status(endpoint.port) == 0; }));
}

TEST_CASE("stop() sends SIGTERM, which http.server honours before the grace period is over") {
  CommandHarness h;
  const WorkerId id = h.provider->launch(http_server());
  REQUIRE(h.run_until([&] { return h.listened(id); }));
  const std::uint16_t port = h.listening[id].front().port;
  REQUIRE(flotilla::test::wait_until([&] { return http_status(port) == 200; }));
  h.provider->stop(id, std::chrono::seconds(30));
  REQUIRE(h.run_until([&] { return h.exited(id); }));
  CHECK(h.exits[id][0].signal == SIGTERM);  // not the SIGKILL that the grace period would bring
}

TEST_CASE("each worker gets its own port, host and id in its arguments") {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("flotilla-command-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  CommandHarness h;
  std::vector<WorkerId> ids;
  for (int i = 0; i < 2; ++i)
    ids.push_back(h.provider->launch(
        {"/bin/sh",
         {"-c", "echo {id} {host} {port} > " + dir.string() + "/{id}.tmp && mv " + dir.string() +
                    "/{id}.tmp " + dir.string() + "/{id}; exec sleep 30"},
         "",
         std::nullopt}));
  REQUIRE(h.run_until([&] { return h.listening.size() == 2; }));
  for (const auto& id : ids) {
    CAPTURE(id);
    REQUIRE(flotilla::test::wait_until([&] { return std::filesystem::exists(dir / id); }));
    std::ifstream in(dir / id);
    std::string got_id, host;
    int port = 0;
    in >> got_id >> host >> port;
    CHECK(got_id == id);
    CHECK(host == "127.0.0.1");
    CHECK(port == h.listening[id].front().port);
  }
  CHECK(h.listening[ids[0]].front().port != h.listening[ids[1]].front().port);
  std::filesystem::remove_all(dir);
}

TEST_CASE("a command that cannot start exits 127 without on_listening") {
  CommandHarness h;
  const WorkerId id =
      h.provider->launch({"flotilla-no-such-server-{port}", {"{port}"}, "", std::nullopt});
  REQUIRE(h.run_until([&] { return h.exited(id); }));
  CHECK(h.exits[id][0].exit_code == 127);
  CHECK_FALSE(h.listened(id));
}

TEST_CASE("a command that exits at once is reported with its code, after its on_listening") {
  CommandHarness h;
  const WorkerId id = h.provider->launch({"/bin/sh", {"-c", "exit 3", "{port}"}, "", std::nullopt});
  REQUIRE(h.run_until([&] { return h.exited(id); }));
  CHECK(h.exits[id][0].exit_code == 3);
  CHECK(h.events == std::vector<std::string>{"listening " + id, "exit " + id});
}

TEST_CASE("command workers die with a SIGKILLed flotilla") {
  flotilla::test::check_workers_die_with_parent(
      {"command", "python3", "-m", "http.server", "{port}", "--bind", "127.0.0.1"});
}
