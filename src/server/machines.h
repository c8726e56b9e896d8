// The machines the server predicts for: PC1 with its shipped predictor, plus every
// calibrated predictor file in --predictors.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "predict/predictor.h"

namespace irene::server {

struct Machine {
  std::string id, name, description;
  bool is_default = false;
  predict::Predictor predictor;
  nlohmann::json crossval_error_pct;  // {"ml", "module", "model"} or null
  std::string version;                // identifies the predictor in cache keys
};

// PC1 first. Only `model`-feature predictors serve: they answer for any configuration.
Result<std::vector<Machine>> load_machines(const std::string& predictors_dir);

}  // namespace irene::server
