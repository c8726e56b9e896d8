// The steady state of an LLM server under continuous batching, as vLLM runs it: B
// requests in flight, each somewhere in its decode (spread evenly over its N output
// tokens), and as requests finish new ones are prefilled. Each decode iteration runs B
// sequences at the mean context (prompt + N / 2: attention grows linearly with the
// context, so the mean context gives the mean cost) and finishes B / N requests; without
// chunked prefill their replacements are prefilled in iterations of their own, together
// (max(1, B / N) prompts each, the weights read once for all). The engine adds its own
// time to every iteration, and a stall for each prompt it admits that grows with the
// running batch and the model's depth. vLLM 0.5 replays decode iterations of up to 256
// running requests as CUDA graphs, their kernels queued at the GPU's own gap between
// kernels; larger ones and the prefills launch kernel by kernel and last at least as
// long as the host's launches. The decode iteration is the time per output
// token; its roofline cost (predict/roofline.h) with the prefills' gives the server's
// energy per output token, power and throughput on a machine.
//
// That is vLLM 0.5's engine (engines/specs/vllm-0.5.4.json). Engines with chunked
// prefill (vLLM's V1 engine) run their own kernels and mix prompts into decode
// iterations: serving/chunked_iterations.h.
//
// Pipeline parallelism over P stages (vLLM: one "virtual engine" per stage, each with its
// own batch of B / P requests, their iterations staggered so every stage stays busy):
// each virtual engine is a tensor-parallel server on G / P GPUs whose layers are split
// over the stages. Its iteration takes the whole model's time on G / P GPUs (the stages
// run one after another for its batch). The P engines' kernels overlap, but they share
// one host (vLLM's engine process schedules and prepares every engine's iterations), so
// a round of one iteration of each engine takes the longer of one iteration and P host
// parts: at small batches the kernels dominate and the pipeline gives P times one
// engine's throughput; at large ones the host does and it gives about one engine's, the
// engines waiting for the host in turn (ML.ENERGY v2's two-node pipelines: the measured
// round time, running requests over throughput, is about P iterations at large batches).
// Pipeline bubbles and the activations sent between stages (small beside the weights)
// are not counted, nor the latency of a hop between nodes.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "engines/engine.h"
#include "engines/lowering.h"
#include "machines/catalogue.h"
#include "models/config.h"
#include "models/zoo.h"
#include "predict/roofline.h"
#include "serving/chunked_iterations.h"
#include "tree/tree.h"

