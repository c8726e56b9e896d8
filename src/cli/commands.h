// The subcommands of the `irene` program. Each registers its options on the app and
// returns a Status when run; main() turns that Status into a message and exit code.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

#include "common/status.h"

namespace irene::cli {

using Runner = std::function<Status()>;

Runner add_models_command(CLI::App& app);
Runner add_machines_command(CLI::App& app);
Runner add_serving_command(CLI::App& app);
Runner add_tree_command(CLI::App& app);
Runner add_crossval_command(CLI::App& app);
Runner add_train_command(CLI::App& app);
Runner add_predict_command(CLI::App& app);
Runner add_serve_command(CLI::App& app);
Runner add_profile_command(CLI::App& app);
Runner add_calibrate_command(CLI::App& app);
Runner add_campaign_command(CLI::App& app);
Runner add_advise_command(CLI::App& app);
Runner add_leaderboard_command(CLI::App& app);
Runner add_whatif_command(CLI::App& app);

}  // namespace irene::cli
