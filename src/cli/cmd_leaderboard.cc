// `irene leaderboard`: every bundled decoder on every catalogued GPU that holds it, at its
// least-energy setup under an ITL objective (leaderboard/leaderboard.h), with measured
// figures beside where data is given, and the models' published scores.
#include <cmath>
#include <cstdio>
#include <iostream>

#include "cli/commands.h"
#include "cli/progress.h"
#include "leaderboard/leaderboard.h"
#include "serving/mlenergy.h"

namespace irene::cli {

namespace {
struct LeaderboardArgs {
  leaderboard::Options options;
  double itl_slo_ms = 100;
  std::string format = "text";
  std::vector<std::string> measured_dirs;
};
}  // namespace

Runner add_leaderboard_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("leaderboard",
                                 "Energy per response of every bundled decoder on every GPU that holds it, at its "
                                 "least-energy setup under an ITL objective, with published benchmark scores");
  auto a = std::make_shared<LeaderboardArgs>();
  cmd->add_option("--tasks", a->options.tasks, "Standard tasks: chat, reasoning, code (default chat,reasoning)")
      ->delimiter(',');
  cmd->add_option("--itl-slo-ms", a->itl_slo_ms, "Median inter-token latency objective, ms")->capture_default_str();
  cmd->add_option("--max-gpus", a->options.max_gpus, "Most GPUs a setup may use")->capture_default_str();
  cmd->add_option("--machines", a->options.machines, "Catalogue GPUs (default: all)")->delimiter(',');
  cmd->add_option("--models", a->options.models, "Bundled decoders (default: all)")->delimiter(',');
  cmd->add_option("--serving-data", a->measured_dirs,
                  "Measured serving data in the ML.ENERGY layout, shown beside the predictions (repeatable)")
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--format,-f", a->format, "text, json or csv")
      ->check(CLI::IsMember({"text", "json", "csv"}))
      ->capture_default_str();
  return [a]() -> Status {
    if (!(a->itl_slo_ms > 0)) return Status::invalid_argument("--itl-slo-ms must be positive");
    a->options.itl_slo_s = a->itl_slo_ms / 1e3;
    a->options.size_limits = false;
    serving::MeasuredData measured;
    for (const std::string& dir : a->measured_dirs) {
      IRENE_ASSIGN_OR_RETURN(serving::MeasuredData d, serving::load_measured_serving(dir));
      for (auto& r : d.rows) measured.rows.push_back(std::move(r));
    }
    nlohmann::json board;
    {
      ProgressBar bar("ranking models");
      IRENE_ASSIGN_OR_RETURN(board, leaderboard::build(a->options, serving::shipped_serving_predictors(),
                                                       a->measured_dirs.empty() ? nullptr : &measured,
                                                       [&](double f) { bar.update(static_cast<int>(std::lround(1000 * f)), 1000); }));
    }
    if (a->format == "json") {
      std::cout << board.dump(2) << "\n";
      return Status::ok();
    }
    if (a->format == "csv") {
      std::cout << leaderboard::to_csv(board);
      return Status::ok();
    }
    std::string task;
    for (const auto& row : board["rows"]) {
      if (row["task"] != task) {
        task = row["task"].get<std::string>();
        std::printf("\n%s, median ITL at most %.0f ms (energy per response; * measured by ML.ENERGY, least under the "
                    "same objective)\n",
                    task.c_str(), a->itl_slo_ms);
        std::printf("  %-46s %-16s %11s %9s %8s %10s  %-11s %s\n", "model", "machine", "J/response", "J/token",
                    "W", "tok/s/GPU", "basis", "setup");
      }
      std::printf("  %-46s %-16s %11.4g %9.4g %8.4g %10.4g  %-11s %d GPU, batch %lld%s%s\n",
                  row["model"].get<std::string>().c_str(), row["machine"].get<std::string>().c_str(),
                  row["energy_per_response_j"].get<double>(), row["energy_per_output_token_j"].get<double>(),
                  row["power_w"].get<double>(), row["throughput_per_gpu"].get<double>(),
                  row["basis"].get<std::string>().c_str(), row["num_gpus"].get<int>(),
                  static_cast<long long>(row["batch_size"].get<int64_t>()),
                  row["expert_parallel"].get<bool>() ? ", EP" : "",
                  row["data_parallel"].get<int>() > 1 ? (", DP " + std::to_string(row["data_parallel"].get<int>())).c_str() : "");
      if (row["measured"].is_object())
        std::printf("  %-46s %-16s %11.4g %9.4g %8.4g %10.4g  measured    %s\n", "  *", "",
                    row["measured"]["energy_per_response_j"].get<double>(),
                    row["measured"]["energy_per_output_token_j"].get<double>(), row["measured"]["power_w"].get<double>(),
                    row["measured"]["throughput_per_gpu"].get<double>(), row["measured"]["source"].get<std::string>().c_str());
    }
    for (const auto& s : board["skipped"])
      std::printf("  left out: %s (%s): %s\n", s["model"].get<std::string>().c_str(), s["task"].get<std::string>().c_str(),
                  s["reason"].get<std::string>().c_str());
    return Status::ok();
  };
}

}  // namespace irene::cli
