// Generation as a serving engine or transformers' generate() runs it: a prefill over the
// prompt that fills the KV cache and yields the first new token, then one decode step
// per further token, each reading the whole cache. Traced into one tree: a root of kind
// generation over a prefill phase and a decode phase (the sum of its steps). Internal;
// includes libtorch.
#pragma once

#include <functional>

#include "models/decoder.h"
#include "models/zoo.h"
#include "tree/tree.h"

namespace irene::models {

struct GenerationRun {
  CausalLM& lm;
  const ModelConfig& config;
  const RunOptions& options;  // batch_size, seq_len (the prompt), new_tokens, decode_step
  at::Tensor prompt_ids;      // [batch, seq_len]
  at::TensorOptions tensor_options;
};

// The generation tree. Shapes-only runs trace two decode steps per stretch of steps over
// which every figure changes linearly with the context (a sliding window's end starts a
// new stretch) and sum each stretch exactly, so 1,024 steps cost two traces; real runs
// trace every step, feeding back the greedy (argmax) token.
Result<tree::Tree> trace_generation(const GenerationRun& run);
// The same generation with the tracer off (the tracer's overhead, measured in bench/).
Status run_generation_untraced(const GenerationRun& run);

// Runs `body` in inference mode, turning libtorch's exceptions into a Status that names
// the model and the sizes (zoo.cc).
Status run_guarded(const ModelConfig& config, const RunOptions& options, const std::function<void()>& body);

}  // namespace irene::models
