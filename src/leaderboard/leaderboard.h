// The energy leaderboard: every bundled decoder LLM on every catalogued GPU that can hold
// it, for the standard tasks (advisor/advisor.h), each at its least-energy setup under a
// stated ITL objective: energy per response and per token, power, throughput per GPU, the
// setup and what the figures rest on (calibrated on the machine, or its spec sheet);
// ML.ENERGY's measured least energy beside it where the shared data has the model on
// that GPU, marked as measured; and the model's published benchmark scores.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/status.h"
#include "serving/mlenergy.h"
#include "serving/predictor.h"

namespace irene::leaderboard {

struct Options {
  std::vector<std::string> tasks{"chat", "reasoning"};
  double itl_slo_s = 0.1;
  int max_gpus = 8;
  std::vector<std::string> machines;  // empty: every catalogued GPU
  std::vector<std::string> models;    // empty: every bundled decoder
  bool size_limits = true;
};

// {"options", "rows": [...], "benchmarks", "scores_note"}; rows ordered by task, then
// energy per response. `measured` may be null.
Result<nlohmann::json> build(const Options& options, const std::vector<serving::ServingPredictor>& available,
                             const serving::MeasuredData* measured,
                             const std::function<void(double)>& progress = {});

// The rows as CSV (a header, then one line per row; absent figures empty).
std::string to_csv(const nlohmann::json& board);

}  // namespace irene::leaderboard
