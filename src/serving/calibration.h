// Calibrating the roofline's efficiencies and power shares on measured serving data, and
// checking the result leave-one-model-out: never fitted to the model it predicts. Also
// the interval each prediction carries, from the residuals of the fit.
#pragma once

#include <array>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/status.h"
#include "serving/mlenergy.h"
#include "serving/predictor.h"
#include "serving/serving.h"

namespace irene::serving {

struct CalibrationOptions {
  double default_prompt_len = 128;  // tokens, where the data gives no avg_input_tokens
  // Requests sent at once per run, where the data gives no num_requests: its time per
  // output token is then compared with the run's average (serving/closed_run.h), the
  // drain included. 2,000 is the ML.ENERGY v2 chat protocol's 500 prompts x 4 (its
  // README; code runs 164 x 10-20); 0 compares with the steady state.
  double default_run_requests = 2000;
  int max_evaluations = 3000;       // of the fit's objective per Nelder-Mead run
  int restarts = 4;                 // further runs from the best point so far
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
  // The share of each prompt the engine's prefix cache held in the rows whose requests
  // are conversations' turns (MeasuredServing::conversation_turns), fitted with the
  // parameters where the engine caches such rows' prompts; 0 otherwise.
  double conversation_cached_share = 0;
};
// Fits the parameters to `cases` (the mean absolute log error of energy per token, power,
// the time figure and throughput): those the cases' engine fits (its description's
// `fitted`), or `only` these, the rest as in `base`; starting from `base`.
Calibration fit(const std::vector<const ServingCase*>& cases, const CalibrationOptions& options,
                const std::vector<std::string>* only = nullptr, const predict::RooflineParams& base = {});

// The rows fitted and checked together: one GPU's under one engine ("H100-SXM5-80GB",
// or "H100-SXM5-80GB (vllm-0.11.1)" for engines after v2's vLLM 0.5.4).
std::string data_group(const MeasuredServing& row);

// Figures predicted and checked: energy per output token, power, time per output token
// and throughput. The fit weighs all four; each gets its interval from its own residuals.
constexpr int kFigures = 4;
using Figures = std::array<double, kFigures>;
extern const char* const kFigureNames[kFigures];  // "energy_per_token", "power", "tpot", "throughput"

// One held-out model of one GPU: ln(measured / predicted) of each of its rows, from a
// fit on the GPU's other models, and the mean percent errors.
struct HeldOutModel {
  std::string gpu, model;
  std::vector<Figures> log_residuals;
  std::vector<const ServingCase*> rows;  // parallel to log_residuals
  Figures mean_pct_error{};
};
// The interval at `level` of the held-out residuals of `models` (skipping the model named
// `except`): their median, plus or minus the level's quantile of their distances from it.
// Each model weighs the same whatever its number of rows: the
// unit held out is the model, and a new model is what an answer's interval is for. Rows
// of one model share its bias, so they count as fewer residuals than their number (the
// design effect of the residuals' intraclass correlation), which widens the interval.
Intervals intervals_of(const std::vector<HeldOutModel>& models, double level, const std::string* except = nullptr);

using Progress = std::function<void(int done, int total)>;
// Leave one model out on the rows of `gpu` (the data's name for it).
std::vector<HeldOutModel> leave_one_model_out(const std::vector<ServingCase>& cases, const std::string& gpu,
                                              const CalibrationOptions& options, const Progress& progress = nullptr);

// Leave one model out, per GPU: per held-out model, the mean of 100 x |pred - meas| / meas
// of energy per output token, power and time per output token; per GPU and overall;
// the share of measured values inside the stated interval, each held-out model's
// interval made from the other models' held-out residuals (cross-validation+, so no
// model's own error widens its interval); and the cross-GPU case (calibrated on one
// GPU, predicting the other from its spec sheet).
Result<nlohmann::json> crossval(const std::vector<ServingCase>& cases, const CalibrationOptions& options,
                                const Progress& progress = nullptr);

// Choosing by prediction: among each (GPU, model, task)'s measured configurations, the
// one predicted cheapest (energy per output token) whose predicted time figure meets a
// deadline, against the measured cheapest that meets it: regret = measured energy of
// the pick over the measured best, minus 1; a pick that in fact misses the deadline is a
// miss (and by how much), not a regret. `rows` are crossval's held-out rows (each
// prediction from a fit that never saw its model). Per deadline: the median and mean
// regret over the picks that meet it, the groups counted, and the misses.
nlohmann::json pick_regret(const nlohmann::json& rows, const std::vector<double>& deadlines_s);

// `irene train --method roofline`: the predictor of machine `machine_id` under
// `engine` ("" = the one engine its rows ran), fitted on all its rows; its intervals from
// the leave-one-model-out residuals; its carried intervals from predicting the data's
// other GPUs with it (none when the data has no other GPU). Rows of one model fit only
// the engine's fitted_from_one_model parameters, the others carried from `calibrated`'s
// predictors of the engine (the file names their machines).
Result<ServingPredictor> train(const std::vector<ServingCase>& cases, const MeasuredData& data,
                               const std::string& machine_id, const CalibrationOptions& options,
                               const Progress& progress = nullptr, const std::string& engine = "",
                               const std::vector<ServingPredictor>& calibrated = {});

}  // namespace irene::serving
