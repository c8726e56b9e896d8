// Qwen3, transformers' modeling_qwen3.py: Qwen2 without the q/k/v biases (attention_bias)
// and with an RMSNorm over each head of the queries and keys (q_norm, k_norm) before
// the rotary embedding; head_dim is explicit (128) rather than hidden / heads.
#include "models/decoder.h"

namespace irene::models {

std::shared_ptr<CausalLM> make_qwen3(const ModelConfig& config, const Init& init) {
  return make_decoder(config, init, DecoderSpec{.prefix = "Qwen3", .qk_norm = true});
}

}  // namespace irene::models
