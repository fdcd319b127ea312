#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "core/errors.h"
#include "worker/profile.h"

namespace flotilla {
namespace {

WorkerProfile parse_profile_text(const std::string& text) {
  const auto doc = nlohmann::json::parse(text);
  return parse_worker_profile(ConfigNode(doc, "profile.json"));
}

std::string error_of(const std::string& text) {
  try {
    parse_profile_text(text);
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}

const char* const kGood = R"({"name": "w", "capacity": 3,
  "service_time": {"distribution": "lognormal", "mean": "20ms", "p99": "100ms"},
  "queue_limit": 0, "boot_time": "250ms", "cpu_window": "2s"})";

}  // namespace

TEST_CASE("profile: a complete file parses") {
  const auto p = parse_profile_text(kGood);
  CHECK(p.name == "w");
  CHECK(p.capacity == 3);
  CHECK(p.service_time.distribution == ServiceDistribution::kLognormal);
  CHECK(p.service_time.mean == std::chrono::milliseconds(20));
  CHECK(p.service_time.p99 == std::chrono::milliseconds(100));
  CHECK(p.queue_limit == 0);
  CHECK(p.boot_time == std::chrono::milliseconds(250));
  CHECK(p.cpu_window == std::chrono::seconds(2));
}

TEST_CASE("profile: cpu_window defaults to 1s, bare numbers are seconds") {
  const auto p = parse_profile_text(R"({"name": "w", "capacity": 1,
    "service_time": {"distribution": "constant", "mean": 0.5}, "queue_limit": 5, "boot_time": 0})");
  CHECK(p.cpu_window == std::chrono::seconds(1));
  CHECK(p.service_time.mean == std::chrono::milliseconds(500));
  CHECK(p.boot_time == Duration::zero());
  CHECK_FALSE(p.service_time.p99.has_value());
}

TEST_CASE("profile: each kind of mistake names the file and the field") {
  struct Row {
    const char* what;
    std::string text;
    std::string expected;  // substring of the message
  };
  auto with = [](const std::string& fields) {
    return std::string(R"({"name": "w", "capacity": 2, "queue_limit": 4, "boot_time": "1s", )") +
           fields + "}";
  };
  const std::string exp20 = R"("service_time": {"distribution": "exponential", "mean": "20ms"})";
  const std::vector<Row> rows = {
      {"not an object", "[1, 2]", "profile.json: /: expected an object"},
      {"unknown field", with(exp20 + R"(, "colour": "red")"),
       "profile.json: /colour: expected one of the known fields"},
      {"missing name", R"({"capacity": 2, "queue_limit": 4, "boot_time": "1s", )" + exp20 + "}",
       "profile.json: /name: expected"},
      {"capacity zero",
       R"({"name": "w", "capacity": 0, "queue_limit": 4, "boot_time": "1s", )" + exp20 + "}",
       "/capacity: expected a whole number between 1 and 10000"},
      {"capacity as text",
       R"({"name": "w", "capacity": "4", "queue_limit": 4, "boot_time": "1s", )" + exp20 + "}",
       "/capacity: expected a whole number"},
      {"capacity fractional",
       R"({"name": "w", "capacity": 1.5, "queue_limit": 4, "boot_time": "1s", )" + exp20 + "}",
       "/capacity: expected a whole number"},
      {"missing service_time", with(R"("cpu_window": "1s")"), "/service_time: expected a value"},
      {"unknown service_time field",
       with(R"("service_time": {"distribution": "constant", "mean": "1ms", "shape": 2})"),
       "/service_time/shape: expected one of the known fields"},
      {"unknown distribution", with(R"("service_time": {"distribution": "normal", "mean": "1ms"})"),
       R"(/service_time/distribution: expected one of "constant", "exponential", "lognormal")"},
      {"missing mean", with(R"("service_time": {"distribution": "constant"})"),
       "/service_time/mean: expected a value"},
      {"mean not a duration",
       with(R"("service_time": {"distribution": "constant", "mean": "fast"})"),
       "/service_time/mean: expected a duration"},
      {"mean zero", with(R"("service_time": {"distribution": "constant", "mean": "0ms"})"),
       "/service_time/mean: expected a duration"},
      {"lognormal without p99",
       with(R"("service_time": {"distribution": "lognormal", "mean": "20ms"})"),
       "/service_time/p99: expected a p99 duration (required for the lognormal distribution)"},
      {"p99 equal to mean",
       with(R"("service_time": {"distribution": "lognormal", "mean": "20ms", "p99": "20ms"})"),
       "/service_time/p99: expected a duration greater than the mean (20ms)"},
      {"p99 below mean",
       with(R"("service_time": {"distribution": "lognormal", "mean": "20ms", "p99": "5ms"})"),
       "/service_time/p99: expected a duration greater than the mean"},
      {"p99 beyond any lognormal",
       with(R"("service_time": {"distribution": "lognormal", "mean": "20ms", "p99": "400ms"})"),
       "/service_time/p99: expected a duration at most 14.96 times the mean"},
      {"p99 with exponential",
       with(R"("service_time": {"distribution": "exponential", "mean": "20ms", "p99": "90ms"})"),
       R"(/service_time/p99: expected no p99 unless the distribution is "lognormal")"},
      {"negative queue_limit",
       R"({"name": "w", "capacity": 2, "queue_limit": -1, "boot_time": "1s", )" + exp20 + "}",
       "/queue_limit: expected a whole number between 0 and 100000"},
      {"missing queue_limit", R"({"name": "w", "capacity": 2, "boot_time": "1s", )" + exp20 + "}",
       "/queue_limit: expected a value"},
      {"boot_time not a duration",
       R"({"name": "w", "capacity": 2, "queue_limit": 4, "boot_time": "soon", )" + exp20 + "}",
       "/boot_time: expected a duration"},
      {"cpu_window zero", with(exp20 + R"(, "cpu_window": "0s")"),
       "/cpu_window: expected a duration"},
  };
  for (const auto& row : rows) {
    CAPTURE(std::string(row.what));
    const auto message = error_of(row.text);
    CHECK_MESSAGE(message.find(row.expected) != std::string::npos, message);
  }
  // An empty name is a mistake too.
  const auto message = error_of(
      R"({"name": "", "capacity": 2, "queue_limit": 4, "boot_time": "1s", )" + exp20 + "}");
  CHECK(message.find("/name: expected a non-empty string") != std::string::npos);
}

