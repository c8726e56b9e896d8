// Qwen3-Next, transformers' modeling_qwen3_next.py in its v5 layout (qwen_hybrid.h):
// gated DeltaNet with its projections grouped by key head (in_proj_qkvz, in_proj_ba),
// gated full attention in every fourth layer, experts in the layers decoder_sparse_step
// picks (and not in mlp_only_layers), a dense MLP in the others.
#include "models/qwen_hybrid.h"

namespace irene::models {

std::shared_ptr<CausalLM> make_qwen3_next(const ModelConfig& config, const Init& init) {
  return make_decoder(config, init, qwen_hybrid_spec("Qwen3Next", /*split_projections=*/false, /*moe=*/true));
}

}  // namespace irene::models
