// gpt-oss, transformers' modeling_gpt_oss.py (openai/gpt-oss-20b, -120b): attention with
// biases on all four projections and a learned sink logit per head that joins each
// softmax, alternating sliding (window 128) and full layers, YaRN rotary embeddings, and
// in every layer a mixture of experts `mlp` (GptOssMLP): a router with a bias whose top-k
// logits are softmaxed, and fused experts (GptOssExperts) whose gate and up columns
// alternate, through a SwiGLU clamped at swiglu_limit (gate * sigmoid(1.702 gate) x
// (up + 1)), with biases. The checkpoints store the experts in MXFP4.
#include "models/experts.h"

namespace irene::models {

std::shared_ptr<CausalLM> make_gpt_oss(const ModelConfig& config, const Init& init) {
  DecoderSpec spec{.prefix = "GptOss", .v5 = true};
  spec.make_mixer = [spec](const ModelConfig& c, int64_t layer, const Init& i) {
    AttentionOptions o = default_attention(c, spec, layer);
    o.sinks = true;
    return std::make_pair(std::string("self_attn"), std::shared_ptr<TokenMixer>(std::make_shared<Attention>(c, o, i)));
  };
  spec.make_ffn = [](const ModelConfig& c, int64_t, const Init& i) -> std::shared_ptr<FeedForward> {
    const DecoderConfig& d = c.decoder;
    MoeOptions m{.cls = "GptOssMLP"};
    m.router = RouterOptions{.cls = "GptOssTopKRouter", .experts = d.num_experts, .top_k = d.num_experts_per_tok,
                             .hidden = c.hidden_size, .scoring = RouterOptions::Scoring::kTopKThenSoftmax, .bias = true};
    m.experts = ExpertsOptions{.cls = "GptOssExperts", .experts = d.num_experts, .hidden = c.hidden_size,
                               .width = d.moe_intermediate_size, .input_major = true, .interleaved = true,
                               .biases = true, .act = "swiglu_clamped", .limit = d.swiglu_limit, .act_module = false};
    m.router_name = "router";
    m.router_first = true;
    return std::make_shared<MoeBlock>(c, m, i);
  };
  return make_decoder(config, init, spec);
}

}  // namespace irene::models
