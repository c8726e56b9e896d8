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
    m.router = RouterOptions{.cls = prefix + "TopkRouter",
                             .experts = d.num_experts,
                             .top_k = d.num_experts_per_tok,
                             .hidden = c.hidden_size,
                             .scoring = RouterOptions::Scoring::kSigmoidGrouped,
                             .correction_bias = true,
                             .renormalize = d.norm_topk_prob,
                             .scaling = d.routed_scaling_factor,
                             .n_group = d.n_group,
                             .topk_group = d.topk_group,
                             .float32 = true};
    m.experts = ExpertsOptions{.cls = prefix + "NaiveMoe", .experts = d.num_experts, .hidden = c.hidden_size,
                               .width = d.moe_intermediate_size};
    m.shared_width = d.shared_expert_intermediate_size;
    m.shared_cls = prefix + "MLP";
    return std::make_shared<MoeBlock>(c, m, i);
  };
  return spec;
}

}  // namespace irene::models
