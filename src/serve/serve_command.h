#pragma once
// `flotilla serve FILE`: the high-availability demo. Builds the scenario's system live
// (serve_session.h), puts the admin API and the dashboard on --admin (admin_server.h), prints
//   balancer listening on http://HOST:PORT/
//   dashboard on http://HOST:PORT/
// once both listen, and runs until SIGINT or SIGTERM. Then it stops taking requests, drains,
// stops every worker, writes report.json, timeseries.csv and report.html for the whole session
// into --out and returns 0. User mistakes throw UserError (exit 2): a bad file or address, a
// port in use, an admin address other than loopback without --token-file, an empty token file.
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>

#include "core/time.h"

namespace flotilla {

struct ServeOptions {
  std::string scenario_path;
  std::string listen = "127.0.0.1:8080";
  std::string admin = "127.0.0.1:9901";
  std::string token_file;  // empty: no token (loopback only)
  std::string out_dir;     // empty: runs/serve-<UTC time>/
  std::optional<std::uint64_t> seed;
  std::string worker_executable;  // empty: beside this executable
  Duration retention = std::chrono::hours(3);  // kDefaultRetentionAge
  Duration drain_timeout = std::chrono::seconds(10);
};

int serve_command(const ServeOptions& options, std::ostream& out);

// The token in a --token-file: its first line, without surrounding whitespace. UserError when
// the file cannot be read or holds no token.
std::string read_token_file(const std::string& path, const std::string& flag);

// 127.0.0.0/8, ::1 and "localhost".
bool is_loopback_host(const std::string& host);

}  // namespace flotilla
