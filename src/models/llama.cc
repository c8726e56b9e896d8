// Llama (Llama 2, Llama 3.x, CodeLlama, TinyLlama, SmolLM2), transformers'
// modeling_llama.py: the family the others are derived from (see decoder.h). RMSNorm,
// rotary embeddings with rope_scaling default, linear or llama3, grouped-query
// attention, the SwiGLU MLP (gate_proj, up_proj, down_proj), lm_head tied or not.
#include "models/decoder.h"

namespace irene::models {

std::shared_ptr<CausalLM> make_llama(const ModelConfig& config, const Init& init) {
  return make_decoder(config, init, DecoderSpec{.prefix = "Llama"});
}

}  // namespace irene::models
