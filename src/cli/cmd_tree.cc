// `irene tree`: trace a model's forward pass and print its tree.
#include "cli/commands.h"
#include "cli/model_choice.h"
#include "models/zoo.h"

namespace irene::cli {

namespace {

struct TreeArgs {
  ModelChoice choice;
  GenerationChoice generation;
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
  a->choice.add_to(cmd);
  cmd->add_option("--batch-size,-b", a->batch_size, "Batch size of the dummy input (sequences)")->required();
  cmd->add_option("--seq-len,-s", a->seq_len, "Sequence length of the dummy input (the prompt, with --new-tokens)")->required();
  cmd->add_flag("--shapes-only", a->shapes_only, "Count without running: no weights, no activations, no latency");
  cmd->add_option("--weights", a->weights, "A model.safetensors file with real weights, or a sharded checkpoint's model.safetensors.index.json (default: random)");
  cmd->add_option("--format,-f", a->format, "text, json or csv")->check(CLI::IsMember({"text", "json", "csv"}));
  cmd->add_option("--max-depth", a->max_depth, "Print nodes down to this depth only (default: all)");
  cmd->add_option("--seed", a->seed, "Seed for random weights and input ids");
  a->generation.add_to(cmd);
  return [a]() -> Status {
    IRENE_ASSIGN_OR_RETURN(models::ModelConfig cfg, a->choice.resolve());
    models::RunOptions options{a->batch_size, a->seq_len, a->shapes_only, a->weights, a->seed};
    a->generation.apply_to(options);
    IRENE_ASSIGN_OR_RETURN(tree::Tree t, models::trace_model(cfg, options));
    print_tree(t, a->format, a->max_depth);
    return Status::ok();
  };
}

}  // namespace irene::cli
