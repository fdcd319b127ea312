// The control message: parsing (what each kind takes, keep / clear / set, mistakes with their
// JSON pointers), its JSON, and the control interface's answers apart from any socket.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/errors.h"
#include "worker/control.h"
#include "worker/faults.h"

namespace flotilla {
namespace {

WorkerFaults parse_faults_text(const std::string& text) {
  const auto doc = nlohmann::json::parse(text);
  return parse_worker_faults(ConfigNode(doc, "body"));
}

WorkerProfile quick_profile() {
  WorkerProfile p;
  p.boot_time = Duration::zero();
  return p;
}

}  // namespace

TEST_CASE("WorkerFaults: what each kind takes, and absent / null / object") {
  using Slow = FaultSetting<SlowFault>;
  using Errors = FaultSetting<ErrorsFault>;
  using Crash = FaultSetting<CrashAfterFault>;
  using Flap = FaultSetting<FlapFault>;
  using Latency = FaultSetting<LatencyFault>;
  struct Row {
    const char* what;
    std::string text;
    WorkerFaults expected;
  };
  auto with = [](auto&& edit) {
    WorkerFaults f;
    edit(f);
    return f;
  };
  const std::vector<Row> rows = {
      {"empty: every kind kept", "{}", {}},
      {"the brief's example, every kind set",
       R"({"slow": {"factor": 10}, "errors": {"fraction": 0.3}, "crash_after": {"requests": 100},
           "flap": {"period": "2s"}, "latency": {"delay": "200ms", "jitter": "50ms"}})",
       with([](WorkerFaults& f) {
         f.slow = Slow::set({10});
         f.errors = Errors::set({0.3});
         f.crash_after = Crash::set({100});
         f.flap = Flap::set({2s});
         f.latency = Latency::set({200ms, 50ms});
       })},
      {"null clears, absent keeps", R"({"slow": null, "latency": null})", with([](WorkerFaults& f) {
         f.slow = Slow::clear();
         f.latency = Latency::clear();
       })},
      {"jitter defaults to 0; a bare number is seconds", R"({"latency": {"delay": 0.25}})",
       with([](WorkerFaults& f) {
         f.latency = Latency::set({250ms, 0s});
       })},
      {"the bounds are allowed",
       R"({"slow": {"factor": 1}, "errors": {"fraction": 1}, "flap": {"period": "1ms"},
           "latency": {"delay": "10ms", "jitter": "10ms"}})",
       with([](WorkerFaults& f) {
         f.slow = Slow::set({1});
         f.errors = Errors::set({1});
         f.flap = Flap::set({1ms});
         f.latency = Latency::set({10ms, 10ms});
       })},
      {"errors fraction 0 is a setting, not a clear", R"({"errors": {"fraction": 0}})",
       with([](WorkerFaults& f) { f.errors = Errors::set({0}); })},
  };
  for (const Row& row : rows) {
    CAPTURE(std::string(row.what));
    const WorkerFaults got = parse_faults_text(row.text);
    CHECK(got == row.expected);
    // Its JSON parses back to the same message.
    CHECK(parse_faults_text(worker_faults_json(got)) == got);
  }
}

TEST_CASE("WorkerFaults: each mistake names the field as a JSON pointer") {
  struct Row {
    std::string text;
    std::string pointer;
    std::string expected;  // substring of what was expected
  };
  const std::vector<Row> rows = {
      {R"([1, 2])", "/", "an object"},
      {R"({"slowness": {"factor": 2}})", "/slowness", "one of the known fields"},
      {R"({"slow": 10})", "/slow", "an object"},
      {R"({"slow": {}})", "/slow/factor", "a value"},
      {R"({"slow": {"factor": 0.5}})", "/slow/factor", "between 1 and 1000"},
      {R"({"slow": {"factor": "x10"}})", "/slow/factor", "a number"},
      {R"({"slow": {"factor": 2, "for": "10s"}})", "/slow/for", "one of the known fields (factor)"},
      {R"({"errors": {"fraction": 1.5}})", "/errors/fraction", "between 0 and 1"},
      {R"({"errors": {"fraction": -0.1}})", "/errors/fraction", "between 0 and 1"},
      {R"({"crash_after": {"requests": 0}})", "/crash_after/requests", "a whole number"},
      {R"({"crash_after": {"requests": 2.5}})", "/crash_after/requests", "a whole number"},
      {R"({"flap": {"period": "0s"}})", "/flap/period", "a duration"},
      {R"({"flap": {"period": "often"}})", "/flap/period", "a duration"},
      {R"({"flap": {}})", "/flap/period", "a value"},
      {R"({"latency": {"jitter": "5ms"}})", "/latency/delay", "a value"},
      {R"({"latency": {"delay": "10ms", "jitter": "20ms"}})", "/latency/jitter",
       "between 0s and 10ms"},
      {R"({"latency": {"delay": "-1s"}})", "/latency/delay", "a duration"},
  };
  for (const Row& row : rows) {
    CAPTURE(row.text);
    try {
      parse_faults_text(row.text);
      FAIL("accepted");
    } catch (const UserError& e) {
      CHECK(e.file() == "body");
      CHECK(e.pointer() == row.pointer);
      CHECK_MESSAGE(e.expected().find(row.expected) != std::string::npos, e.expected());
    }
  }
}

