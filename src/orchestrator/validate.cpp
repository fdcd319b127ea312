#include "orchestrator/validate.h"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <sstream>

#include "core/config.h"
#include "core/duration.h"
#include "core/errors.h"
#include "core/terminal.h"
#include "orchestrator/balance_config.h"
#include "orchestrator/scenario_system.h"
#include "scaling/policy_file.h"
#include "scenario/scenario.h"
#include "worker/profile.h"

namespace flotilla {

namespace fs = std::filesystem;

const char* to_string(FileKind kind) {
  switch (kind) {
    case FileKind::scenario:
      return "scenario";
    case FileKind::profile:
      return "profile";
    case FileKind::policy:
      return "policy";
    case FileKind::balancer:
      return "balancer";
  }
  return "unknown";
}

FileKind detect_file_kind(const std::string& path) {
  const std::string folder = fs::path(path).parent_path().filename().string();
  if (folder == "scenarios") return FileKind::scenario;
  if (folder == "fleet") return FileKind::profile;
  if (folder == "policies") return FileKind::policy;
  const std::string extension = fs::path(path).extension().string();
  // YAML here can only be a Kubernetes HPA manifest.
  if (extension == ".yaml" || extension == ".yml") return FileKind::policy;
  const auto doc = load_json_file(path);
  if (doc.is_object()) {
    if (doc.contains("traffic")) return FileKind::scenario;
    // Native ("type"), AWS put-scaling-policy ("PolicyType"), AWS put-metric-alarm ("AlarmName"),
    // or an HPA manifest in JSON ("kind").
    if (doc.contains("type") || doc.contains("PolicyType") || doc.contains("AlarmName") ||
        doc.contains("kind"))
      return FileKind::policy;
    if (doc.contains("capacity") || doc.contains("service_time")) return FileKind::profile;
    if (doc.contains("target_groups") || doc.contains("listen")) return FileKind::balancer;
  }
  throw UserError(path, "",
                  "a scenario (with \"traffic\"), a worker profile (with \"capacity\"), a "
                  "scaling policy (with \"type\") or a balancer config (with \"target_groups\")");
}

namespace {

std::string summarize(const std::string& path, FileKind kind) {
  std::ostringstream summary;
  switch (kind) {
    case FileKind::scenario: {
      const Scenario s = load_scenario(path);
      // The files it refers to are checked with their own parsers.
      const WorkerProfile profile = fleet_profile(s);
      for (const auto& policy : s.policies)
        load_policy_file(policy, time_scaled(s.effective_time_scale()));
      BalancerConfig listener;
      TargetGroupConfig group;
      scenario_balancer(s, listener, group);
      summary << "scenario " << s.name << ": " << format_duration(s.duration) << ", " << s.fleet.min
              << ".." << s.fleet.max << " workers (" << profile.name << "), " << s.policies.size()
              << " polic" << (s.policies.size() == 1 ? "y" : "ies") << ", " << s.faults.size()
              << " fault" << (s.faults.size() == 1 ? "" : "s") << ", " << s.expect.size()
              << " expectation" << (s.expect.size() == 1 ? "" : "s")
              << "; traffic: " << s.traffic.describe();
      break;
    }
    case FileKind::profile: {
      const WorkerProfile p = load_worker_profile(path);
      summary << "worker profile " << p.name << ": capacity " << p.capacity << ", "
              << to_string(p.service_time.distribution) << " service time, mean "
              << format_duration(p.service_time.mean) << ", queue limit " << p.queue_limit
              << ", boot " << format_duration(p.boot_time);
      break;
    }
    case FileKind::policy:
      summary << describe_policy_file(path);
      break;
    case FileKind::balancer: {
      const BalanceConfig config = load_balance_config(path);
      summary << "balancer config: " << config.target_groups.size() << " target group"
              << (config.target_groups.size() == 1 ? "" : "s");
      break;
    }
  }
  return summary.str();
}

struct FileCheck {
  std::string file;
  std::optional<FileKind> kind;  // empty: it could not be told
  std::string summary;
  std::optional<UserError> error;

  // The refusal as the text line shows it: the message names the file at fault, and the file
  // asked about is named first when that is another one.
  std::string message() const {
    const std::string text = error->what();
    return error->file() == file ? text : file + ": " + text;
  }
};

FileCheck check_file(const std::string& path) {
  FileCheck check;
  check.file = path;
  try {
    check.kind = detect_file_kind(path);
    check.summary = summarize(path, *check.kind);
  } catch (const UserError& e) {
    check.error = e;
  }
  return check;
}

nlohmann::json check_json(const FileCheck& c) {
  nlohmann::json doc = {
      {"file", c.file}, {"kind", c.kind ? to_string(*c.kind) : "unknown"}, {"ok", !c.error}};
  if (!c.error) {
    doc["summary"] = c.summary;
    return doc;
  }
  const UserError& e = *c.error;
  doc["error"] = {
      {"message", c.message()},
      {"file", e.file().empty() ? c.file : e.file()},
      {"field", e.pointer()},
      {"expected", e.expected().empty() ? nlohmann::json() : nlohmann::json(e.expected())}};
  return doc;
}

}  // namespace

std::string validate_file(const std::string& path) {
  return summarize(path, detect_file_kind(path));
}

int validate_command(const ValidateOptions& options, std::ostream& out) {
  int code = kExitOk;
  nlohmann::json checks = nlohmann::json::array();
  for (const std::string& file : options.files) {
    const FileCheck check = check_file(file);
    if (check.error) code = kExitUsage;
    if (options.json) {
      checks.push_back(check_json(check));
    } else if (check.error) {
      out << paint("FAIL", Colour::red, options.colour) << " " << check.message() << "\n";
    } else {
      out << paint("ok", Colour::green, options.colour) << "   " << file << ": " << check.summary
          << "\n";
    }
  }
  if (options.json) out << checks.dump(2) << "\n";
  return code;
}

}  // namespace flotilla
