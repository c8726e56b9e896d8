// `irene train`: fit a predictor on a dataset and write it to a file.
#include <spdlog/spdlog.h>

#include <iostream>

#include "cli/commands.h"
#include "predict/crossval.h"
#include "predict/dataset.h"
#include "predict/predictor.h"

namespace irene::cli {

namespace {
struct TrainArgs {
  std::string data, features, method = "additive", output;
  std::string machine_id, machine_name, machine_description;
  uint64_t seed = 0;
  bool crossval = true;
};
}  // namespace

Runner add_train_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("train", "Train an energy predictor on measured data");
  auto a = std::make_shared<TrainArgs>();
  cmd->add_option("--data", a->data, "Folder in the IrEne CSV layout")->required();
  cmd->add_option("--features", a->features, "full or model")->required();
  cmd->add_option("--method", a->method, "additive (default), irene, predicted-sum, stepwise, unstructured");
  cmd->add_option("--seed", a->seed, "Seed for the tree-weighted methods");
  cmd->add_option("-o,--output", a->output, "Predictor file to write (JSON)")->required();
  cmd->add_option("--machine-id", a->machine_id, "Short id of the measured machine (e.g. pc1)");
  cmd->add_option("--machine-name", a->machine_name, "Name of the measured machine");
  cmd->add_option("--machine-description", a->machine_description, "Hardware of the measured machine");
  cmd->add_flag("!--no-crossval", a->crossval, "Skip recording the leave-one-model-out error in the file");
  return [a]() -> Status {
    predict::TrainOptions o;
    IRENE_ASSIGN_OR_RETURN(o.features, predict::feature_set_from_name(a->features));
    IRENE_ASSIGN_OR_RETURN(o.method, predict::method_from_name(a->method));
    o.seed = a->seed;
    IRENE_ASSIGN_OR_RETURN(predict::Dataset data, predict::load_dataset(a->data));
    std::vector<const tree::Tree*> trees;
    for (const auto& t : data.trees) trees.push_back(&t);
    IRENE_ASSIGN_OR_RETURN(predict::Predictor p, predict::Predictor::train(trees, o));
    p.set_fingerprint(data.fingerprint);
    nlohmann::json meta = nlohmann::json::object();
    if (!a->machine_id.empty())
      meta["machine"] = {{"id", a->machine_id},
                         {"name", a->machine_name.empty() ? a->machine_id : a->machine_name},
                         {"description", a->machine_description}};
    if (a->crossval && data.model_names().size() >= 2) {
      // The accuracy users will be shown beside this predictor's answers.
      predict::CrossvalOptions co;
      co.train = o;
      co.seeds = o.method == predict::Method::kAdditive ? 1 : 3;  // additive is deterministic
      IRENE_ASSIGN_OR_RETURN(predict::CrossvalReport r, predict::crossval(data, co));
      meta["crossval_error_pct"] = {{"ml", r.ml.average}, {"module", r.module.average}, {"model", r.model.average}};
    }
    p.set_metadata(std::move(meta));
    IRENE_RETURN_IF_ERROR(predict::save_predictor(p, a->output));
    spdlog::info("wrote {} ({} predictor, {} features, {} trees, {} measured rows)", a->output,
                 predict::method_name(o.method), predict::feature_set_name(o.features), trees.size(), data.rows);
    return Status::ok();
  };
}

}  // namespace irene::cli
