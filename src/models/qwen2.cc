// Qwen2 / Qwen2.5, transformers' modeling_qwen2.py: Llama with biases on q_proj, k_proj
// and v_proj (not o_proj), and sliding windows only from max_window_layers on when
// use_sliding_window is set (decoder_config.cc).
#include "models/decoder.h"

namespace irene::models {

std::shared_ptr<CausalLM> make_qwen2(const ModelConfig& config, const Init& init) {
  return make_decoder(config, init, DecoderSpec{.prefix = "Qwen2"});
}

}  // namespace irene::models
