#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <vector>

#include "core/config.h"
#include "core/errors.h"

using namespace flotilla;

namespace {
std::string message_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const UserError& e) {
    return e.what();
  }
  return "<no error>";
}
}  // namespace

TEST_CASE("ConfigNode: errors name the file, the JSON pointer and what was expected") {
  const auto doc = nlohmann::json::parse(R"({"traffic":{"stages":[{"target":1},{"target":2},{"target":"x"}]},
    "duration":"soon","count":2.5,"mode":"fast","a/b":{"c~d":true}})");
  ConfigNode root(doc, "s.json");
  struct Row {
    std::function<void()> read;
    std::string want;
  };
  const Row rows[] = {
      {[&] { root.at("traffic").at("stages").items()[2].at("target").as_number(0); },
       "s.json: /traffic/stages/2/target: expected a number >= 0, got \"x\""},
      {[&] { root.at("duration").as_duration(); }, "s.json: /duration: expected a duration"},
      {[&] { root.at("count").as_int(1, 10); },
       "s.json: /count: expected a whole number between 1 and 10, got 2.5"},
      {[&] { root.at("mode").as_enum({"slow", "steady"}); },
       "s.json: /mode: expected one of \"slow\", \"steady\", got \"fast\""},
      {[&] { root.at("missing"); }, "s.json: /missing: expected a value, got nothing"},
      {[&] { root.at("a/b").at("c~d").as_string(); }, "s.json: /a~1b/c~0d: expected a string, got true"},
      {[&] { root.only_keys({"traffic", "duration"}); }, "s.json: /a~1b: expected one of the known fields"},
  };
  for (const auto& row : rows) {
    const std::string got = message_of(row.read);
    CAPTURE(got);
    CHECK(got.rfind(row.want, 0) == 0);
  }
}

TEST_CASE("ConfigNode: a refused value that is not UTF-8 is still a UserError") {
  // A YAML manifest's strings are not checked for UTF-8 as JSON text is; dump() threw
  // nlohmann's type_error 316 while writing the message (found by the hpa fuzzer).
  const nlohmann::json doc = {{"n", std::string("a\x97b")}};
  try {
    ConfigNode(doc, "f.yaml").at("n").as_number();
    FAIL("accepted");
  } catch (const UserError& e) {
    CHECK(e.pointer() == "/n");
  }
}

TEST_CASE("ConfigNode: valid values read through") {
  const auto doc = nlohmann::json::parse(R"({"d":"500ms","n":3,"b":false,"s":"x","opt":null})");
  ConfigNode root(doc, "f.json");
  CHECK(root.at("d").as_duration() == std::chrono::milliseconds(500));
  CHECK(root.at("n").as_duration() == std::chrono::seconds(3));
  CHECK(root.at("n").as_int(0, 5) == 3);
  CHECK_FALSE(root.at("b").as_bool());
  CHECK_FALSE(root.get("opt").has_value());
  CHECK_FALSE(root.has("nope"));
  CHECK(root.at("s").as_string() == "x");
}

