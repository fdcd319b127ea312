// flotilla: the CLI. Parses flags and calls src/; stays thin.
//   flotilla run SCENARIO [--sim] [--out DIR] [--seed N] [--quiet] [--worker PATH] [--junit FILE]
//   flotilla compare SCENARIO --policy FILE... [--sim] [--json] [--out DIR] [--seed N]
//   flotilla report DIR
//   flotilla validate FILE... [--json]
//   flotilla balance --listen ADDR --target HOST:PORT... [--algorithm NAME] [--threads N]
//                    [--config FILE] [--health-check-path PATH] [--drain-timeout D]
//   flotilla load --url URL --rps N --duration D [--connections keep-alive|new] [--threads N]
//                 [--timeout D] [--json] [--quiet]
//   flotilla serve FILE [--listen ADDR] [--admin ADDR] [--token-file F] [--out DIR] [--seed N]
//                 [--retention D] [--drain-timeout D] [--worker PATH]
//   flotilla status | kill ID...|--workers N|PCT|oldest|newest|--random [--signal S] |
//            scale [--desired N] [--min N] [--max N] | fault FILE|JSON |
//            load --rps N [--duration D] | load --stop
//            [--admin URL] [--token-file F] [--json]     (these talk to a running serve)
//   flotilla policy import FILE [--alarm FILE] [--time-scale X] [--json]
//   flotilla policy export FILE --to aws|hpa [--alarm FILE] [--alarm-out FILE] [--time-scale X]
//   flotilla policy lint FILE... [--alarm FILE] [--json]
//   flotilla policy replay POLICY --metric FILE [--capacity N] [--min N] [--max N] [--json]
//   flotilla --version
// Exit codes: 0 success (and every expectation held), 1 an expectation failed or the run broke,
// 2 the user's input is wrong (the message names the file, the field and what was expected).
// With --json, standard output is the JSON alone. Colour only on a terminal without NO_COLOR
// (core/terminal.h).
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "core/duration.h"
#include "core/errors.h"
#include "core/log.h"
#include "core/terminal.h"
#include "flotilla_version.h"
#include "orchestrator/balance_command.h"
#include "orchestrator/compare.h"
#include "orchestrator/load_command.h"
#include "orchestrator/policy_command.h"
#include "orchestrator/report_command.h"
#include "orchestrator/run.h"
#include "orchestrator/validate.h"
#include "serve/control_commands.h"
#include "serve/serve_command.h"

