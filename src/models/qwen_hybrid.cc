#include "models/qwen_hybrid.h"

#include "models/experts.h"

namespace irene::models {

DecoderSpec qwen_hybrid_spec(const std::string& prefix, bool split_projections, bool moe) {
  DecoderSpec spec{.prefix = prefix, .qk_norm = true, .one_plus_norms = true, .v5 = true};
  spec.make_mixer = [spec, prefix, split_projections](const ModelConfig& c, int64_t layer, const Init& i) {
    if (c.decoder.layer_is(layer, Mixer::kGatedDeltaNet))
      return std::make_pair(std::string("linear_attn"), make_gated_deltanet(c, prefix, layer, split_projections, i));
    AttentionOptions o = default_attention(c, spec, layer);
    o.output_gate = true;
    return std::make_pair(std::string("self_attn"), std::shared_ptr<TokenMixer>(std::make_shared<Attention>(c, o, i)));
  };
  if (!moe) return spec;
  spec.make_ffn = [prefix](const ModelConfig& c, int64_t layer, const Init& i) -> std::shared_ptr<FeedForward> {
    const DecoderConfig& d = c.decoder;
    if (!d.layer_moe[layer])
      return std::make_shared<GatedMLP>(prefix + "MLP", c, c.intermediate_size, false, i, GatedMLP::Names{}, true);
    MoeOptions m{.cls = prefix + "SparseMoeBlock"};
    m.router = RouterOptions{.cls = prefix + "TopKRouter", .experts = d.num_experts, .top_k = d.num_experts_per_tok,
                             .hidden = c.hidden_size, .renormalize = d.norm_topk_prob};
    m.experts = ExpertsOptions{.cls = prefix + "Experts", .experts = d.num_experts, .hidden = c.hidden_size,
                               .width = d.moe_intermediate_size};
    m.router_first = true;
    m.shared_name = "shared_expert";
    m.shared_cls = prefix + "MLP";
    m.shared_width = d.shared_expert_intermediate_size;
    m.shared_expert_gate = true;
    return std::make_shared<MoeBlock>(c, m, i);
  };
  return spec;
}


}  // namespace irene::models
