// Leave-one-model-out cross-validation, as the IrEne paper measures accuracy: train on
// every model but one, predict the held-out model's trees, and report the error
// 100 x |predicted - measured| / measured per level (ML, module, model).
#pragma once

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "predict/dataset.h"
#include "predict/predictor.h"

namespace irene::predict {

struct CrossvalOptions {
  TrainOptions train;
  int seeds = 3;  // seeds 0..seeds-1; figures are their mean
};

struct LevelErrors {
  std::map<std::string, double> per_model;  // held-out model -> mean % error over its nodes
  double average = 0;           // over all held-out nodes of the level (the paper's figure)
  double mean_over_models = 0;  // plain mean of per_model
  int nodes = 0;                // held-out nodes of the level (per seed)
  std::map<std::string, double> per_type;  // ML level: op type -> mean % error
};

struct CrossvalReport {
  std::string method, feature_set;
  int seeds = 0;
  LevelErrors ml, module, model;
  double seconds = 0;
};

// `progress(done, total)` is called after each fold.
Result<CrossvalReport> crossval(const Dataset& data, const CrossvalOptions& options,
                                const std::function<void(int, int)>& progress = {});

// The paper's figures on PC1 (its Table, via the dataset README), for comparison.
struct PaperFigures {
  double ml, module, model;
  std::map<std::string, double> model_per_model;  // full features only
};
PaperFigures paper_figures(FeatureSet set);

nlohmann::json to_json(const CrossvalReport& r);
std::string to_text(const CrossvalReport& r);

}  // namespace irene::predict
