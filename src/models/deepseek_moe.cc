#include "models/deepseek_moe.h"

#include "models/experts.h"

namespace irene::models {

DecoderSpec deepseek_spec(const std::string& prefix) {
  DecoderSpec spec{.prefix = prefix, .v5 = true};
  spec.make_mixer = [prefix](const ModelConfig& c, int64_t layer, const Init& i) {
    return std::make_pair(std::string("self_attn"), make_latent_attention(c, prefix, layer, i));
  };
  spec.make_ffn = [prefix](const ModelConfig& c, int64_t layer, const Init& i) -> std::shared_ptr<FeedForward> {
    const DecoderConfig& d = c.decoder;
    if (!d.layer_moe[layer])
      return std::make_shared<GatedMLP>(prefix + "MLP", c, c.intermediate_size, false, i, GatedMLP::Names{}, true);
    MoeOptions m{.cls = prefix + "MoE"};
    m.router = grouped_sigmoid_router(prefix + "TopkRouter", c);
    m.experts = ExpertsOptions{.cls = prefix + "NaiveMoe", .experts = d.num_experts, .hidden = c.hidden_size,
                               .width = d.moe_intermediate_size};
    m.shared_width = d.shared_expert_intermediate_size;
    m.shared_cls = prefix + "MLP";
    return std::make_shared<MoeBlock>(c, m, i);
  };
  return spec;
}

}  // namespace irene::models
