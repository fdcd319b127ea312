#include <doctest/doctest.h>

#include <csignal>
#include <optional>
#include <string>

#include "fleet/process_provider.h"
#include "fleet/provider.h"

using namespace flotilla;

TEST_CASE("WorkerExit::describe") {
  struct Row {
    WorkerExit exit;
    std::string text;
    bool clean;
  };
  const Row rows[] = {
      {{0, 0}, "exit 0", true},
      {{3, 0}, "exit 3", false},
      {{127, 0}, "exit 127", false},
      {{-1, SIGKILL}, "signal 9 (SIGKILL)", false},
      {{-1, SIGTERM}, "signal 15 (SIGTERM)", false},
      {{-1, SIGSEGV}, "signal 11 (SIGSEGV)", false},
      {{-1, 0}, "exit status unknown", false},
  };
  for (const auto& row : rows) {
    CAPTURE(row.text);
    CHECK(row.exit.describe() == row.text);
    CHECK(row.exit.clean() == row.clean);
  }
}

TEST_CASE("parse_announce") {
  struct Row {
    std::string line;
    std::optional<Endpoint> expected;
  };
  const Row rows[] = {
      {"flotilla-worker listening on 127.0.0.1:4242", Endpoint{"127.0.0.1", 4242}},
      {"flotilla-worker listening on 127.0.0.1:4242\r\n", Endpoint{"127.0.0.1", 4242}},
      {"flotilla-worker listening on 127.0.0.1:4242  ", Endpoint{"127.0.0.1", 4242}},
      {"listening on localhost:1", Endpoint{"localhost", 1}},
      {"other-server listening on 127.0.0.1:65535", Endpoint{"127.0.0.1", 65535}},
      {"x listening on [::1]:8080", Endpoint{"[::1]", 8080}},
      {"flotilla-worker listening on 127.0.0.1:0", std::nullopt},
      {"flotilla-worker listening on 127.0.0.1:65536", std::nullopt},
      {"flotilla-worker listening on 127.0.0.1:123456", std::nullopt},
      {"flotilla-worker listening on 127.0.0.1:", std::nullopt},
      {"flotilla-worker listening on 127.0.0.1:42a", std::nullopt},
      {"flotilla-worker listening on 127.0.0.1:-1", std::nullopt},
      {"flotilla-worker listening on :4242", std::nullopt},
      {"flotilla-worker listening on 127.0.0.1", std::nullopt},
      {"flotilla-worker listening on 127.0.0.1:4242 (ready)", std::nullopt},
      {"flotilla-worker listening on  127.0.0.1:4242", std::nullopt},
      {"flotilla-workerlistening on 127.0.0.1:4242", std::nullopt},
      {"flotilla-worker started", std::nullopt},
      {"", std::nullopt},
  };
  for (const auto& row : rows) {
    CAPTURE(row.line);
    CHECK(parse_announce(row.line) == row.expected);
  }
}

TEST_CASE("format_worker_id") {
  CHECK(format_worker_id("i-", 1) == "i-00000000000000001");
  CHECK(format_worker_id("i-", 0xabcdef) == "i-00000000000abcdef");
  CHECK(format_worker_id("i-", ~0ULL) == "i-0ffffffffffffffff");
  CHECK(format_worker_id("w-", 16) == "w-00000000000000010");
}
