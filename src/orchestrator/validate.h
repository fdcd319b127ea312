#pragma once
// `flotilla validate FILE... [--json]`: checks scenario, worker profile, policy and balancer files
// with the same parsers that `flotilla run` uses, including the files a scenario refers to.
//
// Prints one line per file, "ok   FILE: SUMMARY" or "FAIL FILE: MESSAGE" (a refused file shows
// FAIL alone), "ok" and "FAIL" in colour when allowed (core/terminal.h). With --json, standard
// output is a JSON array alone, one object per file in the order given:
//   {"file", "kind" ("scenario", "profile", "policy", "balancer", or "unknown" when the file's
//    kind cannot be told), "ok": bool, "summary" (when ok),
//    "error" (when not ok): {"message" (the line's text), "file" (the file the mistake is in: a
//    scenario's profile or policy may be at fault), "field" (JSON pointer, "" for the whole
//    file), "expected" (null when the message is not about a field)}}.
// Returns 2 when any file is refused, 0 otherwise, with or without --json.
#include <iosfwd>
#include <string>
#include <vector>

namespace flotilla {

enum class FileKind { scenario, profile, policy, balancer };
// "scenario", "profile", "policy", "balancer".
const char* to_string(FileKind kind);

// Which parser a file needs: by its folder (scenarios/, fleet/, policies/) and else by its
// content ("traffic" -> scenario, "type", "PolicyType", "AlarmName" or "kind" -> policy,
// "capacity" -> profile, "target_groups" or "listen" -> balancer config).
// Throws UserError if it cannot tell.
FileKind detect_file_kind(const std::string& path);

// Throws UserError naming the file, the field and what was expected; returns a one-line summary
// ("scenario flash-sale: 90s, 2..10 workers, 1 policy, 1 fault, 4 expectations").
std::string validate_file(const std::string& path);

struct ValidateOptions {
  std::vector<std::string> files;
  bool json = false;
  bool colour = false;  // may colour `out` (core/terminal.h); never with json
};
int validate_command(const ValidateOptions& options, std::ostream& out);

}  // namespace flotilla
