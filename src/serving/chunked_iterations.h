// The steady state of an engine with chunked prefill (vLLM's V1 engine): B requests in
// flight, each getting one token per iteration; as requests finish (B / N per iteration
// on average, N the mean output length) waiting prompts take their places, their tokens
// riding in the next iterations beside the B decode tokens, up to the engine's token
// budget (max_num_batched_tokens). So iterations differ: most carry no prompt at small
// B / N, some carry one or more. The number of prompts an iteration admits is taken as
// Poisson with mean B / N, and prompt lengths, known only by their mean P, as the
// maximum-entropy law for a positive length of known mean (an exponential): the prefill
// tokens of an iteration are then a compound Poisson-exponential, capped at the budget
// left after the decode tokens. An iteration with x prefill tokens runs the engine's
// kernels for the decode batch and x / P prompts' prefill together (engines/lowering.h:
// one launch each, the weights read once), replayed as a CUDA graph or launched by the
// host as the engine does at its size, after the engine's own time on the host.
//
// Every token a request receives is one iteration after the last, so the inter-token
// latencies users see are the iterations' times: their median and 90th percentile are
// those of the iteration time over the prefill tokens' law (time grows with x); the
// energy, power and throughput come from its mean, taken over 32 quantiles of that law.
// The time to the first token is half an iteration's wait for the next one plus the
// iterations that prefill a prompt of mean length in chunks, without any queueing.
// Each iteration ends with the sampler: each replica's share of the B requests, a row
// of vocabulary-sized logits each, on every GPU of the replica (RooflineParams::per_logit_s).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "engines/engine.h"
#include "engines/lowering.h"
#include "machines/catalogue.h"
#include "predict/roofline.h"

namespace irene::serving {

// The prefill tokens one iteration carries (see above): `rate` prompts per iteration,
// `mean_len` tokens each on average, at most `cap` tokens in all.
class PrefillTokens {
 public:
  PrefillTokens(double rate, double mean_len, double cap);
  double cdf(double tokens) const;   // P(x <= tokens)
  double quantile(double u) const;   // the smallest x with cdf(x) >= u
 private:
  double rate_, mean_len_, cap_;
};

// What one iteration costs on a machine.
struct IterationCost {
  double time_s = 0;     // host and GPU, one after the other
  double kernels_s = 0;  // the GPUs' part (or the host's launches, where they take longer)
  double sampler_s = 0;  // the sampler's pass over the logits, on the GPUs
  double host_s = 0;     // the engine's own time, the GPUs waiting
  double energy_j = 0;   // all GPUs, the sampler's included
  double sampler_j = 0;  // the sampler's part of it
};

class ChunkedIterations {
 public:
  struct Shape {
    double batch = 1;         // running requests: decode tokens per iteration
    double prompt_len = 1;    // mean prompt tokens
    double output_len = 1;    // mean output tokens
    double token_budget = 0;  // max_num_batched_tokens
    double hidden_bytes_per_token = 0;  // all-reduced twice per decoder layer
    int num_gpus = 1;
    int data_parallel = 1;    // attention replicas, each with its own copy of the dense weights
    // Each GPU holds whole experts, E / num_gpus of them (else each expert is split over
    // all): the GPU whose experts the routed rows touch most sets the fused MoE's time,
    // and each launch pays the expert-parallel fixed cost (serving/fused_moe_cost.h).
    bool expert_parallel = false;
    double vocab = 0;  // logits per running request: the sampler's work
  };
  // `decode`: the decode batch's step; `prompt`: one prompt's prefill (prompt_len tokens);
  // both lowered to `engine`'s kernels. `dtype` is the steps' element type.
  static Result<ChunkedIterations> build(const engines::LoweredStep& decode, const engines::LoweredStep& prompt,
                                         const Shape& shape, const engines::Engine& engine, const std::string& dtype);
  ChunkedIterations();
  ~ChunkedIterations();
  ChunkedIterations(ChunkedIterations&&) noexcept;
  ChunkedIterations& operator=(ChunkedIterations&&) noexcept;

  // The same model and engine at another running batch and GPU layout: the decode
  // batch's work scales with its sequences (every kernel's FLOPs, activations and routed
  // rows are per sequence at one context), the weights do not; no new trace.
  Result<ChunkedIterations> with_shape(const Shape& shape) const;

  // The iteration with `prefill_tokens` beside the decode batch.
  Result<IterationCost> iteration(double prefill_tokens, const machines::MachineSpec& m,
                                  const predict::RooflineParams& params) const;

  struct Steady {
    IterationCost decode_only;      // no prompt in it
    double mean_time_s = 0, mean_energy_j = 0;
    double itl_median_s = 0, itl_p90_s = 0, ttft_s = 0;
  };
  // `cached_share` of each prompt's tokens found in the engine's prefix cache skip the
  // prefill: an iteration carries (1 - share) of the prefill tokens placed for whole
  // prompts (the compound law scales with the prompts' mean where the budget does not
  // cap it), and a new prompt needs chunks for its uncached tokens only.
  Result<Steady> steady_state(const machines::MachineSpec& m, const predict::RooflineParams& params,
                              double cached_share = 0) const;
  const Shape& shape() const { return shape_; }

 private:
  struct Kernel;  // a paired kernel reduced to the numbers its cost needs (calibration calls this often)
  static Status check(const Shape& shape);  // a batch the budget leaves room beside, replicas that divide the GPUs
  void place_prompts();  // the prefill tokens' quantiles for shape_
  std::vector<Kernel> kernels_;
  double layers_ = 0;
  Shape shape_;
  engines::Engine engine_;
  std::string dtype_;
  // The prefill tokens' quantiles (they do not depend on the machine): the mean's, the
  // median, the 90th percentile, and one chunk of a new prompt.
  std::vector<double> mean_points_;
  double median_x_ = 0, p90_x_ = 0, chunk_x_ = 0;
};

}  // namespace irene::serving
