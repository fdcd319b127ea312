// flotilla: the CLI. Parses flags and calls src/; stays thin.
//   flotilla run SCENARIO [--out DIR] [--seed N] [--quiet]
//   flotilla validate FILE...
// Exit codes: 0 success (and every expectation held), 1 an expectation failed or the run broke,
// 2 the user's input is wrong (the message names the file, the field and what was expected).
#include <CLI/CLI.hpp>
#include <iostream>

#include "core/errors.h"
#include "core/log.h"
#include "orchestrator/run.h"
#include "orchestrator/validate.h"

namespace {

int run_validate(const std::vector<std::string>& files) {
  int code = flotilla::kExitOk;
  for (const auto& file : files) {
    try {
      std::cout << "ok   " << file << ": " << flotilla::validate_file(file) << "\n";
    } catch (const flotilla::UserError& e) {
      std::cout << "FAIL " << e.what() << "\n";
      code = flotilla::kExitUsage;
    }
  }
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Flotilla: a local load balancer, auto scaling group and metrics service over a "
      "fleet of simulated servers"};
  app.require_subcommand(1);
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
  run->add_option("--worker", run_options.worker_executable,
                  "flotilla-worker executable (default: beside flotilla)");

  std::vector<std::string> files;
  auto* validate = app.add_subcommand("validate", "check scenario, profile and policy files");
  validate->add_option("files", files, "files to check")->required();

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
      std::cerr << "flotilla: unknown command '" << arg << "'; expected one of: run, validate\n"
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
  } catch (const CLI::ParseError& e) {
    app.exit(e);  // prints the message
    return flotilla::kExitUsage;
  }

  flotilla::init_logging(log_level);
  try {
    if (*validate) return run_validate(files);
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
