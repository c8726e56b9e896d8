// Qwen3-MoE, transformers' modeling_qwen3_moe.py: Qwen3 whose MLP is, on the layers
// decoder_sparse_step selects (and not in mlp_only_layers), a sparse mixture of experts
// `mlp` (Qwen3MoeSparseMoeBlock: router `gate`, experts.N of moe_intermediate_size),
// renormalising the top-k probabilities only when norm_topk_prob is set.
#include "models/moe.h"

namespace irene::models {

std::shared_ptr<CausalLM> make_qwen3_moe(const ModelConfig& config, const Init& init) {
  DecoderSpec spec{.prefix = "Qwen3Moe", .qk_norm = true};
  spec.make_ffn = [](const ModelConfig& c, int64_t layer, const Init& i) -> std::shared_ptr<FeedForward> {
    if (!c.decoder.layer_moe[layer])
      return std::make_shared<GatedMLP>("Qwen3MoeMLP", c, c.intermediate_size, false, i);
    auto expert = [&c](const Init& ei) -> std::shared_ptr<FeedForward> {
      return std::make_shared<GatedMLP>("Qwen3MoeMLP", c, c.decoder.moe_intermediate_size, false, ei);
    };
    return std::make_shared<SparseMoeBlock>("Qwen3MoeSparseMoeBlock", c, expert, i);
  };
  return make_decoder(config, init, spec);
}

}  // namespace irene::models
