// Which setup serves a model for the least energy: a search over machines x GPU counts x
// parallel layouts (tensor, pipeline, data and expert parallel) x running batches x
// weight and KV cache formats x engines, each candidate priced by the serving predictor
// of its machine and engine (serving/predictor.h). What the memory cannot hold at that
// batch (weights, activations and the KV cache: serving/memory.h) or misses the latency
// objectives is kept out; the answer is the least energy per output token, the Pareto
// frontiers, the runner-up and what separates them, and, when nothing meets the
// objectives, the closest miss.
//
// One trace per (engine, weight format, KV format): a traced V1 workload is resized to
// every batch and layout without tracing again (ServingWorkload::resized), which keeps a
// search of tens of thousands of candidates within a second or two.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "machines/catalogue.h"
#include "models/config.h"
#include "serving/predictor.h"
#include "serving/serving.h"

namespace irene::advisor {

// A standard workload: prompt and output lengths, with where they come from.
struct Task {
  std::string id;  // "chat", "reasoning", "code"
  int64_t prompt_len = 0, output_len = 0;
  std::string source;
};
const std::vector<Task>& standard_tasks();
// NotFound lists the tasks.
Result<Task> find_task(const std::string& id);

// Service-level objectives; empty: none.
struct Slo {
  std::optional<double> itl_s;   // median inter-token latency (the time per output token where no ITL is modelled)
  std::optional<double> ttft_s;  // time to the first token, without queueing
};

struct Request {
  int64_t prompt_len = 634, output_len = 700;
  // Share of each prompt already in the engine's prefix cache (a shared system prompt, a
  // conversation's earlier turns): from 0 to below 1; engines that cache none of the
  // model's prompts apply none (serving::ServingConfig::prompt_cached_share).
  double prompt_cached_share = 0;
  Slo slo;
  std::vector<std::string> machines;  // catalogue ids; empty: every catalogued GPU
  int max_gpus = 8;                   // GPU counts tried: 1, 2, 4, 8, ... up to this
  // Weight formats (ServingConfig::quantization); "" = as the checkpoint stores them.
  // Empty: as stored, and fp8 / nvfp4 where the machine computes in them natively.
  std::vector<std::string> quantizations;
  std::vector<std::string> kv_cache_dtypes;  // empty: {""} (the run's dtype)
  std::vector<std::string> engines;          // empty: the newest engine, on every machine
  std::vector<int64_t> batches;              // running batches (vLLM --max-num-seqs); empty: default_batches()
  bool size_limits = true;                   // the traces' size limits (off on the CLI)
};

// 1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 20, ... 4096: four steps an octave (vLLM's
// --max-num-seqs takes any number; finer steps find the best batch closer).
std::vector<int64_t> default_batches();

// One setup and its figures.
struct Candidate {
  std::string machine_id, engine, quantization, kv_cache_dtype;
  int num_gpus = 1, tensor_parallel = 1, pipeline_parallel = 1, data_parallel = 1;
  bool expert_parallel = false;
  int64_t batch = 1;
  bool calibrated = false;     // the machine's predictor was fitted on its own measurements
  double weights_bytes = 0;    // all GPUs together, as stored
  serving::ServingEstimate estimate;
  bool meets_slo = true;
  double slo_ratio = 0;        // the worst of ITL / its objective and TTFT / its objective; 0 without objectives
  double itl_s() const { return estimate.itl_median_s.value_or(estimate.tpot_s); }
  double throughput_per_gpu() const { return estimate.throughput_tokens_per_s / num_gpus; }
  // "2 x NVIDIA H100 SXM5 80GB, TP 2, fp8 weights, batch 256, vllm-0.11.1"-like.
  std::string describe() const;
  // The same setup, batch aside.
  bool same_setup(const Candidate& o) const;
};

struct Advice {
  int64_t searched = 0;        // setups considered (every batch of every layout of every machine)
  int64_t fitting = 0;         // those whose weights and KV cache fit: estimated
  int64_t meeting = 0;         // those that also meet the objectives
  std::vector<Candidate> candidates;  // the fitting ones
  std::optional<size_t> best;         // least energy per output token among those meeting the objectives
  std::optional<size_t> runner_up;    // the best on another machine, GPU count or weight format (else any other setup)
  std::optional<size_t> closest_miss; // when none meets them: the fitting one that misses least
  std::vector<size_t> frontier_itl;          // energy per token against ITL, ITL ascending
  std::vector<size_t> frontier_throughput;   // energy per token against throughput per GPU, throughput descending
  std::vector<std::string> excluded;         // machines, engines or formats left out, and why
  std::string why;                            // what separates the best from the runner-up
  // When nothing fits: the fewest GPUs of a tried machine that would hold the weights.
  std::string needs;
};

// The search's parts done (a machine, engine and weight and KV format each, every GPU
// count and batch of it) of all; returning false stops the search, which then answers
// Status::cancelled.
using Progress = std::function<bool(size_t done, size_t total)>;

Result<Advice> advise(const models::ModelConfig& config, const Request& request,
                      const std::vector<serving::ServingPredictor>& available, const Progress& progress = {});

// The ServingConfig of a candidate under `request`'s workload: what `irene serving` is
// asked to see the same setup (and its step tree).
serving::ServingConfig serving_config(const Candidate& c, const Request& request);

// Cost and CO2 of a million output tokens at a price and a grid intensity (the
// dashboard's defaults: 0.15 USD/kWh, an assumption; 475 g/kWh, the IEA world average).
struct Footprint {
  double kwh = 0, cost_usd = 0, co2_g = 0;
};
inline constexpr double kDefaultUsdPerKwh = 0.15;
inline constexpr double kDefaultGramsPerKwh = 475;
Footprint per_million_tokens(double energy_per_token_j, double usd_per_kwh = kDefaultUsdPerKwh,
                             double grams_per_kwh = kDefaultGramsPerKwh);

nlohmann::json to_json(const Candidate& c);
// The search's answer; the best's full serving answer and step tree are added by callers
// (advisor/explain.h).
nlohmann::json to_json(const Advice& a, const Request& request);

}  // namespace irene::advisor
