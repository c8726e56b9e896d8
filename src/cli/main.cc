// irene: where the energy of a Transformer goes, node by node.
// Errors from the library arrive as Status and become exit codes here, once:
// 0 success, 2 bad input (the message says what is allowed), 1 anything else.
#include <cstdio>
#include <iostream>
#include <map>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "cli/commands.h"

int main(int argc, char** argv) {
  // Logs go to stderr so that stdout carries only the requested output.
  spdlog::set_default_logger(spdlog::stderr_color_mt("irene"));

  CLI::App app{"irene: interpretable energy prediction for Transformer models"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "irene 0.1.0");

  std::map<CLI::App*, irene::cli::Runner> runners;
  auto add = [&](irene::cli::Runner (*add_command)(CLI::App&)) {
    const size_t before = app.get_subcommands({}).size();
    irene::cli::Runner run = add_command(app);
    runners[app.get_subcommands({})[before]] = std::move(run);
  };
  add(irene::cli::add_models_command);
  add(irene::cli::add_machines_command);
  add(irene::cli::add_serving_command);
  add(irene::cli::add_advise_command);
  add(irene::cli::add_leaderboard_command);
  add(irene::cli::add_whatif_command);
  add(irene::cli::add_tree_command);
  add(irene::cli::add_crossval_command);
  add(irene::cli::add_train_command);
  add(irene::cli::add_predict_command);
  add(irene::cli::add_serve_command);
  add(irene::cli::add_profile_command);
  add(irene::cli::add_calibrate_command);
  add(irene::cli::add_campaign_command);

  // CLI11 would only say "a subcommand is required"; name the word it did not know.
  std::string known;
  bool is_command = false;
  for (const CLI::App* sub : app.get_subcommands({})) {
    known += (known.empty() ? "" : ", ") + sub->get_name();
    is_command = is_command || (argc > 1 && sub->get_name() == argv[1]);
  }
  if (argc > 1 && argv[1][0] != '-' && !is_command) {
    std::cerr << "irene: unknown command '" << argv[1] << "' (commands: " << known << ")\n";
    return 2;
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
    app.exit(e);  // prints the message and usage
    return 2;
  }

  for (CLI::App* sub : app.get_subcommands()) {
    irene::Status status = runners.at(sub)();
    if (!status.is_ok()) {
      std::cerr << "irene " << sub->get_name() << ": " << status.message() << "\n";
      return status.is_user_error() ? 2 : 1;
    }
  }
  return 0;
}
