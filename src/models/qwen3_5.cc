// Qwen3.5 and Qwen3.6 (qwen3_5_text, qwen3_5_moe_text: the language models of
// Qwen3_5ForConditionalGeneration and Qwen3_5MoeForConditionalGeneration, whose vision
// towers are not built): Qwen3-Next's layers (qwen_hybrid.h) with the DeltaNet's
// projections split (in_proj_qkv, in_proj_z, in_proj_b, in_proj_a); the dense model's MLP
// in every layer, the MoE model's experts in every layer. Text-only positions make its
// multimodal rotary an ordinary one.
#include "models/qwen_hybrid.h"

namespace irene::models {

std::shared_ptr<CausalLM> make_qwen3_5(const ModelConfig& config, const Init& init) {
  DecoderSpec spec = qwen_hybrid_spec("Qwen3_5", /*split_projections=*/true, /*moe=*/false);
  spec.causal_lm_cls = "Qwen3_5ForCausalLM";
  spec.model_cls = "Qwen3_5TextModel";
  return make_decoder(config, init, spec);
}

std::shared_ptr<CausalLM> make_qwen3_5_moe(const ModelConfig& config, const Init& init) {
  DecoderSpec spec = qwen_hybrid_spec("Qwen3_5Moe", /*split_projections=*/true, /*moe=*/true);
  spec.model_cls = "Qwen3_5MoeTextModel";
  return make_decoder(config, init, spec);
}

}  // namespace irene::models