TEST_CASE("WorkerFaults: one kind's object beside the caller's own fields") {
  const auto doc = nlohmann::json::parse(R"({"workers": "25%", "factor": 4})");
  WorkerFaults f;
  parse_worker_fault("slow", ConfigNode(doc, "scenario.json", "/faults/0/slow"), f, {"workers"});
  CHECK(f.slow == FaultSetting<SlowFault>::set({4}));
  CHECK(f.errors.op == FaultOp::kKeep);

  const auto other = nlohmann::json::parse(R"({"workers": 1, "fraction": 0.5, "extra": 1})");
  CHECK_THROWS_WITH_AS(
      parse_worker_fault("errors", ConfigNode(other, "scenario.json", "/faults/1/errors"), f,
                         {"workers"}),
      doctest::Contains("/faults/1/errors/extra"), UserError);
}

TEST_CASE("WorkerFaults: the message's JSON leaves kept kinds out and writes cleared ones null") {
  WorkerFaults f;
  f.slow = FaultSetting<SlowFault>::set({2.5});
  f.flap = FaultSetting<FlapFault>::clear();
  f.latency = FaultSetting<LatencyFault>::set({1500us, 0s});
  const auto j = nlohmann::json::parse(worker_faults_json(f));
  CHECK(j == nlohmann::json::parse(
                 R"({"slow": {"factor": 2.5}, "flap": null,
                     "latency": {"delay": "1500us", "jitter": "0s"}})"));
  CHECK(nlohmann::json::parse(worker_faults_json(WorkerFaults::clear_all())) ==
        nlohmann::json::parse(
            R"({"slow": null, "errors": null, "crash_after": null, "flap": null,
                "latency": null})"));
}

TEST_CASE("control interface: the answers to each request, apart from the socket") {
  struct Row {
    const char* what;
    const char* method;
    const char* target;
    std::string body;
    int status;
    std::string field;  // of a 400; "-" when the answer is the faults set
    const char* allow = "";
  };
  const std::vector<Row> rows = {
      {"GET: nothing set yet", "GET", "/flotilla/faults", "", 200, "-"},
      {"PUT sets, and answers what is set", "PUT", "/flotilla/faults", R"({"slow": {"factor": 3}})",
       200, "-"},
      {"a query is ignored", "GET", "/flotilla/faults?pretty=1", "", 200, "-"},
      {"not JSON", "PUT", "/flotilla/faults", "{slow", 400, ""},
      {"an empty body", "PUT", "/flotilla/faults", "", 400, ""},
      {"not an object", "PUT", "/flotilla/faults", "[]", 400, ""},
      {"a bad field", "PUT", "/flotilla/faults", R"({"errors": {"fraction": 2}})", 400,
       "/errors/fraction"},
      {"an unknown kind", "PUT", "/flotilla/faults", R"({"stop": {}})", 400, "/stop"},
      {"another method", "POST", "/flotilla/faults", "{}", 405, "", "GET, PUT"},
      {"DELETE is not a clear", "DELETE", "/flotilla/faults", "", 405, "", "GET, PUT"},
      {"another control path", "GET", "/flotilla/other", "", 404, ""},
  };
  for (const Row& row : rows) {
    CAPTURE(std::string(row.what));
    WorkerModel model(quick_profile());
    const WorkerFaults before = model.faults();
    const ControlAnswer a = control_request(row.method, row.target, row.body, model, 1s);
    CHECK(a.status == row.status);
    CHECK(a.allow == row.allow);
    const auto body = nlohmann::json::parse(a.body);
    if (row.field == "-") {
      CHECK(body == nlohmann::json::parse(worker_faults_json(model.faults())));
    } else {
      CHECK(body["field"] == row.field);
      CHECK(body["error"].get<std::string>().rfind("expected ", 0) == 0);
      CHECK(model.faults() == before);  // a refused request changes nothing
    }
  }
}

TEST_CASE("control interface: a PUT changes only the kinds it names, GET shows the state") {
  WorkerModel model(quick_profile());
  auto put = [&](const std::string& body) {
    const ControlAnswer a = control_request("PUT", kFaultsPath, body, model, 0s);
    REQUIRE(a.status == 200);
    return nlohmann::json::parse(a.body);
  };
  auto state = put(R"({"slow": {"factor": 10}, "crash_after": {"requests": 5}})");
  CHECK(state["slow"]["factor"] == 10);
  CHECK(state["crash_after"]["requests"] == 5);
  CHECK(state["errors"].is_null());
  state = put(R"({"errors": {"fraction": 0.25}})");
  CHECK(state["slow"]["factor"] == 10);
  CHECK(state["errors"]["fraction"] == 0.25);
  state = put(R"({"slow": null})");
  CHECK(state["slow"].is_null());
  CHECK(state["errors"]["fraction"] == 0.25);
  const auto got = nlohmann::json::parse(control_request("GET", kFaultsPath, "", model, 0s).body);
  CHECK(got == state);
  CHECK(is_control_target("/flotilla/faults"));
  CHECK(is_control_target("/flotilla/x?y"));
  CHECK_FALSE(is_control_target("/flotilla"));
  CHECK_FALSE(is_control_target("/work?/flotilla/"));
  CHECK_FALSE(is_control_target("/health"));
  // Control requests are not work.
  CHECK(model.served() == 0);
  CHECK(model.rejected() == 0);
}

}  // namespace flotilla
