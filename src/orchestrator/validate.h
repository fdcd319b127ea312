#pragma once
// `flotilla validate FILE...`: checks scenario, worker profile and policy files with the same
// parsers that `flotilla run` uses, including the files a scenario refers to.
#include <string>

namespace flotilla {

enum class FileKind { scenario, profile, policy, balancer };

// Which parser a file needs: by its folder (scenarios/, fleet/, policies/) and else by its
// content ("traffic" -> scenario, "type", "PolicyType", "AlarmName" or "kind" -> policy,
// "capacity" -> profile, "target_groups" or "listen" -> balancer config).
// Throws UserError if it cannot tell.
FileKind detect_file_kind(const std::string& path);

// Throws UserError naming the file, the field and what was expected; returns a one-line summary
// ("scenario flash-sale: 90s, 2..10 workers, 1 policy, 1 fault, 4 expectations").
std::string validate_file(const std::string& path);

}  // namespace flotilla
