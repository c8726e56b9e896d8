// Measured LLM serving energy in the ML.ENERGY Leaderboard's layout: a folder of CSV
// files shaped like vllm_v2_measurements.csv or vllm_v3_h100_measurements.csv (one row
// per model, task, GPU, GPU count and batch cap) and a model_configs.json holding each
// model's config.json numbers (a model it lacks, or lists under "_not_found", takes
// irene's bundled config of the same id). The optional column avg_input_tokens overrides
// the default prompt length, num_requests the default requests of a run, and
// max_output_tokens_cap gives the per-request output cap (without it no run's drain is
// counted). A row's time figure is tpot_avg_s (v2) or itl_median_ms (v3); engine and
// engine_version name the engine (absent: vLLM 0.5.4, v2's); data_parallel,
// expert_parallel, weight_precision and max_num_batched_tokens say how it ran. The GPU
// column is resolved to the catalogue by id or alias. No libtorch.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "models/config.h"
#include "machines/catalogue.h"

namespace irene::serving {

struct MeasuredServing {
  std::string model, task, gpu;  // gpu as the data names it ("H100-SXM5-80GB")
  std::string machine_id;        // the catalogue's id for it ("h100-sxm5-80gb"); "" when it has none
  std::string engine;            // the engine's id ("vllm-0.11.1")
  int num_gpus = 1, tensor_parallel = 1, pipeline_parallel = 1, data_parallel = 1, expert_parallel = 1;
  std::string weight_precision;  // "bfloat16", "fp8", "mxfp4"; "" where not given
  double max_num_seqs = 0, avg_batch_size = 0, avg_output_tokens = 0;
  std::optional<double> avg_input_tokens, max_num_batched_tokens;
  std::optional<double> num_requests, max_output_tokens;  // of the benchmark run (serving/closed_run.h)
  double energy_per_token_j = 0, power_w = 0, throughput_tokens_per_s = 0;
  std::optional<double> tpot_s;                    // mean time per output token (v2)
  std::optional<double> itl_median_s, itl_p90_s;  // inter-token latency (v3)
  // Each request is one turn of a conversation sent with the turns before it, so a later
  // turn's prompt begins with an earlier one's (ML.ENERGY v3's lm-arena-chat).
  bool conversation_turns = false;
  std::string source;  // file:line
  // The time figure calibration compares: the mean TPOT where given, else the median ITL.
  double time_s() const { return tpot_s ? *tpot_s : itl_median_s.value_or(0); }
  bool time_is_itl() const { return !tpot_s && itl_median_s; }
};

struct MeasuredData {
  std::vector<MeasuredServing> rows;  // rows whose model has a config
  std::map<std::string, models::ModelConfig> configs;
  std::vector<std::string> skipped_models;  // rows without a (buildable) config, by model
  std::map<std::string, std::string> unbuildable;  // configs irene cannot build, and why
  std::map<std::string, std::string> config_sources;  // models whose config is irene's bundled one: where it is from
  std::map<std::string, std::string> unknown_gpus;  // GPU names the catalogue lacks, with the error naming its ids
  std::string fingerprint;  // of the files' bytes (FNV-1a 64, hex): what a calibration was fitted on
};

// Reads every *.csv in `dir` and its model_configs.json. Errors name file, line and column.
Result<MeasuredData> load_measured_serving(const std::string& dir);

}  // namespace irene::serving
