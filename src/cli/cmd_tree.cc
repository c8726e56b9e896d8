// `irene tree`: trace a model's forward pass and print its tree.
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "models/zoo.h"
#include "tree/tree_format.h"

namespace irene::cli {

namespace {

struct TreeArgs {
  std::string model;
  std::string config_path;
  std::string weights;
  int64_t batch_size = 1;
  int64_t seq_len = 128;
  bool shapes_only = false;
  std::string format = "text";
  int max_depth = -1;
  uint64_t seed = 0;
};

}  // namespace

Runner add_tree_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("tree", "Trace a model's forward pass and print its tree with features");
  auto a = std::make_shared<TreeArgs>();
  auto* model = cmd->add_option("--model", a->model, "A bundled model (see `irene models`)");
  auto* config = cmd->add_option("--config", a->config_path, "Path to a Hugging Face config.json");
  model->excludes(config);
  config->excludes(model);
  cmd->add_option("--batch-size,-b", a->batch_size, "Batch size of the dummy input")->required();
  cmd->add_option("--seq-len,-s", a->seq_len, "Sequence length of the dummy input")->required();
  cmd->add_flag("--shapes-only", a->shapes_only, "Count without running: no weights, no activations, no latency");
  cmd->add_option("--weights", a->weights, "A model.safetensors file with real weights (default: random)");
  cmd->add_option("--format,-f", a->format, "text, json or csv")->check(CLI::IsMember({"text", "json", "csv"}));
  cmd->add_option("--max-depth", a->max_depth, "Print nodes down to this depth only (default: all)");
  cmd->add_option("--seed", a->seed, "Seed for random weights and input ids");
  return [a]() -> Status {
    if (a->model.empty() && a->config_path.empty())
      return Status::invalid_argument("give --model NAME or --config PATH");
    IRENE_ASSIGN_OR_RETURN(models::ModelConfig cfg, a->model.empty() ? models::load_config_file(a->config_path)
                                                                      : models::bundled_config(a->model));
    models::RunOptions options{a->batch_size, a->seq_len, a->shapes_only, a->weights, a->seed};
    IRENE_ASSIGN_OR_RETURN(tree::Tree t, models::trace_model(cfg, options));
    tree::FormatOptions fo{a->max_depth};
    if (a->format == "json")
      std::cout << tree::to_json(t, fo).dump() << "\n";
    else if (a->format == "csv")
      std::cout << tree::to_csv(t, fo);
    else
      std::cout << tree::to_text(t, fo);
    return Status::ok();
  };
}

}  // namespace irene::cli
