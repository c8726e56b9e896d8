// Gemma 2, transformers' modeling_gemma2.py: embeddings multiplied by sqrt(hidden_size);
// RMSNorm scaling by (1 + weight); four norms per layer (input, post-attention,
// pre- and post-feed-forward); the GeGLU MLP (gelu_pytorch_tanh); attention scaled by
// query_pre_attn_scalar^-0.5 with tanh soft-capping of its logits
// (attn_logit_softcapping) and of the final logits (final_logit_softcapping); even layers
// attend within a sliding window, odd layers globally; lm_head tied to the embeddings.
#include "models/decoder.h"

namespace irene::models {

std::shared_ptr<CausalLM> make_gemma2(const ModelConfig& config, const Init& init) {
  return make_decoder(config, init, DecoderSpec{.prefix = "Gemma2", .gemma = true});
}

}  // namespace irene::models
