#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>
#include <optional>

#include "balancer/http_client.h"
#include "test_backend.h"

using namespace flotilla;
using namespace flotilla::testing;

namespace {

HttpGetResult get(const Endpoint& endpoint, const std::string& target, Duration timeout = 2s) {
  boost::asio::io_context io;
  std::optional<HttpGetResult> result;
  int calls = 0;
  http_get(io, endpoint, target, timeout, [&](HttpGetResult r) {
    ++calls;
    result = std::move(r);
  });
  CHECK(calls == 0);  // never inline
  io.run_for(10s);
  CHECK(calls == 1);
  REQUIRE(result);
  return *result;
}

}  // namespace

TEST_CASE("http_get: status, body, and each kind of failure") {
  TestBackend backend("w1");
  backend.set_health_status(503);

  const auto ok = get(backend.endpoint(), "/anything");
  CHECK(ok.ok);
  CHECK(ok.status == 200);
  CHECK(ok.body == "w1");
  CHECK(ok.elapsed > Duration::zero());

  const auto unhealthy = get(backend.endpoint(), "/health");
  CHECK(unhealthy.ok);
  CHECK(unhealthy.status == 503);

  const auto refused = get({"127.0.0.1", closed_port()}, "/health");
  CHECK_FALSE(refused.ok);
  CHECK(refused.error == "connection refused");

  TestBackend hang("hang", TestBackend::Mode::kHang);
  const auto timeout = get(hang.endpoint(), "/health", 100ms);
  CHECK_FALSE(timeout.ok);
  CHECK(timeout.error == "timeout");
  CHECK(timeout.elapsed >= 100ms);

  TestBackend garbage("garbage", TestBackend::Mode::kGarbage);
  const auto bad = get(garbage.endpoint(), "/health");
  CHECK_FALSE(bad.ok);
  CHECK(bad.error.rfind("bad response", 0) == 0);

  const auto bad_address = get({"not-an-ip", 80}, "/");
  CHECK_FALSE(bad_address.ok);
  CHECK(bad_address.error == "bad address");
}
