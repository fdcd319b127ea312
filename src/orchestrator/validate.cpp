#include "orchestrator/validate.h"

#include <filesystem>
#include <sstream>

#include "core/config.h"
#include "core/duration.h"
#include "core/errors.h"
#include "scaling/policy_file.h"
#include "scenario/scenario.h"
#include "worker/profile.h"

namespace flotilla {

namespace fs = std::filesystem;

FileKind detect_file_kind(const std::string& path) {
  const std::string folder = fs::path(path).parent_path().filename().string();
  if (folder == "scenarios") return FileKind::scenario;
  if (folder == "fleet") return FileKind::profile;
  if (folder == "policies") return FileKind::policy;
  const auto doc = load_json_file(path);
  if (doc.is_object()) {
    if (doc.contains("traffic")) return FileKind::scenario;
    if (doc.contains("type")) return FileKind::policy;
    if (doc.contains("capacity") || doc.contains("service_time")) return FileKind::profile;
  }
  throw UserError(path, "",
                  "a scenario (with \"traffic\"), a worker profile (with \"capacity\") or a "
                  "scaling policy (with \"type\")");
}

std::string validate_file(const std::string& path) {
  std::ostringstream summary;
  switch (detect_file_kind(path)) {
    case FileKind::scenario: {
      const Scenario s = load_scenario(path);
      // The files it refers to are checked with their own parsers.
      const WorkerProfile profile = load_worker_profile(s.fleet.profile);
      for (const auto& policy : s.policies) load_policy_file(policy);
      summary << "scenario " << s.name << ": " << format_duration(s.duration) << ", " << s.fleet.min
              << ".." << s.fleet.max << " workers (" << profile.name << "), " << s.policies.size()
              << " polic" << (s.policies.size() == 1 ? "y" : "ies") << ", " << s.faults.size()
              << " fault" << (s.faults.size() == 1 ? "" : "s") << ", " << s.expect.size()
              << " expectation" << (s.expect.size() == 1 ? "" : "s");
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
    case FileKind::policy: {
      const auto policy = load_policy_file(path);
      summary << "scaling policy " << policy->name() << " (" << policy->type() << ")";
      break;
    }
  }
  return summary.str();
}

}  // namespace flotilla
