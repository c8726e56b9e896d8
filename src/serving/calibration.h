// Calibrating the roofline's efficiencies and power shares on measured serving data, and
// checking the result leave-one-model-out: never fitted to the model it predicts. Also
// the interval each prediction carries, from the residuals of the fit.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/status.h"
#include "serving/mlenergy.h"
#include "serving/serving.h"

namespace irene::serving {

struct CalibrationOptions {
  double default_prompt_len = 128;  // tokens, where the data gives no avg_input_tokens
  int max_evaluations = 600;        // of the fit's objective (Nelder-Mead)
  double interval_level = 0.9;
};

// One measured row with its workload traced once.
struct ServingCase {
  const MeasuredServing* row = nullptr;
  std::shared_ptr<const ServingWorkload> workload;
  machines::MachineSpec machine;
};

// The rows of `data` the catalogue has a machine for, each with its workload.
Result<std::vector<ServingCase>> build_cases(const MeasuredData& data, const CalibrationOptions& options);

struct Calibration {
  predict::RooflineParams params;
  double log_residual_low = 0, log_residual_high = 0;  // the interval of ln(measured / predicted) energy
  double objective = 0;
};
// Fits the parameters to `cases` (energy per token and time per output token, in log
// space), starting from the defaults.
Calibration fit(const std::vector<const ServingCase*>& cases, const CalibrationOptions& options);
nlohmann::json to_json(const predict::RooflineParams& p);

// Leave one model out, per GPU: per held-out model, the mean of 100 x |pred - meas| / meas
// of energy per output token, power and time per output token; per GPU and overall;
// the share of measured energies inside the stated interval; and the cross-GPU case
// (calibrated on one GPU, predicting the other from its spec sheet).
Result<nlohmann::json> crossval(const std::vector<ServingCase>& cases, const CalibrationOptions& options);

}  // namespace irene::serving
