// Llama 4's language model, transformers' modeling_llama4.py (Llama4ForCausalLM, built from
// the text_config of Llama4ForConditionalGeneration; the vision tower is not built):
// three layers in four rotate their queries and keys (interleaved pairs) and attend within
// chunks of attention_chunk_size, with a weightless L2 norm (qk_norm) after the rotary
// where use_qk_norm; every fourth layer has no positional encoding (NoPE), attends to the
// whole context and scales its queries up with the position (attn_temperature_tuning).
// Layers interleave_moe_layer_step apart are a mixture of experts (Llama4TextMoe): the
// router's top-1 logit through a sigmoid scales the expert's input, fused experts
// (Llama4TextExperts), and a shared expert always on; the others a dense MLP of
// intermediate_size_mlp.
#include "models/experts.h"

namespace irene::models {

std::shared_ptr<CausalLM> make_llama4(const ModelConfig& config, const Init& init) {
  DecoderSpec spec{.prefix = "Llama4Text", .ffn_name = "feed_forward", .v5 = true};
  spec.causal_lm_cls = "Llama4ForCausalLM";
  spec.make_mixer = [spec](const ModelConfig& c, int64_t layer, const Init& i) {
    const DecoderConfig& d = c.decoder;
    AttentionOptions o = default_attention(c, spec, layer);
    o.rotary_interleaved = true;
    if (d.use_qk_norm && !d.layer_nope[layer]) {
      o.qk_norm = AttentionOptions::QkNorm::kAfterRotary;
      o.norm_cls = "Llama4TextL2Norm";
    }
    if (d.attn_temperature_tuning && d.layer_nope[layer]) {
      o.temperature_tuning = true;
      o.floor_scale = d.floor_scale;
      o.attn_scale = d.attn_scale;
    }
    return std::make_pair(std::string("self_attn"), std::shared_ptr<TokenMixer>(std::make_shared<Attention>(c, o, i)));
  };
  spec.make_ffn = [](const ModelConfig& c, int64_t layer, const Init& i) -> std::shared_ptr<FeedForward> {
    const DecoderConfig& d = c.decoder;
    const GatedMLP::Names names{.act = "activation_fn"};
    if (!d.layer_moe[layer])
      return std::make_shared<GatedMLP>("Llama4TextMLP", c, d.dense_intermediate_size, false, i, names, true);
    MoeOptions m{.cls = "Llama4TextMoe"};
    m.router = RouterOptions{.cls = "Llama4Router", .experts = d.num_experts, .top_k = d.num_experts_per_tok,
                             .hidden = c.hidden_size, .scoring = RouterOptions::Scoring::kTopKThenSigmoid,
                             .renormalize = false};
    m.experts = ExpertsOptions{.cls = "Llama4TextExperts", .experts = d.num_experts, .hidden = c.hidden_size,
                               .width = d.moe_intermediate_size, .input_major = true, .weights_on_input = true};
    m.router_name = "router";
    m.shared_name = "shared_expert";
    m.shared_cls = "Llama4TextMLP";
    m.shared_names = names;
    m.shared_width = d.shared_expert_intermediate_size;
    return std::make_shared<MoeBlock>(c, m, i);
  };
  return make_decoder(config, init, spec);
}

}  // namespace irene::models
