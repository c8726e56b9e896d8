// Mixtral, transformers' modeling_mixtral.py: Mistral whose MLP is a sparse mixture of
// experts, `block_sparse_moe` (MixtralSparseMoeBlock: router `gate`, experts.N with
// w1 (gate), w2 (down), w3 (up)), top-k routing renormalised over the chosen experts.
#include "models/moe.h"

namespace irene::models {

std::shared_ptr<CausalLM> make_mixtral(const ModelConfig& config, const Init& init) {
  DecoderSpec spec{.prefix = "Mixtral", .ffn_name = "block_sparse_moe"};
  spec.make_ffn = [](const ModelConfig& c, int64_t, const Init& i) -> std::shared_ptr<FeedForward> {
    auto expert = [&c](const Init& ei) -> std::shared_ptr<FeedForward> {
      return std::make_shared<GatedMLP>("MixtralBlockSparseTop2MLP", c, c.intermediate_size, false, ei,
                                        GatedMLP::Names{.gate = "w1", .up = "w3", .down = "w2", .act = "act_fn"});
    };
    return std::make_shared<SparseMoeBlock>("MixtralSparseMoeBlock", c, expert, i);
  };
  return make_decoder(config, init, spec);
}

}  // namespace irene::models
