#pragma once
// The commands that talk to a running `flotilla serve` through its admin API (admin_client.h):
//   flotilla status                       the group, traffic now, and every worker
//   flotilla kill ID... | --workers N|PCT|oldest|newest | --random  [--signal S]
//   flotilla scale [--desired N] [--min N] [--max N]
//   flotilla fault FILE|JSON              a fault entry as in scenario files, starting now
//   flotilla load --rps N [--duration D] | --stop   the built-in generator's rate
// Tables for people, --json for scripts (the API's own JSON). Each returns the exit code: 0 done;
// 1 when serve cannot be reached or refused the token (AdminUnavailable, caught here and
// printed on `err`); a bad argument throws UserError (exit 2).
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace flotilla {

struct AdminFlags {
  std::string admin;       // --admin URL ("" : $FLOTILLA_ADMIN or the default)
  std::string token_file;  // --token-file ("" : $FLOTILLA_TOKEN)
  bool json = false;
};

int status_command(const AdminFlags& flags, std::ostream& out, std::ostream& err);

struct KillFlags {
  std::vector<std::string> ids;
  std::string workers;  // "", "2", "25%", "oldest", "newest"
  bool random = false;  // --workers 1
  std::string signal = "KILL";
};
int kill_command(const AdminFlags& flags, const KillFlags& kill, std::ostream& out,
                 std::ostream& err);

struct ScaleFlags {
  std::optional<int> desired, min, max;
};
int scale_command(const AdminFlags& flags, const ScaleFlags& scale, std::ostream& out,
                  std::ostream& err);

// `fault`: a file name, or JSON text when it starts with '{'.
int fault_command(const AdminFlags& flags, const std::string& fault, std::ostream& out,
                  std::ostream& err);

struct ServeLoadFlags {
  std::optional<double> rps;
  std::optional<std::string> duration;
  bool stop = false;
};
int serve_load_command(const AdminFlags& flags, const ServeLoadFlags& load, std::ostream& out,
                       std::ostream& err);

}  // namespace flotilla
