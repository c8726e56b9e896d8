// `irene train`: fit a predictor on a dataset and write it to a file.
#include <spdlog/spdlog.h>

#include <iostream>

#include <cstdlib>
#include <filesystem>
#include <set>

#include "campaign/campaign.h"
#include "cli/commands.h"
#include "cli/db_choice.h"
#include "cli/serving_data_choice.h"
#include "cli/progress.h"
#include "predict/crossval.h"
#include "machines/catalogue.h"
#include "predict/dataset.h"
#include "predict/latency_calibration.h"
#include "predict/latency_predictor.h"
#include "predict/predictor.h"
#include "serving/calibration.h"

namespace irene::cli {

namespace {
struct TrainArgs {
  std::string data, features, method = "additive", output;
  std::string machine_id, machine_name, machine_description, engine;
  uint64_t seed = 0;
  bool crossval = true;
  ServingDataChoice serving_data;
  DbChoice db;
  std::string campaign;
};

// A temporary folder, removed with this object.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "irene-train-XXXXXX").string();
    if (mkdtemp(pattern.data())) path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// --campaign: the campaign's points exported from the store in the layout the method
// reads (profiles for the roofline, the IrEne CSV layout otherwise), then trained on as --data.
Status export_campaign_for_training(TrainArgs& a, const TempDir& dir) {
  if (dir.path().empty()) return Status::io_error("cannot create a temporary folder for the campaign's data");
  IRENE_ASSIGN_OR_RETURN(auto store, a.db.open());
  IRENE_ASSIGN_OR_RETURN(std::string said, campaign::export_campaign(*store, a.campaign,
                                                                     a.method == "roofline" ? "profiles" : "irene-csv",
                                                                     dir.path()));
  spdlog::info("{}", said);
  a.data = dir.path();
  return Status::ok();
}

// The roofline's latency on irene profiles of several models on one machine (this CPU
// by default): a latency predictor that `irene predict --predictor` reads.
Status train_latency(const TrainArgs& a) {
  IRENE_ASSIGN_OR_RETURN(machines::MachineSpec machine,
                         machines::find_machine(a.machine_id.empty() ? "this-cpu" : a.machine_id));
  IRENE_ASSIGN_OR_RETURN(std::vector<predict::ProfiledModel> profiles, predict::load_profiles(a.data));
  spdlog::info("fitting the roofline's latency on {} profiles of {} (and checking it leave one model out)",
               profiles.size(), machine.name);
  IRENE_ASSIGN_OR_RETURN(predict::LatencyPredictor p, predict::train_latency(profiles, machine));
  IRENE_RETURN_IF_ERROR(predict::save_latency_predictor(p, a.output));
  if (p.crossval.is_object())
    spdlog::info("wrote {} (latency predictor of {}; leave-one-model-out error {:.1f} % per node, {:.1f} % per model)",
                 a.output, machine.id, p.crossval["calibrated"]["nodes"].get<double>(),
                 p.crossval["calibrated"]["model"].get<double>());
  else
    spdlog::info("wrote {} (latency predictor of {}; one model, so no leave-one-model-out check)", a.output, machine.id);
  return Status::ok();
}

// The roofline on measured serving data (the ML.ENERGY layout): one machine's predictor.
Status train_roofline(const TrainArgs& a) {
  if (predict::is_profile_folder(a.data)) return train_latency(a);
  IRENE_ASSIGN_OR_RETURN(serving::MeasuredData data, serving::load_measured_serving(a.data));
  const serving::CalibrationOptions& o = a.serving_data.options;
  IRENE_ASSIGN_OR_RETURN(std::vector<serving::ServingCase> cases, serving::build_cases(data, o));
  std::string machine = a.machine_id;
  if (machine.empty()) {
    std::set<std::string> ids;
    for (const auto& c : cases) ids.insert(c.machine.id);
    if (ids.empty()) {
      std::string unknown;
      for (const auto& [name, why] : data.unknown_gpus) unknown += (unknown.empty() ? "" : "; ") + why;
      return Status::invalid_argument("the data holds no rows of a catalogued machine" +
                                      (unknown.empty() ? std::string() : ": " + unknown));
    }
    if (ids.size() != 1) {
      std::string list;
      for (const auto& id : ids) list += (list.empty() ? "" : ", ") + id;
      return Status::invalid_argument("the data holds several machines (" + list +
                                      "): choose one with --machine-id (one predictor file per machine)");
    }
    machine = *ids.begin();
  }
  serving::ServingPredictor p;
  {
    ProgressBar bar("train " + machine);
    IRENE_ASSIGN_OR_RETURN(p, serving::train(cases, data, machine, o, [&](int d, int t) { bar.update(d, t); },
                                             a.engine, serving::shipped_serving_predictors()));
  }
  p.data["source"] = std::filesystem::path(a.data).lexically_normal().filename().string();
  IRENE_RETURN_IF_ERROR(serving::save_serving_predictor(p, a.output));
  if (!p.carried_from.empty())
    spdlog::info("one model's rows: fitted {} parameters of {}, the rest carried from its calibrations of {}",
                 p.fitted.size(), p.engine, p.carried_from.front());
  if (p.crossval.is_object())
    spdlog::info("wrote {} (roofline serving predictor of {} under {}, {} rows; leave-one-model-out energy per token "
                 "{:.1f} %)",
                 a.output, machine, p.engine, p.data.value("rows", 0), p.crossval.value("energy_per_token", 0.0));
  else
    spdlog::info("wrote {} (roofline serving predictor of {} under {}, {} rows of one model: not checked leave one "
                 "model out)",
                 a.output, machine, p.engine, p.data.value("rows", 0));
  return Status::ok();
}
}  // namespace

Runner add_train_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("train", "Train an energy predictor on measured data");
  auto a = std::make_shared<TrainArgs>();
  cmd->add_option("--data", a->data,
                  "Folder in the IrEne CSV layout; for --method roofline, measured serving data in the ML.ENERGY "
                  "layout (e.g. ../shared/data/mlenergy) or a folder of `irene profile` JSON files (a latency "
                  "predictor of that machine); or give --campaign");
  cmd->add_option("--features", a->features, "full or model (not for roofline)");
  cmd->add_option("--method", a->method,
                  "additive (default), irene, predicted-sum, stepwise, unstructured; roofline for serving data");
  a->serving_data.add_to(cmd);
  cmd->add_option("--seed", a->seed, "Seed for the tree-weighted methods");
  cmd->add_option("-o,--output", a->output, "Predictor file to write (JSON)")->required();
  cmd->add_option("--machine-id", a->machine_id,
                  "Short id of the measured machine (e.g. pc1); roofline: the catalogue's id of the GPU to fit, or of "
                  "the profiled machine (default this-cpu)");
  cmd->add_option("--machine-name", a->machine_name, "Name of the measured machine");
  cmd->add_option("--engine", a->engine,
                  "roofline: the engine whose rows to fit (default: the one engine the machine's rows ran)");
  cmd->add_option("--machine-description", a->machine_description, "Hardware of the measured machine");
  cmd->add_flag("!--no-crossval", a->crossval, "Skip recording the leave-one-model-out error in the file");
  cmd->add_option("--campaign", a->campaign,
                  "Train on a measurement campaign's points in the store (--db) instead of --data");
  a->db.add_to(cmd, false);
  return [a]() -> Status {
    if (a->data.empty() == a->campaign.empty())
      return Status::invalid_argument("give either --data FOLDER or --campaign NAME (with --db URL)");
    TempDir exported;
    if (!a->campaign.empty()) IRENE_RETURN_IF_ERROR(export_campaign_for_training(*a, exported));
    if (a->method == "roofline") return train_roofline(*a);
    if (a->features.empty()) return Status::invalid_argument("--features is required: full or model");
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
