// Phi-3, transformers' modeling_phi3.py: Llama with the query, key and value projections
// fused in one qkv_proj and the MLP's gate and up projections in one gate_up_proj
// (activation module `activation_fn`), and dropout modules on both residual branches.
#include "models/decoder.h"

namespace irene::models {

std::shared_ptr<CausalLM> make_phi3(const ModelConfig& config, const Init& init) {
  DecoderSpec spec{.prefix = "Phi3", .fused_qkv = true, .resid_dropouts = true};
  spec.make_ffn = [](const ModelConfig& c, int64_t, const Init& i) -> std::shared_ptr<FeedForward> {
    return std::make_shared<GatedMLP>("Phi3MLP", c, c.intermediate_size, /*fused=*/true, i,
                                      GatedMLP::Names{.act = "activation_fn"});
  };
  return make_decoder(config, init, spec);
}

}  // namespace irene::models