int main(int argc, char** argv) {
  CLI::App app{
      "Flotilla: a local load balancer, auto scaling group and metrics service over a "
      "fleet of simulated servers"};
  app.require_subcommand(1);
  app.set_version_flag("--version", flotilla::version_line("flotilla"));
  std::string log_level = "warn";
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error or off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));

  flotilla::RunOptions run_options;
  std::uint64_t seed = 0;
  auto* run = app.add_subcommand("run", "replay a scenario against a live, scaling fleet");
  run->add_option("scenario", run_options.scenario_path, "scenario file (JSON)")->required();
  run->add_option("--out", run_options.out_dir, "output folder (default runs/<name>-<time>/)");
  auto* seed_option = run->add_option("--seed", seed, "seed, overrides the scenario's");
  run->add_flag("--quiet", run_options.quiet, "no live progress line");
  run->add_flag("--sim", run_options.simulated,
                "run in virtual time with modelled workers: no process, no socket");
  run->add_option("--worker", run_options.worker_executable,
                  "flotilla-worker executable (default: beside flotilla)");
  run->add_option("--junit", run_options.junit_path,
                  "also write each expectation as a JUnit XML test case to FILE (for CI)");

  flotilla::CompareOptions compare_options;
  std::uint64_t compare_seed = 0;
  auto* compare = app.add_subcommand(
      "compare", "run a scenario once per policy and compare cost against the SLO");
  compare->add_option("scenario", compare_options.scenario_path, "scenario file (JSON)")
      ->required();
  compare->add_option("--policy", compare_options.policies,
                      "policy file (native, AWS JSON or HPA); repeat for each policy")
      ->required();
  compare->add_flag("--sim", compare_options.simulated, "run in virtual time (both cores)");
  compare->add_flag("--json", compare_options.json, "print the comparison as JSON");
  compare->add_option("--out", compare_options.out_dir,
                      "write each run's report and compare.json/.csv here");
  auto* compare_seed_option =
      compare->add_option("--seed", compare_seed, "seed, overrides the scenario's");
  compare->add_option("--worker", compare_options.worker_executable,
                      "flotilla-worker executable (default: beside flotilla)");

  flotilla::ReportOptions report_options;
  auto* report = app.add_subcommand(
      "report", "rebuild report.html from a run's report.json and timeseries.csv");
  report->add_option("dir", report_options.dir, "the run's output folder")->required();

  flotilla::ValidateOptions validate_options;
  auto* validate = app.add_subcommand("validate", "check scenario, profile and policy files");
  validate->add_option("files", validate_options.files, "files to check")->required();
  validate->add_flag("--json", validate_options.json, "print the results as JSON");

  flotilla::BalanceFlags balance_flags;
  auto* balance = app.add_subcommand(
      "balance", "run the balancer alone over static targets (any HTTP servers) until SIGTERM");
  balance->add_option("--config", balance_flags.config_path, "balancer config file (JSON)");
  balance->add_option("--listen", balance_flags.listen,
                      "HOST:PORT to listen on (port 0: the OS picks); default 127.0.0.1:0");
  balance->add_option("--target", balance_flags.targets,
                      "HOST:PORT of a target; repeat for more (replaces the config's targets)");
  balance->add_option("--algorithm", balance_flags.algorithm, "balancing algorithm");
  balance->add_option("--threads", balance_flags.threads, "IO threads");
  balance->add_option("--health-check-path", balance_flags.health_check_path,
                      "health check path (default /)");
  balance->add_option("--drain-timeout", balance_flags.drain_timeout,
                      "on SIGTERM, how long requests in flight may take to finish (default 10s)");

  flotilla::LoadFlags load_flags;
  auto* load = app.add_subcommand(
      "load", "send open-loop load at a constant rate to an http:// URL, then a latency summary");
  load->add_option("--url", load_flags.url, "http://HOST[:PORT][/PATH] to send GETs to");
  load->add_option("--rps", load_flags.rps, "requests per second (the arrival rate)");
  load->add_option("--duration", load_flags.duration, "how long to send, e.g. 30s");
  load->add_option("--connections", load_flags.connections,
                   "keep-alive (reuse connections, the default) or new (one per request)");
  load->add_option("--threads", load_flags.threads, "IO threads (default 1)");
  load->add_option("--timeout", load_flags.timeout, "per request (default 10s)");
  load->add_flag("--json", load_flags.json, "print the summary as JSON");
  load->add_flag("--quiet", load_flags.quiet, "no progress line on standard error");
  flotilla::ServeLoadFlags serve_load_flags;
  load->add_flag("--stop", serve_load_flags.stop, "stop serve's built-in load (without --url)");

  flotilla::ServeOptions serve_options;
  std::uint64_t serve_seed = 0;
  std::string serve_retention = "3h";
  std::string serve_drain = "10s";
  auto* serve = app.add_subcommand(
      "serve", "run a scenario's fleet live until SIGTERM, with an admin API and a dashboard");
  serve->add_option("file", serve_options.scenario_path,
                    "scenario file (traffic, faults and expectations optional)")
      ->required();
  serve->add_option("--listen", serve_options.listen,
                    "the balancer's HOST:PORT (default 127.0.0.1:8080; port 0: any free one)");
  serve->add_option("--admin", serve_options.admin,
                    "the admin API's and dashboard's HOST:PORT (default 127.0.0.1:9901)");
  serve->add_option("--token-file", serve_options.token_file,
                    "require this bearer token on the admin API (needed off loopback)");
  serve->add_option("--out", serve_options.out_dir,
                    "where the session's report goes at the end (default runs/serve-<time>/)");
  auto* serve_seed_option = serve->add_option("--seed", serve_seed, "seed, overrides the file's");
  serve->add_option("--retention", serve_retention,
                    "how much history to keep (default 3h of per-second data)");
  serve->add_option("--drain-timeout", serve_drain,
                    "on SIGTERM, how long requests in flight may take to finish (default 10s)");
  serve->add_option("--worker", serve_options.worker_executable,
                    "flotilla-worker executable (default: beside flotilla)");

  // The commands that talk to serve share their flags.
  flotilla::AdminFlags admin_flags;
  auto admin_options = [&](CLI::App* command, bool json = true) {
    command->add_option("--admin", admin_flags.admin,
                        "serve's admin URL (default $FLOTILLA_ADMIN or http://127.0.0.1:9901)");
    command->add_option("--token-file", admin_flags.token_file,
                        "a file holding the admin token (default $FLOTILLA_TOKEN)");
    if (json) command->add_flag("--json", admin_flags.json, "print the API's JSON");
  };
  admin_options(load, false);
  auto* status = app.add_subcommand("status", "show a running serve's group and workers");
  admin_options(status);
  flotilla::KillFlags kill_flags;
  auto* kill = app.add_subcommand("kill", "send a signal to workers of a running serve");
  kill->add_option("ids", kill_flags.ids, "worker ids");
  kill->add_option("--workers", kill_flags.workers,
                   "which workers in service: a count, a percentage (25%), oldest or newest");
  kill->add_flag("--random", kill_flags.random, "one worker in service at random");
  kill->add_option("--signal", kill_flags.signal, "KILL (default), TERM, STOP or CONT")
      ->check(CLI::IsMember({"KILL", "TERM", "STOP", "CONT"}));
  admin_options(kill);
  flotilla::ScaleFlags scale_flags;
  auto* scale = app.add_subcommand("scale", "set a running serve's desired capacity and limits");
  scale->add_option("--desired", scale_flags.desired, "desired capacity");
  scale->add_option("--min", scale_flags.min, "minimum size");
  scale->add_option("--max", scale_flags.max, "maximum size");
  admin_options(scale);
  std::string fault_text;
  auto* fault = app.add_subcommand("fault", "start a fault on a running serve, now");
  fault->add_option("fault", fault_text, "a fault entry: a JSON file, or JSON text")->required();
  admin_options(fault);

  auto* policy = app.add_subcommand("policy", "import, export, lint and replay scaling policies");
  policy->require_subcommand(1);
  flotilla::PolicyImportOptions import_options;
  auto* import = policy->add_subcommand(
      "import", "print the native equivalent of an AWS or Kubernetes HPA policy file");
  import->add_option("file", import_options.file, "policy file (native, AWS JSON or HPA)")
      ->required();
  import->add_option("--alarm", import_options.alarm_file,
                     "put-metric-alarm JSON of a step or simple policy");
  import
      ->add_option("--time-scale", import_options.time_scale,
                   "multiply AWS and HPA durations in seconds by this (default 1)")
      ->check(CLI::PositiveNumber);
  import->add_flag("--json", import_options.json, "print the native policy as JSON alone");
  flotilla::PolicyExportOptions export_options;
  auto* export_command = policy->add_subcommand(
      "export", "print a policy as AWS put-scaling-policy JSON or a Kubernetes HPA manifest");
  export_command->add_option("file", export_options.file, "policy file (native, AWS JSON or HPA)")
      ->required();
  export_command->add_option("--to", export_options.to, "aws or hpa")
      ->required()
      ->check(CLI::IsMember({"aws", "hpa"}));
  export_command->add_option("--alarm", export_options.alarm_file,
                             "put-metric-alarm JSON of an AWS step or simple policy FILE");
  export_command->add_option("--alarm-out", export_options.alarm_out,
                             "write a step or simple policy's put-metric-alarm JSON here");
  export_command
      ->add_option("--time-scale", export_options.time_scale,
                   "the scale FILE's durations are at: AWS's seconds are them divided by this "
                   "(default 1)")
      ->check(CLI::PositiveNumber);
  flotilla::PolicyLintOptions lint_options;
  auto* lint = policy->add_subcommand("lint", "report mistakes in policy files");
  lint->add_option("files", lint_options.files, "policy (or scenario) files")->required();
  lint->add_option("--alarm", lint_options.alarm_file,
                   "put-metric-alarm JSON of a step or simple policy");
  lint->add_flag("--json", lint_options.json, "print the findings as JSON");
  flotilla::PolicyReplayOptions replay_options;
  auto* replay = policy->add_subcommand(
      "replay", "dry-run a policy on a recorded metric (CSV or get-metric-statistics JSON)");
  replay->add_option("policy", replay_options.policy_file, "policy file (native, AWS JSON or HPA)")
      ->required();
  replay->add_option("--metric", replay_options.metric_file, "recorded metric file")->required();
  replay->add_option("--capacity", replay_options.capacity,
                     "workers in service at the start (default: --min)");
  replay->add_option("--min", replay_options.min, "the group's minimum (default 1)");
  replay->add_option("--max", replay_options.max, "the group's maximum (default 10)");
  replay->add_flag("--json", replay_options.json, "print the decisions as JSON");

  // CLI11 answers an unknown command with "A subcommand is required"; name it instead.
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--log-level") ++i;  // its value is not a command
    if (arg.empty() || arg[0] == '-') continue;
    bool known = true;
    try {
      app.get_subcommand(arg);
    } catch (const CLI::OptionNotFound&) {
      known = false;
    }
    if (!known) {
      std::cerr << "flotilla: unknown command '" << arg
                << "'; expected one of: run, compare, report, validate, balance, load, serve, "
                   "status, kill, scale, fault, policy\n"
                << "Run with --help for more information.\n";
      return flotilla::kExitUsage;
    }
    break;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);  // prints the message
    return flotilla::kExitUsage;
  }

  flotilla::init_logging(log_level);
  const bool colour = flotilla::colour_allowed(STDOUT_FILENO);
  validate_options.colour = colour && !validate_options.json;
  lint_options.colour = colour && !lint_options.json;
  run_options.colour = colour;
  try {
    if (*validate) return flotilla::validate_command(validate_options, std::cout);
    if (*report) return flotilla::report_command(report_options, std::cout);
    if (*balance) return flotilla::run_balance(balance_flags, std::cout);
    if (*load) {
      if (load_flags.url) return flotilla::load_command(load_flags, std::cout);
      serve_load_flags.rps = load_flags.rps;
      serve_load_flags.duration = load_flags.duration;
      admin_flags.json = load_flags.json;
      return flotilla::serve_load_command(admin_flags, serve_load_flags, std::cout, std::cerr);
    }
    if (*serve) {
      if (*serve_seed_option) serve_options.seed = serve_seed;
      serve_options.retention = flotilla::parse_duration_flag(serve_retention, "--retention");
      serve_options.drain_timeout = flotilla::parse_duration_flag(serve_drain, "--drain-timeout", flotilla::Duration::zero());
      return flotilla::serve_command(serve_options, std::cout);
    }
    if (*status) return flotilla::status_command(admin_flags, std::cout, std::cerr);
    if (*kill) return flotilla::kill_command(admin_flags, kill_flags, std::cout, std::cerr);
    if (*scale) return flotilla::scale_command(admin_flags, scale_flags, std::cout, std::cerr);
    if (*fault) return flotilla::fault_command(admin_flags, fault_text, std::cout, std::cerr);
    if (*import) return flotilla::policy_import_command(import_options, std::cout);
    if (*export_command)
      return flotilla::policy_export_command(export_options, std::cout, std::cerr);
    if (*lint) return flotilla::policy_lint_command(lint_options, std::cout);
    if (*replay) return flotilla::policy_replay_command(replay_options, std::cout);
    if (*compare) {
      if (*compare_seed_option) compare_options.seed = compare_seed;
      return flotilla::compare_command(compare_options, std::cout, std::cerr);
    }
    if (*run) {
      if (*seed_option) run_options.seed = seed;
      return flotilla::run_scenario(run_options, std::cout);
    }
  } catch (const flotilla::UserError& e) {
    std::cerr << "flotilla: " << e.what() << "\n";
    return flotilla::kExitUsage;
  } catch (const std::exception& e) {
    std::cerr << "flotilla: internal error: " << e.what() << "\n";
    return flotilla::kExitFailed;
  }
  return flotilla::kExitUsage;
}