TEST_CASE("profile: a missing or malformed file is a UserError naming it") {
  CHECK_THROWS_WITH_AS(load_worker_profile("/nonexistent/profile.json"),
                       doctest::Contains("/nonexistent/profile.json"), UserError);
}

TEST_CASE("profile: every file in fleet/ loads") {
  const std::filesystem::path dir = std::filesystem::path(FLOTILLA_SOURCE_DIR) / "fleet";
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".json") continue;
    CAPTURE(entry.path().string());
    WorkerProfile p;
    CHECK_NOTHROW(p = load_worker_profile(entry.path().string()));
    CHECK(p.name == entry.path().stem().string());
    CHECK(service_time_p99_problem(p.service_time).empty());
    ++count;
  }
  CHECK(count >= 2);

  const auto standard = load_worker_profile((dir / "standard.json").string());
  CHECK(standard.capacity == 4);
  CHECK(standard.service_time.distribution == ServiceDistribution::kExponential);
  CHECK(standard.service_time.mean == std::chrono::milliseconds(20));
  CHECK(standard.queue_limit == 64);
  CHECK(standard.boot_time == std::chrono::seconds(1));
  // The built-in defaults (the worker without --profile) are the standard profile.
  const WorkerProfile defaults;
  CHECK(defaults.capacity == standard.capacity);
  CHECK(defaults.service_time.mean == standard.service_time.mean);
  CHECK(defaults.queue_limit == standard.queue_limit);
  CHECK(defaults.boot_time == standard.boot_time);
  CHECK(defaults.cpu_window == standard.cpu_window);

  const auto slow = load_worker_profile((dir / "slow-boot.json").string());
  CHECK(slow.service_time.distribution == ServiceDistribution::kLognormal);
  CHECK(slow.boot_time > standard.boot_time);
}

TEST_CASE("lognormal_params: mean and p99 are reproduced, impossible pairs refused") {
  struct Row {
    double mean_ms;
    double p99_ms;
    bool ok;
  };
  const std::vector<Row> rows = {
      {20, 100, true}, {20, 21, true},   {1, 14.9, true},    {20, 20, false},
      {20, 10, false}, {20, 300, false}, {1000, 5000, true},
  };
  for (const auto& row : rows) {
    CAPTURE(row.mean_ms);
    CAPTURE(row.p99_ms);
    const auto p = lognormal_params(from_millis(row.mean_ms), from_millis(row.p99_ms));
    REQUIRE(p.has_value() == row.ok);
    if (!p) continue;
    CHECK(p->sigma > 0);
    CHECK(std::exp(p->mu + p->sigma * p->sigma / 2) * 1e3 == doctest::Approx(row.mean_ms));
    CHECK(std::exp(p->mu + kZ99 * p->sigma) * 1e3 == doctest::Approx(row.p99_ms));
  }
}

TEST_CASE("ServiceTimeSampler: draws follow the distribution and the seed") {
  SUBCASE("constant is exact") {
    ServiceTimeSampler s(ServiceTime{ServiceDistribution::kConstant, from_millis(7), {}}, 1);
    for (int i = 0; i < 10; ++i) CHECK(s.next() == from_millis(7));
  }
  SUBCASE("exponential and lognormal have the configured mean; lognormal its p99") {
    const std::vector<ServiceTime> cases = {
        {ServiceDistribution::kExponential, from_millis(20), {}},
        {ServiceDistribution::kLognormal, from_millis(20), from_millis(100)},
    };
    for (const auto& st : cases) {
      CAPTURE(to_string(st.distribution));
      ServiceTimeSampler s(st, 42);
      constexpr int kDraws = 40'000;
      std::vector<double> ms;
      ms.reserve(kDraws);
      double sum = 0;
      for (int i = 0; i < kDraws; ++i) {
        ms.push_back(to_millis(s.next()));
        sum += ms.back();
      }
      CHECK(*std::min_element(ms.begin(), ms.end()) >= 0);
      CHECK(sum / kDraws == doctest::Approx(20).epsilon(0.05));
      if (st.p99) {
        std::sort(ms.begin(), ms.end());
        CHECK(ms[kDraws * 99 / 100] == doctest::Approx(100).epsilon(0.1));
      }
    }
  }
  SUBCASE("the same seed gives the same draws, another seed others") {
    const ServiceTime st{ServiceDistribution::kExponential, from_millis(20), {}};
    ServiceTimeSampler a(st, 7), b(st, 7), c(st, 8);
    bool differs = false;
    for (int i = 0; i < 20; ++i) {
      const auto x = a.next();
      CHECK(x == b.next());
      differs = differs || x != c.next();
    }
    CHECK(differs);
  }
}

TEST_CASE("distribution names round-trip") {
  for (auto d : {ServiceDistribution::kConstant, ServiceDistribution::kExponential,
                 ServiceDistribution::kLognormal})
    CHECK(parse_service_distribution(to_string(d)) == d);
  CHECK_FALSE(parse_service_distribution("normal").has_value());
}

}  // namespace flotilla
