#include "orchestrator/validate.h"

#include <filesystem>
#include <sstream>

#include "core/config.h"
#include "core/duration.h"
#include "core/errors.h"
#include "orchestrator/balance_config.h"
#include "scaling/policy_file.h"
#include "orchestrator/balance_config.h"
#include "scenario/scenario.h"
#include "worker/profile.h"

namespace flotilla {

namespace fs = std::filesystem;

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

std::string validate_file(const std::string& path) {
  std::ostringstream summary;
  switch (detect_file_kind(path)) {
    case FileKind::scenario: {
      const Scenario s = load_scenario(path);
      // The files it refers to are checked with their own parsers.
      const WorkerProfile profile = load_worker_profile(s.fleet.profile);
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

}  // namespace flotilla
