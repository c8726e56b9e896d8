// A serving predictor: the roofline's parameters for one machine, fitted on measured
// serving data by `irene train --method roofline`, with the intervals its answers carry
// and the accuracy it was checked at, leave one model out. irene ships one per GPU of
// the shared data (predictors/roofline-*.json); a machine with no data is predicted from
// its spec sheet with the parameters carried over from those, and says so.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "engines/engine.h"
#include "machines/catalogue.h"
#include "models/config.h"
#include "predict/roofline.h"
#include "serving/serving.h"

namespace irene::serving {

// An interval of ln(measured / predicted), from held-out residuals.
struct LogInterval {
  double low = 0, high = 0;
};

struct Intervals {
  double level = 0.9;
  std::optional<LogInterval> energy, power, tpot, throughput;  // empty: no residuals to make one from
};

struct ServingPredictor {
  std::string machine_id;  // the machine whose measurements fitted it
  std::string engine = engines::kLegacyEngineId;  // the engine they measured (files before engines: vllm-0.5.4)
  predict::RooflineParams params;
  // The parameters fitted on the machine's rows; the others were carried from the
  // engine's calibrations of `carried_from` (one model's rows cannot identify them all).
  // Empty: all of the engine's.
  std::vector<std::string> fitted;
  std::vector<std::string> carried_from;
  Intervals intervals;          // on its own machine: leave-one-model-out residuals
  Intervals carried_intervals;  // carried to another machine's spec sheet: cross-GPU residuals
  nlohmann::json crossval;      // leave-one-model-out errors on its data (percent), or null
  nlohmann::json data;          // what it was fitted on: source, fingerprint, rows, models
};

nlohmann::json to_json(const ServingPredictor& p);
Result<ServingPredictor> serving_predictor_from_json(const nlohmann::json& doc, const std::string& where);
Result<ServingPredictor> load_serving_predictor(const std::string& path);
Status save_serving_predictor(const ServingPredictor& p, const std::string& path);
// True for a predictor file of this kind (`"method": "roofline"`).
bool is_serving_predictor(const nlohmann::json& doc);

// The predictors shipped inside irene, one per calibrated machine.
const std::vector<ServingPredictor>& shipped_serving_predictors();

// How one machine's serving answers are made.
struct MachinePredictor {
  predict::RooflineParams params;
  Intervals intervals;
  bool calibrated = false;  // fitted on this machine's measurements
  std::string basis;        // one line saying what the answer rests on
  nlohmann::json crossval;  // the fit's leave-one-model-out errors, when calibrated
};

// The predictor for `machine` and `engine`: `chosen` (--predictor) when given and made
// for them; else the one of `available` made for them; else those of the engine carried
// over to the machine's spec sheet (the geometric mean of their parameters, the widest
// of their cross-GPU intervals). A chosen predictor of another engine is an error.
Result<MachinePredictor> predictor_for(const machines::MachineSpec& machine,
                                       const std::vector<ServingPredictor>& available,
                                       const ServingPredictor* chosen = nullptr,
                                       const std::string& engine = engines::kLegacyEngineId);
// The geometric mean of the parameters of `from` (efficiencies stay in (0, 1]); a
// parameter some of them did not fit takes its default.
predict::RooflineParams carried_params(const std::vector<const ServingPredictor*>& from);

// The engine an answer for `machine` uses when none is asked for: the newest engine
// calibrated on this machine, else the newest calibrated on any, else the newest.
std::string default_engine(const machines::MachineSpec& machine, const std::vector<ServingPredictor>& available);

// One answer of `irene serving` and /api/serving: the figures, each with its interval
// (null where there is none), and what they rest on. The step's tree is added by callers.
nlohmann::json serving_answer(const models::ModelConfig& config, const machines::MachineSpec& machine,
                              const ServingConfig& serving, const ServingEstimate& estimate,
                              const MachinePredictor& predictor);

}  // namespace irene::serving
