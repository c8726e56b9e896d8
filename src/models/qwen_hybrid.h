// The layers Qwen3-Next and Qwen3.5 share: gated DeltaNet linear attention in three
// layers of four (linear_attn), gated full attention in the fourth (self_attn: q_proj
// yields each head's query and a sigmoid gate on its output, (1 + w) q and k norms, the
// leading quarter of each head rotating), (1 + w) RMSNorms, and where `moe` a mixture of
// experts (softmax top-k, fused experts, a shared expert scaled by
// sigmoid(shared_expert_gate)) in the layers that route. Internal; includes libtorch.
#pragma once

#include <string>

#include "models/decoder.h"

namespace irene::models {

// `split_projections`: Qwen3.5's four DeltaNet input projections instead of Qwen3-Next's two.
DecoderSpec qwen_hybrid_spec(const std::string& prefix, bool split_projections, bool moe);

}  // namespace irene::models
