// DeepSeek-V3.2, transformers' modeling_deepseek_v32.py: DeepSeek-V3 whose attention
// reads only the index_topk keys its lightning indexer (DeepseekV32Indexer, in every
// layer's self_attn) scores best; the indexer's rotary halves are not interleaved.
#include "models/deepseek_moe.h"

namespace irene::models {

std::shared_ptr<CausalLM> make_deepseek_v32(const ModelConfig& config, const Init& init) {
  return make_decoder(config, init, deepseek_spec("DeepseekV32"));
}

}  // namespace irene::models
