#include "serve/serve_command.h"

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <ostream>

#include "core/duration.h"
#include "core/errors.h"
#include "orchestrator/balance_config.h"
#include "orchestrator/environment.h"
#include "orchestrator/run.h"
#include "orchestrator/scenario_system.h"
#include "serve/admin_api.h"
#include "serve/admin_server.h"
#include "serve/serve_session.h"

namespace flotilla {

namespace {

Endpoint parse_address(const std::string& text, const std::string& flag) {
  const auto endpoint = parse_host_port(text, true);
  if (!endpoint) throw UserError(flag + " " + text + ": expected HOST:PORT (port 0: any free one)");
  return *endpoint;
}

std::string url_of(const std::string& host, std::uint16_t port) {
  return "http://" + host + ":" + std::to_string(port) + "/";
}

}  // namespace

bool is_loopback_host(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

std::string read_token_file(const std::string& path, const std::string& flag) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw UserError(flag + " " + path + ": expected a file holding a token, got a folder");
  std::ifstream in(path);
  if (!in) throw UserError(flag + " " + path + ": expected a readable file holding a token");
  std::string line;
  std::getline(in, line);
  const auto first = line.find_first_not_of(" \t\r\n");
  const auto last = line.find_last_not_of(" \t\r\n");
  if (first == std::string::npos)
    throw UserError(flag + " " + path + ": expected a token on its first line; the file has none");
  return line.substr(first, last - first + 1);
}

int serve_command(const ServeOptions& options, std::ostream& out) {
  // Everything the user wrote is checked before anything starts.
  const Scenario scenario = load_scenario(options.scenario_path, ScenarioUse::kServe);
  const Endpoint listen = parse_address(options.listen, "--listen");
  const Endpoint admin = parse_address(options.admin, "--admin");
  std::optional<std::string> token;
  if (!options.token_file.empty()) token = read_token_file(options.token_file, "--token-file");
  if (!token && !is_loopback_host(admin.host))
    throw UserError("--admin " + options.admin +
                    ": the admin API kills and scales workers; on an address other than "
                    "loopback it needs --token-file");
  ServeSettings settings;
  settings.spec.seed = options.seed.value_or(scenario.seed);
  settings.spec.worker_executable =
      options.worker_executable.empty() ? default_worker_executable() : options.worker_executable;
  const LiveProvider provider = live_provider(scenario, settings.spec.worker_executable);
  const OutputFolder folder(options.out_dir, "serve");
  settings.spec.output_dir = folder.path();
  settings.spec.started_at = utc_stamp("%Y-%m-%dT%H:%M:%SZ");
  settings.retention = options.retention;
  settings.wall_origin = std::chrono::system_clock::now();

  boost::asio::io_context io;
  LiveOptions live;
  live.balancer = balancer_settings(scenario, settings.spec.seed).listener;
  live.balancer.host = listen.host;
  live.balancer.port = listen.port;
  live.io = &io;
  live.provider = provider;
  live.swarm = swarm_options(scenario);
  std::unique_ptr<Environment> env = make_live(std::move(live));
  ServeSession session(*env, scenario, settings);
  AdminApi api(session, token);
  // The admin address is taken before any worker starts, so a port in use costs nothing.
  AdminServer server(io, api, admin.host, admin.port);
  session.start();
  out << "balancer listening on http://" << env->balancer_address() << "/\n"
      << "dashboard on " << url_of(admin.host, server.port()) << "\n"
      << std::flush;

  // Until SIGINT or SIGTERM (the environment's signal set).
  env->run_until([] { return false; }, std::chrono::hours(24 * 365 * 10));
  // The first signal asks for an orderly stop; a second one during it cuts it short
  // (drain_data_plane, System::shutdown).
  out << "stopping: draining the balancer and stopping the workers" << std::endl;
  server.stop();
  session.shutdown(options.drain_timeout);
  const RunRecord record = session.record();
  write_run_outputs(settings.spec.output_dir, record);
  out << "report: " << (std::filesystem::path(settings.spec.output_dir) / "report.html").string()
      << std::endl;
  return kExitOk;
}

}  // namespace flotilla