namespace irene::serving {

struct ServingConfig {
  int64_t batch_size = 64;   // requests running at once, 1 to 4096
  int64_t prompt_len = 128;  // tokens per prompt
  int64_t output_len = 256;  // tokens generated per request
  int num_gpus = 1;          // all GPUs: tensor parallel x pipeline parallel
  int pipeline_parallel = 1; // stages; num_gpus / pipeline_parallel GPUs each
  std::string dtype;         // "" = the config's torch_dtype
  // Engines that run transformers' ops (vllm-0.5.4): "" or "sdpa" (one fused attention
  // node), "eager" (the scores materialised: MatMul, Softmax, MatMul). Engines with their
  // own attention kernel take "" or "sdpa" only.
  std::string attention;
  // A closed benchmark run (serving/closed_run.h): when run_requests > 0, the estimate
  // also gives the time per output token averaged over all of that run's decode
  // iterations, its drain included, as such benchmarks report it. max_output_len is the
  // per-request cap on generated tokens.
  int64_t run_requests = 0;
  int64_t max_output_len = 0;
  // The engine (engines/engine.h); "" = vllm-0.5.4, what irene modelled before engines
  // were inputs. Callers pick the default by calibration (serving/predictor.h).
  std::string engine;
  // Attention replicas (vLLM --data-parallel-size): each runs num_gpus / (P x D) GPUs in
  // tensor parallel with its own dense weights; experts spread over all GPUs. Engines
  // with chunked prefill only.
  int data_parallel = 1;
  // Experts spread over the GPUs, whole (vLLM --enable-expert-parallel), rather than each
  // split over them: the GPU whose experts a step touches most sets the fused MoE's time
  // (engines::busiest_group_experts). Engines with chunked prefill.
  bool expert_parallel = false;
  std::string quantization;    // models::override_quantization: "", none, fp8, mxfp4, nvfp4
  std::string kv_cache_dtype;  // "", auto, fp8, fp8_e4m3, fp8_e5m2
  int64_t max_num_batched_tokens = 0;  // the engine's token budget per iteration; 0 = its default
  // The share of each prompt's tokens the engine finds in its prefix cache, computed for
  // another request: a system prompt every request shares, or the conversation so far
  // when each turn is sent with the turns before it. 0: prompts share nothing. Applies
  // where the engine caches this model's prefixes (engines::PrefixCaching); the cached
  // tokens skip the prefill and still count in the context decode attention reads.
  double prompt_cached_share = 0;
  // The trees' size limits (models::check_tree_size): on for untrusted requests (the
  // server); the CLI and measured data serve any real model.
  bool size_limits = true;
};

struct ServingEstimate {
  double energy_per_output_token_j = 0;
  double energy_per_request_j = 0;
  double power_w = 0;  // all GPUs together
  double tpot_s = 0;   // one engine iteration
  double throughput_tokens_per_s = 0;
  double prefill_share = 0;  // of each iteration's energy
  // The share of each prompt the prefix cache held, as applied: the config's where the
  // engine caches this model's prompts, else 0.
  double prompt_cached_share = 0;
  double sampler_energy_j = 0;  // one decode iteration's sampler, all GPUs of one virtual engine
  // The decode iteration averaged over a closed run (ServingConfig::run_requests): at the
  // run's mean running batch rather than the steady one.
  std::optional<double> run_tpot_s;
  // Where one virtual engine's time goes, per decode iteration and what runs between it
  // and the next (seconds; their sum is the batch over one engine's throughput): the
  // decode iteration's kernels and all-reduces, the engine's own time in it (fixed and
  // per running request), the prefill iterations of the prompts admitted meanwhile (their
  // kernels and fixed time), the stalls of admitting them, and, in a pipeline, the wait
  // for the host while the other engines use it (0 without pipeline parallelism).
  // tpot_s = decode_kernels_s + decode_engine_s + host_wait_s.
  std::string engine;  // the engine's id
  // Inter-token latency as users see it, and the time to the first token without
  // queueing (engines with chunked prefill: serving/chunked_iterations.h); empty otherwise.
  std::optional<double> itl_median_s, itl_p90_s, ttft_s;
  struct TimeSplit {
    double decode_kernels_s = 0, decode_engine_s = 0, prefill_s = 0, admission_s = 0, host_wait_s = 0;
    double sampler_s = 0;  // engines with chunked prefill: the sampler's pass, each decode iteration
    double total_s() const { return decode_kernels_s + decode_engine_s + prefill_s + admission_s + host_wait_s + sampler_s; }
  } time_split;
};

// Checks a serving request's numbers (batch, lengths, GPUs and their split, a run);
// errors say what is allowed. ServingWorkload::build checks them too.
Status validate(const ServingConfig& serving);

// The work of one iteration, traced once (shapes only, each distinct layer once: see
// RunOptions::compact_layers) and kept as groups of identical kernels; estimating it on a
// machine is then cheap, as calibration and sweeps need.
class ServingWorkload {
 public:
  static Result<ServingWorkload> build(const models::ModelConfig& config, const ServingConfig& serving);
  // The same model, workload and engine at another running batch and GPU layout, without
  // tracing again (engines with chunked prefill: ChunkedIterations::with_shape); others
  // are built anew.
  Result<ServingWorkload> resized(int64_t batch, int num_gpus, int data_parallel, bool expert_parallel,
                                  int pipeline_parallel = 1) const;
  Result<ServingEstimate> estimate(const machines::MachineSpec& machine, const predict::RooflineParams& params) const;
  // The same with another share of each prompt found in the prefix cache than the
  // config's (calibration fits the data's): no new trace.
  Result<ServingEstimate> estimate(const machines::MachineSpec& machine, const predict::RooflineParams& params,
                                   double prompt_cached_share) const;
  // Whether the engine looks this model's prompts up in its prefix cache (vLLM 0.11 does
  // not for models with state-space or linear-attention layers).
  bool caches_prompts() const;
  // The decode step's tree, with each node's energy on the machine (where the energy
  // goes); traced whole when asked for.
  Result<tree::Tree> step_tree(const machines::MachineSpec& machine, const predict::RooflineParams& params) const;
  // One prompt's prefill (its last position's logits only), each node priced as the
  // engine runs it alone.
  Result<tree::Tree> prompt_tree(const machines::MachineSpec& machine, const predict::RooflineParams& params) const;
  const ServingConfig& config() const { return serving_; }
  const engines::Engine& engine() const { return engine_; }
  const models::ModelConfig& model() const { return *config_; }
  const std::string& dtype() const { return dtype_; }
  int tensor_parallel() const { return serving_.num_gpus / serving_.pipeline_parallel / serving_.data_parallel; }
  // The decode step's kernels as traced and the tokens it ran, for engines that lower a
  // step to their kernels (null otherwise): the memory check reads the weights' stored
  // sizes and a token's activations off them rather than tracing again.
  struct TracedDecode {
    engines::LoweredStep kernels;
    double tokens = 0;
  };
  const TracedDecode* traced_decode() const { return traced_decode_.get(); }

 private:
  struct KernelGroup {
    predict::OpClass op_class;
    double flops, bytes, count;
  };
  struct Phase {
    std::vector<KernelGroup> kernels;
    double layers = 0;  // decoder layers (all-reduces under tensor parallelism)
    bool graphed = false;  // replayed as a CUDA graph (serving/serving.cc: kMaxGraphBatch)
    double layer_activation_bytes = 0;
  };
  static Phase phase_of(const tree::Tree& t, double activation_bytes);
  Result<predict::KernelCost> cost(const Phase& p, const machines::MachineSpec& m,
                                   const predict::RooflineParams& params) const;

  models::RunOptions decode_options() const;
  Status build_chunked();
  models::RunOptions prompt_options() const;
  // `run` traced whole, each node priced on the machine as the engine runs it.
  Result<tree::Tree> priced_tree(const models::RunOptions& run, const machines::MachineSpec& m,
                                 const predict::RooflineParams& params) const;
  Result<tree::Tree> fused_tree(const models::RunOptions& run, const machines::MachineSpec& m,
                                const predict::RooflineParams& params) const;
  int64_t engine_batch() const { return serving_.batch_size / serving_.pipeline_parallel; }

  std::shared_ptr<const models::ModelConfig> config_;  // with the engine's quantization applied
  ServingConfig serving_;
  engines::Engine engine_;
  std::shared_ptr<const ChunkedIterations> chunked_;  // engines with chunked prefill
  std::shared_ptr<const TracedDecode> traced_decode_;  // the same engines
  std::string dtype_;
  Phase decode_, prefill_;  // prefill: one prefill iteration of prompts_per_prefill_ prompts
  std::optional<Phase> run_decode_;  // the decode iteration at a closed run's mean batch
  double run_batch_ = 0;             // that batch, per engine
  int64_t prompts_per_prefill_ = 1;
};

}  // namespace irene::serving
