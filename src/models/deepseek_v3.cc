// DeepSeek-V3, R1 and V3.1, and Kimi K2 / K2.5 (whose remote code is the same model),
// transformers' modeling_deepseek_v3.py in its v5 layout: multi-head latent attention
// (latent_attention.cc) and DeepSeekMoE (deepseek_moe.cc). The multi-token-prediction
// layers (num_nextn_predict_layers) are not built, as transformers does not build them;
// their parameters are counted apart.
#include "models/deepseek_moe.h"

namespace irene::models {

std::shared_ptr<CausalLM> make_deepseek_v3(const ModelConfig& config, const Init& init) {
  return make_decoder(config, init, deepseek_spec("DeepseekV3"));
}

}  // namespace irene::models
