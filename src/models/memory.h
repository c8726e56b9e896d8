// How much memory running a model takes, from the shapes of a shapes-only trace (meta
// tensors: nothing is allocated to find out), so that sizes that cannot fit are refused
// with the figures instead of the process being killed by the kernel.
#pragma once

#include <cstdint>

#include "common/status.h"
#include "models/config.h"
#include "models/zoo.h"

namespace irene::models {

struct MemoryEstimate {
  double weights_bytes = 0;         // parameters at the run's dtype (float32 unless asked)
  double kv_cache_bytes = 0;        // a generation's KV cache for the prompt and every new token
  double outputs_bytes = 0;         // every op output that allocates (views and in-place ops do not)
  double largest_output_bytes = 0;  // the largest of them

  // A plain forward pass frees as it goes: the weights and a few activations are alive.
  double forward_peak_bytes() const { return weights_bytes + kv_cache_bytes + 4 * largest_output_bytes; }
  // A profile keeps every op's inputs for replaying it: the weights and every output.
  double captured_bytes() const { return weights_bytes + outputs_bytes; }
};

// From a shapes-only forward pass over the prompt at the options' sizes and dtype.
Result<MemoryEstimate> estimate_memory(const ModelConfig& config, const RunOptions& options);

// Whether a run with these options fits in `available_bytes` of host memory: a forward
// pass (forward_peak_bytes) or, with keep_activations, a profile (captured_bytes). Runs
// that hold nothing in host memory (shapes-only, CUDA) always pass.
Status check_run_memory(const ModelConfig& config, const RunOptions& options, double available_bytes);

// Ok when `needed_bytes` fits in 90 % of `available_bytes`; otherwise an invalid_argument
// saying what (`doing`, e.g. "profile gpt2-xl at batch size 4, sequence length 1024"),
// both figures and `advice`.
Status check_fits(const std::string& doing, double needed_bytes, double available_bytes, const std::string& advice);

}  // namespace irene::models
