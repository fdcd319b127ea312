#include <doctest/doctest.h>

#include <filesystem>
#include <string>

#include "core/errors.h"
#include "scaling/policy_file.h"
#include "scaling/target_tracking.h"

using namespace flotilla;

namespace {

std::unique_ptr<ScalingPolicy> parse(const std::string& text, const std::string& file = "p.json") {
  const auto doc = nlohmann::json::parse(text);
  return parse_policy(ConfigNode(doc, file));
}

// The JSON pointer of the UserError that parsing `text` throws ("" if none).
std::string error_pointer(const std::string& text) {
  try {
    parse(text);
  } catch (const UserError& e) {
    return e.pointer();
  }
  return "";
}

}  // namespace

TEST_CASE("Every file in policies/ loads and validates") {
  const std::filesystem::path dir = std::filesystem::path(FLOTILLA_SOURCE_DIR) / "policies";
  int loaded = 0, alarms = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string file = entry.path().string();
    CAPTURE(file);
    const auto format = detect_policy_format(read_policy_document(file), file);
    if (format == PolicyFormat::aws_alarm) {
      // Alarms are named <policy>.alarm.json, beside the policy they drive.
      CHECK(describe_policy_file(file).rfind("alarm ", 0) == 0);
      CHECK(entry.path().stem().extension() == ".alarm");
      ++alarms;
      continue;
    }
    std::unique_ptr<ScalingPolicy> p;
    CHECK_NOTHROW(p = load_policy_file(file));
    REQUIRE(p);
    CHECK(p->name() == entry.path().stem().string());  // files are named after their policy
    // A policy reads metrics or alarms, unless it runs on a schedule.
    CHECK((!p->metrics().empty() || !p->alarms().empty() || p->type() == "scheduled"));
    ++loaded;
  }
  CHECK(loaded >= 7);
  CHECK(alarms >= 1);
}

TEST_CASE("policies/cpu-target-50.json has the documented values") {
  const auto p =
      load_policy_file(std::string(FLOTILLA_SOURCE_DIR) + "/policies/cpu-target-50.json");
  auto* tt = dynamic_cast<TargetTrackingPolicy*>(p.get());
  REQUIRE(tt != nullptr);
  CHECK(tt->config().target_value == 50);
  CHECK(tt->config().scale_out_periods == 3);
  CHECK(tt->config().scale_in_periods == 8);
  CHECK(tt->config().scale_in_ratio == doctest::Approx(0.9));
  CHECK(tt->config().warmup == 4s);
  CHECK_FALSE(tt->config().disable_scale_in);
}

TEST_CASE("target_tracking: defaults are AWS's") {
  const auto p = parse(R"({"type": "target_tracking", "target_value": 60})", "dir/my-policy.json");
  auto* tt = dynamic_cast<TargetTrackingPolicy*>(p.get());
  REQUIRE(tt != nullptr);
  CHECK(tt->name() == "my-policy");
  CHECK(tt->config().metric == "ASGAverageCPUUtilization");
  CHECK(tt->config().scale_out_periods == 3);
  CHECK(tt->config().scale_in_periods == 15);
  CHECK(tt->config().scale_in_ratio == doctest::Approx(0.9));
  CHECK(tt->config().warmup == Duration::zero());
  CHECK_FALSE(tt->config().scale_in_cooldown.has_value());
}

TEST_CASE("policy files: mistakes name the field") {
  struct Row {
    const char* name;
    const char* text;
    const char* pointer;
  };
  const Row rows[] = {
      {"not an object", R"([1])", "/"},
      {"missing type", R"({"target_value": 50})", "/type"},
      {"unknown type", R"({"type": "step", "target_value": 50})", "/type"},
      {"type not a string", R"({"type": 3})", "/type"},
      {"unknown field", R"({"type": "target_tracking", "target_value": 50, "targte": 1})",
       "/targte"},
      {"missing target", R"({"type": "target_tracking"})", "/target_value"},
      {"target zero", R"({"type": "target_tracking", "target_value": 0})", "/target_value"},
      {"target above 100", R"({"type": "target_tracking", "target_value": 150})", "/target_value"},
      {"target a string", R"({"type": "target_tracking", "target_value": "50"})", "/target_value"},
      {"unknown metric",
       R"({"type": "target_tracking", "target_value": 50, "metric": "ALBRequestCount"})",
       "/metric"},
      {"zero periods", R"({"type": "target_tracking", "target_value": 50, "scale_out_periods": 0})",
       "/scale_out_periods"},
      {"fractional periods",
       R"({"type": "target_tracking", "target_value": 50, "scale_in_periods": 2.5})",
       "/scale_in_periods"},
      {"ratio above 1", R"({"type": "target_tracking", "target_value": 50, "scale_in_ratio": 1.5})",
       "/scale_in_ratio"},
      {"bad warmup", R"({"type": "target_tracking", "target_value": 50, "warmup": "soon"})",
       "/warmup"},
      {"bad bool", R"({"type": "target_tracking", "target_value": 50, "disable_scale_in": "yes"})",
       "/disable_scale_in"},
      {"bad cooldown",
       R"({"type": "target_tracking", "target_value": 50, "scale_in_cooldown": "-1s"})",
       "/scale_in_cooldown"},
      {"empty name", R"({"type": "target_tracking", "target_value": 50, "name": ""})", "/name"},
  };
  for (const Row& r : rows) {
    const std::string row = r.name;
    CAPTURE(row);
    CHECK(error_pointer(r.text) == r.pointer);
  }
}

TEST_CASE("policy files: a missing file is a UserError naming it") {
  try {
    load_policy_file("/nonexistent/policy.json");
    FAIL("expected a UserError");
  } catch (const UserError& e) {
    CHECK(e.file() == "/nonexistent/policy.json");
  }
}

TEST_CASE("policy registry: new types dispatch on \"type\"") {
  class Fixed final : public ScalingPolicy {
   public:
    const std::string& name() const override { return name_; }
    const std::string& type() const override { return name_; }
    std::vector<MetricRequest> metrics() const override { return {}; }
    PolicyRole role() const override { return PolicyRole::alarm; }
    Decision decide(const MetricsSnapshot&, const GroupState&, Time) override {
      Decision d;
      d.desired = 3;
      d.reason = "fixed";
      return d;
    }

   private:
    std::string name_ = "fixed";
  };
  register_policy_type("fixed_for_test", [](const ConfigNode& node) {
    node.only_keys({"type"});
    return std::make_unique<Fixed>();
  });
  const auto types = policy_types();
  CHECK(std::find(types.begin(), types.end(), "target_tracking") != types.end());
  CHECK(std::find(types.begin(), types.end(), "fixed_for_test") != types.end());
  const auto p = parse(R"({"type": "fixed_for_test"})");
  CHECK(p->decide({}, {}, Time::zero()).desired == 3);
}
