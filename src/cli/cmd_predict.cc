// `irene predict`: a model's tree with predicted energy (or, with a latency predictor,
// latency) on every node.
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "engines/engine.h"
#include "cli/model_choice.h"
#include "common/json_file.h"
#include "machines/catalogue.h"
#include "models/zoo.h"
#include "predict/dataset.h"
#include "predict/latency_predictor.h"
#include "predict/predictor.h"
#include "predict/roofline.h"
#include "serving/predictor.h"
#include "serving/tree_on_machine.h"

namespace irene::cli {

namespace {
struct PredictArgs {
  ModelChoice choice;
  GenerationChoice generation;
  std::string predictor, data, machine;
  int num_gpus = 1;
  CLI::Option* num_gpus_option = nullptr;  // given: the GPUs to price; else the fewest that hold a generating decoder
  int64_t batch_size = 1, seq_len = 128;
  std::string format = "text";
  int max_depth = -1;
};
// A catalogued GPU (serving/tree_on_machine.h): a generating decoder's steady-state
// decode step as the machine's engine runs it, else the roofline over transformers' ops.
Status predict_on_machine(const PredictArgs& a, const models::ModelConfig& cfg) {
  IRENE_ASSIGN_OR_RETURN(machines::MachineSpec machine, machines::find_machine(a.machine));
  models::RunOptions options{a.batch_size, a.seq_len, /*shapes_only=*/true};
  a.generation.apply_to(options);
  options.size_limits = false;
  IRENE_ASSIGN_OR_RETURN(serving::MachineTree mt,
                         serving::tree_on_machine(cfg, options, machine, a.num_gpus_option && a.num_gpus_option->count() > 0 ? a.num_gpus : 0,
                                                  serving::shipped_serving_predictors()));
  if (!mt.engine.empty()) {
    mt.tree.notes.push_back("the generation of " + std::to_string(a.batch_size) + " requests on " +
                            std::to_string(mt.num_gpus) + " x " + machine.id + " under " + mt.engine +
                            " at its steady state (the engine's kernels priced, handed to the nodes they cover; the "
                            "batch x `irene serving`'s energy per request at this batch); " + mt.basis);
    if (!mt.memory_note.empty()) mt.tree.notes.push_back(mt.memory_note);
  }
  print_tree(mt.tree, a.format, a.max_depth);
  return Status::ok();
}

// A latency predictor (irene train --method roofline on profiles): every node's latency.
Status predict_latency(const PredictArgs& a, const models::ModelConfig& cfg, const predict::LatencyPredictor& p) {
  models::RunOptions options{a.batch_size, a.seq_len, /*shapes_only=*/true};
  a.generation.apply_to(options);
  IRENE_ASSIGN_OR_RETURN(tree::Tree t, models::trace_model(cfg, options));
  IRENE_ASSIGN_OR_RETURN(double latency, predict::predict_latency(t, p));
  t.notes.push_back("predicted latency of the whole tree: " + std::to_string(latency * 1e3) + " ms");
  print_tree(t, a.format, a.max_depth);
  return Status::ok();
}

}  // namespace

Runner add_predict_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("predict", "Predict the energy of every node of a model's tree");
  auto a = std::make_shared<PredictArgs>();
  auto* pred = cmd->add_option("--predictor,-p", a->predictor,
                               "Predictor file (from `irene train`): energy, or latency (--method roofline on profiles)");
  auto* mach = cmd->add_option("--machine", a->machine,
                               "Predict with the roofline method on this machine of the catalogue (`irene machines`): "
                               "calibrated where irene ships a serving predictor for it, else from its spec sheet");
  pred->excludes(mach);
  mach->excludes(pred);
  a->num_gpus_option = cmd->add_option("--num-gpus", a->num_gpus,
                                       "With --machine: GPUs in tensor parallel (default: a generating decoder on the "
                                       "fewest that hold it, else 1)");
  a->choice.add_to(cmd);
  cmd->add_option("--batch-size,-b", a->batch_size, "Batch size")->required();
  cmd->add_option("--seq-len,-s", a->seq_len, "Sequence length")->required();
  cmd->add_option("--data", a->data, "Measured data (IrEne CSV layout) with this configuration, for 'full' predictors");
  cmd->add_option("--format,-f", a->format, "text, json or csv")->check(CLI::IsMember({"text", "json", "csv"}));
  cmd->add_option("--max-depth", a->max_depth, "Print nodes down to this depth only (default: all)");
  a->generation.add_to(cmd);
  return [a]() -> Status {
    IRENE_ASSIGN_OR_RETURN(models::ModelConfig cfg, a->choice.resolve());
    if (!a->machine.empty()) return predict_on_machine(*a, cfg);
    if (a->predictor.empty()) return Status::invalid_argument("give --predictor FILE or --machine ID");
    // One read of the file, an energy predictor or a latency predictor.
    IRENE_ASSIGN_OR_RETURN(nlohmann::json doc, read_json_file(a->predictor, "predictor file"));
    if (predict::is_latency_predictor(doc)) {
      IRENE_ASSIGN_OR_RETURN(predict::LatencyPredictor lp, predict::latency_predictor_from_json(doc, a->predictor));
      return predict_latency(*a, cfg, lp);
    }
    IRENE_ASSIGN_OR_RETURN(predict::Predictor p, predict::predictor_from_json(doc, a->predictor));
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
      models::RunOptions options{a->batch_size, a->seq_len, /*shapes_only=*/true};
      a->generation.apply_to(options);
      IRENE_ASSIGN_OR_RETURN(t, models::trace_model(cfg, options));
    }
    IRENE_RETURN_IF_ERROR(p.predict(t));
    print_tree(t, a->format, a->max_depth);
    return Status::ok();
  };
}

}  // namespace irene::cli
