// Mistral, transformers' modeling_mistral.py: Llama with sliding-window attention on
// every layer (config's sliding_window; null in Mistral-7B-v0.3) and no biases.
#include "models/decoder.h"

namespace irene::models {

std::shared_ptr<CausalLM> make_mistral(const ModelConfig& config, const Init& init) {
  return make_decoder(config, init, DecoderSpec{.prefix = "Mistral"});
}

}  // namespace irene::models