TEST_CASE("load_json_file: missing file and syntax errors are user errors with a position") {
  namespace fs = std::filesystem;
  const auto dir = fs::temp_directory_path() / ("flotilla-config-test-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const auto bad = (dir / "bad.json").string();
  std::ofstream(bad) << "{\n  \"a\": 1,\n  \"b\": ]\n}\n";
  CHECK(message_of([&] { load_json_file(bad); }).find("line 3, column 8") != std::string::npos);
  CHECK(message_of([&] { load_json_file((dir / "nope.json").string()); }).find("not found") !=
        std::string::npos);
  fs::remove_all(dir);
}

TEST_CASE("resolve_relative_path: the file's folder, then its ancestors") {
  namespace fs = std::filesystem;
  const auto root = fs::temp_directory_path() / ("flotilla-paths-" + std::to_string(::getpid()));
  fs::create_directories(root / "scenarios");
  fs::create_directories(root / "fleet");
  std::ofstream(root / "fleet" / "p.json") << "{}";
  std::ofstream(root / "scenarios" / "local.json") << "{}";
  const auto scenario = (root / "scenarios" / "s.json").string();
  CHECK(resolve_relative_path(scenario, "fleet/p.json") == (root / "fleet" / "p.json").string());
  CHECK(resolve_relative_path(scenario, "local.json") == (root / "scenarios" / "local.json").string());
  CHECK_FALSE(resolve_relative_path(scenario, "fleet/none.json").has_value());
  fs::remove_all(root);
}

TEST_CASE("closest_field: the known field an unknown one misspells, or none") {
  const std::vector<std::string_view> fleet = {"profile",           "min",  "max", "desired",
                                               "health_check_type", "zones"};
  struct Row {
    const char* unknown;
    std::vector<std::string_view> known;
    std::optional<std::string_view> want;
  };
  const Row rows[] = {
      {"desird", fleet, "desired"},                       // one deletion
      {"desiredd", fleet, "desired"},                     // one insertion
      {"desirde", fleet, "desired"},                      // one transposition
      {"dsierd", fleet, "desired"},                       // an insertion and a transposition
      {"dezird", fleet, "desired"},                       // a substitution and a deletion
      {"dzzird", fleet, std::nullopt},                    // three edits
      {"Desired", fleet, "desired"},                      // case alone
      {"healthCheckType", fleet, "health_check_type"},    // case and underscores
      {"health-check-type", fleet, "health_check_type"},  // dashes for underscores
      {"HealthChekType", fleet, "health_check_type"},     // case, underscores and a deletion
      {"mix", fleet, "min"},                              // ties at 1: the earlier wins
      {"minX", {"min_x", "minx"}, "minx"},                // a tie: nearer as written wins
      {"mn", fleet, "min"},                               // short but one edit away
      {"x", {"at", "ax"}, std::nullopt},                  // no closer than its own length
      {"fr", {"at", "for"}, "for"},
      {"colour", fleet, std::nullopt},
      {"", fleet, std::nullopt},
      {"zone", fleet, "zones"},
      {"schema", {"name", "$schema"}, "$schema"},
      {"Treshold", {"Threshold", "Thresholds"}, "Threshold"},  // the nearer of two
      {"anything", {}, std::nullopt},
  };
  for (const auto& row : rows) {
    CAPTURE(row.unknown);
    CHECK(closest_field(row.unknown, row.known) == row.want);
  }
}

TEST_CASE("only_keys: an unknown field names the known ones and the closest") {
  const auto doc = nlohmann::json::parse(
      R"({"fleet": {"desird": 2}, "balancer": {"colour": "red"}, "Fleet": {}, "x": 1})");
  const ConfigNode root(doc, "s.json");
  struct Row {
    std::function<void()> read;
    std::string want;  // the whole message
  };
  const Row rows[] = {
      {[&] {
         root.at("fleet").only_keys({"min", "max", "desired"});
       },
       "s.json: /fleet/desird: expected one of the known fields (min, max, desired), got an "
       "unknown field; did you mean \"desired\"?"},
      {[&] {
         root.at("balancer").only_keys({"algorithm", "timeouts"});
       },
       "s.json: /balancer/colour: expected one of the known fields (algorithm, timeouts), got an "
       "unknown field"},
      {[&] {
         root.only_keys({"fleet", "balancer", "x"});
       },
       "s.json: /Fleet: expected one of the known fields (fleet, balancer, x), got an unknown "
       "field; did you mean \"fleet\"?"},
  };
  for (const auto& row : rows) CHECK(message_of(row.read) == row.want);
}

TEST_CASE("only_file_keys: \"$schema\" is a string that means nothing, at the top level only") {
  struct Row {
    const char* document;
    std::string want;  // the message, or "<no error>"
  };
  const Row rows[] = {
      {R"({"name": "a", "$schema": "../schema/scenario.schema.json"})", "<no error>"},
      {R"({"name": "a"})", "<no error>"},
      {R"({"$schema": 3})", "f.json: /$schema: expected a string, got 3"},
      {R"({"schema": "x"})",
       "f.json: /schema: expected one of the known fields (name, $schema), got an unknown field; "
       "did you mean \"$schema\"?"},
  };
  for (const auto& row : rows) {
    const auto doc = nlohmann::json::parse(row.document);
    CAPTURE(row.document);
    CHECK(message_of([&] { ConfigNode(doc, "f.json").only_file_keys({"name"}); }) == row.want);
  }
  // only_keys, which the blocks inside a file and the AWS and HPA formats use, refuses it.
  const auto doc = nlohmann::json::parse(R"({"$schema": "x"})");
  CHECK(message_of([&] { ConfigNode(doc, "f.json").only_keys({"name"}); }) ==
        "f.json: /$schema: expected one of the known fields (name), got an unknown field");
}
