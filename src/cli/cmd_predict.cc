// `irene predict`: a model's tree with predicted energy on every node.
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "models/zoo.h"
#include "predict/dataset.h"
#include "predict/predictor.h"
#include "tree/tree_format.h"

namespace irene::cli {

namespace {
struct PredictArgs {
  std::string predictor, model, config_path, data;
  int64_t batch_size = 1, seq_len = 128;
  std::string format = "text";
  int max_depth = -1;
};
}  // namespace

Runner add_predict_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("predict", "Predict the energy of every node of a model's tree");
  auto a = std::make_shared<PredictArgs>();
  cmd->add_option("--predictor,-p", a->predictor, "Predictor file (from `irene train`)")->required();
  auto* model = cmd->add_option("--model", a->model, "A bundled model (see `irene models`)");
  auto* config = cmd->add_option("--config", a->config_path, "Path to a Hugging Face config.json");
  model->excludes(config);
  config->excludes(model);
  cmd->add_option("--batch-size,-b", a->batch_size, "Batch size")->required();
  cmd->add_option("--seq-len,-s", a->seq_len, "Sequence length")->required();
  cmd->add_option("--data", a->data, "Measured data (IrEne CSV layout) with this configuration, for 'full' predictors");
  cmd->add_option("--format,-f", a->format, "text, json or csv")->check(CLI::IsMember({"text", "json", "csv"}));
  cmd->add_option("--max-depth", a->max_depth, "Print nodes down to this depth only (default: all)");
  return [a]() -> Status {
    if (a->model.empty() && a->config_path.empty())
      return Status::invalid_argument("give --model NAME or --config PATH");
    IRENE_ASSIGN_OR_RETURN(predict::Predictor p, predict::load_predictor(a->predictor));
    IRENE_ASSIGN_OR_RETURN(models::ModelConfig cfg, a->model.empty() ? models::load_config_file(a->config_path)
                                                                      : models::bundled_config(a->model));
    tree::Tree t;
    bool found = false;
    if (!a->data.empty()) {
      IRENE_ASSIGN_OR_RETURN(predict::Dataset data, predict::load_dataset(a->data));
      for (auto& d : data.trees)
        if (d.model == cfg.name && d.batch_size == a->batch_size && d.seq_len == a->seq_len) {
          t = std::move(d);
          found = true;
        }
      if (!found && p.features() == predict::FeatureSet::kFull)
        return Status::not_found(a->data + " has no measurements of " + cfg.name + " at batch size " +
                                 std::to_string(a->batch_size) + ", sequence length " + std::to_string(a->seq_len));
    }
    if (!found) {
      IRENE_ASSIGN_OR_RETURN(t, models::trace_model(cfg, {a->batch_size, a->seq_len, /*shapes_only=*/true}));
    }
    IRENE_RETURN_IF_ERROR(p.predict(t));
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
