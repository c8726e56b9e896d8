// Measured LLM serving energy in the ML.ENERGY Leaderboard's layout: a folder of CSV
// files shaped like vllm_v2_measurements.csv (one row per model, task, GPU, GPU count and
// batch cap) and a model_configs.json holding each model's config.json numbers. The
// optional column avg_input_tokens overrides the default prompt length, num_requests the
// default requests of a run, and max_output_tokens_cap gives the per-request output cap
// (without it no run's drain is counted). No libtorch.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "models/config.h"

namespace irene::serving {

struct MeasuredServing {
  std::string model, task, gpu;  // gpu as the data names it ("H100-SXM5-80GB")
  std::string machine_id;        // the catalogue's id for it ("h100-sxm5-80gb")
  int num_gpus = 1, tensor_parallel = 1, pipeline_parallel = 1;
  double max_num_seqs = 0, avg_batch_size = 0, avg_output_tokens = 0;
  std::optional<double> avg_input_tokens;
  std::optional<double> num_requests, max_output_tokens;  // of the benchmark run (serving/closed_run.h)
  double energy_per_token_j = 0, power_w = 0, throughput_tokens_per_s = 0, tpot_s = 0;
  std::string source;  // file:line
};

struct MeasuredData {
  std::vector<MeasuredServing> rows;  // rows whose model has a config
  std::map<std::string, models::ModelConfig> configs;
  std::vector<std::string> skipped_models;  // rows without a (buildable) config, by model
  std::map<std::string, std::string> unbuildable;  // configs irene cannot build, and why
  std::string fingerprint;  // of the files' bytes (FNV-1a 64, hex): what a calibration was fitted on
};

// Reads every *.csv in `dir` and its model_configs.json. Errors name file, line and column.
Result<MeasuredData> load_measured_serving(const std::string& dir);

}  // namespace irene::serving
