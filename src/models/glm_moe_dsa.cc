// GLM-5, transformers' modeling_glm_moe_dsa.py: DeepSeek-V3.2's sparse latent attention
// (its indexer rotating interleaved pairs, indexer_rope_interleave) over GLM's sizes
// (qk_nope_head_dim 192, v_head_dim 256), DeepSeekMoE with one expert group.
#include "models/deepseek_moe.h"

namespace irene::models {

std::shared_ptr<CausalLM> make_glm_moe_dsa(const ModelConfig& config, const Init& init) {
  return make_decoder(config, init, deepseek_spec("GlmMoeDsa"));
}

}  // namespace irene::models
