// The machines the server predicts for: PC1 with its shipped predictor, plus every
// calibrated predictor file in --predictors; the serving predictors (the shipped ones,
// replaced per machine by `roofline` files in --predictors); and the latency predictors
// in --predictors (a profiled machine's time per node).
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "predict/latency_predictor.h"
#include "predict/predictor.h"
#include "serving/predictor.h"

namespace irene::server {

struct Machine {
  std::string id, name, description;
  bool is_default = false;
  predict::Predictor predictor;
  nlohmann::json crossval_error_pct;  // {"ml", "module", "model"} or null
  std::string version;                // identifies the predictor in cache keys
};

struct LoadedPredictors {
  std::vector<Machine> machines;  // PC1 first
  std::vector<serving::ServingPredictor> serving;
  // Latency predictors (`irene train --method roofline` on profiles, e.g. of this CPU):
  // /api/energy answers their machine with every node's predicted time and no energy.
  std::vector<predict::LatencyPredictor> latency;
};

// One pass over --predictors, each file read once. Only `model`-feature energy predictors
// serve: they answer for any configuration.
Result<LoadedPredictors> load_predictors(const std::string& predictors_dir);

}  // namespace irene::server
