// Serving engines, described like machines: one small JSON file per engine version in
// specs/ (every figure with its source), compiled into the binary. An engine says how it
// schedules (continuous batching, with or without chunked prefill, its batch and token
// caps, the memory it gives the KV cache), which iterations replay CUDA graphs, which
// kernels it runs (eager: the Hugging Face tree's aten ops one by one; fused: the
// engine's own kernels, engines/lowering.h), whether its host time grows with the GPU
// workers, and which of the roofline's parameters a calibration fits for it. No libtorch.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace irene::engines {

enum class Kernels {
  kEager,  // each aten op of the Hugging Face forward pass is a kernel
  kFused,  // the engine's fused kernels (packed projections, fused norms, fused MoE, ...)
};
const char* kernels_name(Kernels k);

// How an iteration runs with respect to CUDA graphs.
enum class GraphMode {
  kFull,       // replayed whole: the host launches nothing, each kernel costs the GPU's gap
  kPiecewise,  // replayed between the attention kernels, which the host launches itself
  kEager,      // every kernel launched by the host
};
const char* graph_mode_name(GraphMode g);

// Which models' prompts the engine looks up in its prefix cache (a prompt whose leading
// blocks another request computed skips them).
enum class PrefixCaching {
  kNone,           // off by default
  kAttentionOnly,  // on, but not for models with state-space or linear-attention layers
  kAll,
};
const char* prefix_caching_name(PrefixCaching p);  // "none", "attention_only", "all"

struct Engine {
  std::string id;       // "vllm-0.11.1"
  std::string name;     // "vLLM 0.11.1 (V1 engine)"
  std::string version;  // "0.11.1"
  // Scheduling.
  bool chunked_prefill = false;             // prompts ride in decode iterations, in chunks
  int64_t max_num_batched_tokens = 0;       // tokens per iteration (chunked prefill); 0: no cap
  int64_t max_num_seqs = 256;               // the engine's default batch cap
  double gpu_memory_utilization = 0.9;      // share of each GPU's memory for weights, activations and KV cache
  double min_compute_capability = 0;        // the GPUs it runs on (NVIDIA compute capability); 0: any
  PrefixCaching prefix_caching = PrefixCaching::kNone;
  // CUDA graphs: decode-only iterations of up to graph_max_tokens tokens replay full
  // graphs; iterations with prompts in them run as mixed_graphs says (up to the same
  // size), larger ones eagerly.
  int64_t graph_max_tokens = 0;
  GraphMode mixed_graphs = GraphMode::kEager;
  Kernels kernels = Kernels::kEager;
  // The host's fixed time per iteration is per GPU worker (vLLM 0.5 hands each worker its
  // inputs) rather than once (V1 broadcasts the scheduler's output to all workers at once).
  bool host_time_per_worker = true;
  // The dtype the engine runs a checkpoint stored in float32 (or with no torch_dtype)
  // in; "" keeps the config's.
  std::string float32_runs_as;
  // The roofline parameters (RooflineParams field names) calibration fits for this
  // engine on a machine's data, and the subset one model's rows can identify (the rest
  // are carried from the engine's calibrations of other machines).
  std::vector<std::string> fitted;
  std::vector<std::string> fitted_from_one_model;
  int calibration_starts = 1;  // Nelder-Mead starts of a fit (serving/calibration.cc)
  nlohmann::json sources = nlohmann::json::object();
  std::string notes;
};

nlohmann::json to_json(const Engine& e);
Result<Engine> engine_from_json(const nlohmann::json& j, const std::string& where);

// Every shipped engine, oldest version first.
const std::vector<Engine>& engine_catalogue();
// The engine `id`; NotFound lists the ids that exist.
Result<Engine> find_engine(const std::string& id);
// The id of an engine as a data file names it ("vLLM", "0.11.1" -> "vllm-0.11.1").
std::string engine_id(const std::string& name, const std::string& version);
// The engine measured data without an engine column ran: ML.ENERGY v2's vLLM 0.5.4.
constexpr const char* kLegacyEngineId = "vllm-0.5.4";

}  // namespace irene::engines
