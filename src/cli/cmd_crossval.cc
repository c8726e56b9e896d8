// `irene crossval`: leave-one-model-out accuracy of a method on a dataset.
#include <iostream>

#include "cli/commands.h"
#include "cli/progress.h"
#include "predict/crossval.h"

namespace irene::cli {

namespace {
struct CrossvalArgs {
  std::string data;
  std::string features = "full";
  std::string method = "additive";
  int seeds = 3;
  std::string format = "text";
};
}  // namespace

Runner add_crossval_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("crossval", "Leave-one-model-out cross-validation of an energy predictor");
  auto a = std::make_shared<CrossvalArgs>();
  cmd->add_option("--data", a->data, "Folder in the IrEne CSV layout (e.g. ../shared/data/irene/device_1)")->required();
  cmd->add_option("--features", a->features, "full or model");
  cmd->add_option("--method", a->method, "additive (default), irene, predicted-sum, stepwise, unstructured");
  cmd->add_option("--seeds", a->seeds, "Seeds to average over");
  cmd->add_option("--format,-f", a->format, "text or json")->check(CLI::IsMember({"text", "json"}));
  return [a]() -> Status {
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
