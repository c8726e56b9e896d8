// `irene crossval`: leave-one-model-out accuracy of a method on a dataset.
#include <cstdio>
#include <iostream>

#include "cli/commands.h"
#include "cli/serving_data_choice.h"
#include "cli/progress.h"
#include "machines/catalogue.h"
#include "predict/crossval.h"
#include "predict/latency_calibration.h"
#include "serving/calibration.h"

namespace irene::cli {

namespace {
struct CrossvalArgs {
  std::string data;
  std::string features = "full";
  std::string method = "additive";
  int seeds = 3;
  std::string format = "text";
  ServingDataChoice serving_data;
  std::string machine = "this-cpu";
};

// The roofline's latency on irene's own profiles of several models on one machine.
Status crossval_profiles(const CrossvalArgs& a) {
  IRENE_ASSIGN_OR_RETURN(machines::MachineSpec machine, machines::find_machine(a.machine));
  IRENE_ASSIGN_OR_RETURN(std::vector<predict::ProfiledModel> profiles, predict::load_profiles(a.data));
  IRENE_ASSIGN_OR_RETURN(nlohmann::json report, predict::latency_crossval(profiles, machine));
  if (a.format == "json") {
    std::cout << report.dump(2) << "\n";
    return Status::ok();
  }
  char line[256];
  std::string text = "leave-one-model-out latency on " + machine.name +
                     ", mean of 100 x |predicted - measured| / measured (calibrated | spec only):\n";
  for (const auto& [model, v] : report["per_model"].items()) {
    std::snprintf(line, sizeof line, "  %-40s nodes %7.2f %% | %7.2f %%   model %7.2f %% | %7.2f %%  (%d nodes)\n",
                  model.c_str(), v["calibrated"]["nodes"].get<double>(), v["spec_only"]["nodes"].get<double>(),
                  v["calibrated"]["model"].get<double>(), v["spec_only"]["model"].get<double>(),
                  v["measured_nodes"].get<int>());
    text += line;
  }
  std::snprintf(line, sizeof line, "  %-40s nodes %7.2f %% | %7.2f %%   model %7.2f %% | %7.2f %%\n", "average",
                report["calibrated"]["nodes"].get<double>(), report["spec_only"]["nodes"].get<double>(),
                report["calibrated"]["model"].get<double>(), report["spec_only"]["model"].get<double>());
  std::cout << text << line << "  (" << report["note"].get<std::string>() << ")\n";
  return Status::ok();
}

// The roofline method on measured serving data (the ML.ENERGY layout).
Status crossval_roofline(const CrossvalArgs& a) {
  if (predict::is_profile_folder(a.data)) return crossval_profiles(a);
  IRENE_ASSIGN_OR_RETURN(serving::MeasuredData data, serving::load_measured_serving(a.data));
  const serving::CalibrationOptions& o = a.serving_data.options;
  IRENE_ASSIGN_OR_RETURN(std::vector<serving::ServingCase> cases, serving::build_cases(data, o));
  nlohmann::json report;
  {
    ProgressBar bar("crossval");
    IRENE_ASSIGN_OR_RETURN(report, serving::crossval(cases, o, [&](int d, int t) { bar.update(d, t); }));
  }
  report["skipped_models"] = data.skipped_models;
  if (a.format == "json") {
    std::cout << report.dump(2) << "\n";
    return Status::ok();
  }
  char line[200];
  std::string text = "leave-one-model-out, mean of 100 x |predicted - measured| / measured, per GPU:\n";
  for (const char* f : {"energy_per_token", "power", "tpot", "throughput"}) {
    for (const auto& [gpu, v] : report[f]["per_gpu"].items()) {
      std::snprintf(line, sizeof line, "  %-18s %-16s %7.2f %%\n", f, gpu.c_str(), v.get<double>());
      text += line;
    }
    std::snprintf(line, sizeof line, "  %-18s %-16s %7.2f %%\n", f, "average", report[f]["average"].get<double>());
    text += line;
  }
  for (const auto& [pair, v] : report["cross_gpu"].items()) {
    std::snprintf(line, sizeof line, "  cross-GPU %-36s energy %6.2f %%  power %6.2f %%  tpot %6.2f %%\n", pair.c_str(),
                  v["energy_per_token"].get<double>(), v["power"].get<double>(), v["tpot"].get<double>());
    text += line;
  }
  const auto& cov = report["coverage"];
  std::snprintf(line, sizeof line,
                "  %.0f %% intervals (cross-validation+), share of %d held-out rows inside: energy per token %.1f %%, "
                "power %.1f %%, tpot %.1f %%, throughput %.1f %%\n",
                100 * cov["level"].get<double>(), cov["held_out_rows"].get<int>(), 100 * cov["observed"].get<double>(),
                100 * cov["observed_power"].get<double>(), 100 * cov["observed_tpot"].get<double>(),
                100 * cov["observed_throughput"].get<double>());
  std::cout << text << line;
  for (const auto& d : report["pick_regret"]) {
    if (d["median_regret"].is_null()) continue;
    std::snprintf(line, sizeof line,
                  "  choosing by prediction under a %.0f ms deadline: median regret %.1f %%, mean %.1f %% over %d "
                  "model-task groups meeting it, %d more picks over it as measured\n",
                  1e3 * d["deadline_s"].get<double>(), 100 * d["median_regret"].get<double>(),
                  100 * d["mean_regret"].get<double>(), d["groups"].get<int>(), d["picks_over_deadline"].get<int>());
    std::cout << line;
  }
  return Status::ok();
}
}  // namespace

Runner add_crossval_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("crossval", "Leave-one-model-out cross-validation of an energy predictor");
  auto a = std::make_shared<CrossvalArgs>();
  cmd->add_option("--data", a->data, "Folder in the IrEne CSV layout (e.g. ../shared/data/irene/device_1)")->required();
  cmd->add_option("--features", a->features, "full or model");
  cmd->add_option("--method", a->method,
                  "additive (default), irene, predicted-sum, stepwise, unstructured; roofline for measured serving "
                  "data (the ML.ENERGY layout, e.g. ../shared/data/mlenergy) or a folder of `irene profile` JSON files");
  a->serving_data.add_to(cmd);
  cmd->add_option("--seeds", a->seeds, "Seeds to average over");
  cmd->add_option("--machine", a->machine, "roofline on a folder of irene profiles: the machine they were made on")
      ->capture_default_str();
  cmd->add_option("--format,-f", a->format, "text or json")->check(CLI::IsMember({"text", "json"}));
  return [a]() -> Status {
    if (a->method == "roofline") return crossval_roofline(*a);
    predict::CrossvalOptions o;
    IRENE_ASSIGN_OR_RETURN(o.train.features, predict::feature_set_from_name(a->features));
    IRENE_ASSIGN_OR_RETURN(o.train.method, predict::method_from_name(a->method));
    if (a->seeds < 1 || a->seeds > 100) return Status::invalid_argument("--seeds must be between 1 and 100");
    o.seeds = a->seeds;
    IRENE_ASSIGN_OR_RETURN(predict::Dataset data, predict::load_dataset(a->data));
    predict::CrossvalReport report;
    {
      ProgressBar bar("crossval");
      IRENE_ASSIGN_OR_RETURN(report, predict::crossval(data, o, [&](int d, int t) { bar.update(d, t); }));
    }
    std::cout << (a->format == "json" ? predict::to_json(report).dump(2) + "\n" : predict::to_text(report));
    return Status::ok();
  };
}

}  // namespace irene::cli
