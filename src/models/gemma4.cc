// Gemma 4's language model, transformers' modeling_gemma4.py (Gemma4ForCausalLM over
// Gemma4TextModel, built from the text_config of Gemma4ForConditionalGeneration; the
// vision tower is not built). Five sliding-window layers to one global, the last always
// global. Its RMSNorms scale by w (not 1 + w); attention scores are not scaled (the q and
// k norms' gains carry it) and the values pass a weightless RMSNorm; sliding layers have
// heads of head_dim rotating with theta 10^4, global layers heads of global_head_dim
// whose leading quarter rotates ("proportional" rope) and, with attention_k_eq_v, fewer
// key/value heads with no v_proj (the key projection is also the values'). Every layer's
// output is scaled by its layer_scalar. In the MoE variant (enable_moe_block) each layer
// runs its dense MLP and, beside it, a router and fused experts over the residual
// stream, each branch normed before the two are added. Final logits soft-capped.
#include <cmath>

#include "models/experts.h"
#include "trace/ops.h"

namespace irene::models {

namespace {

namespace ops = trace::ops;
using at::Tensor;

constexpr const char* kNorm = "Gemma4RMSNorm";

// Gemma4TextRouter: a weightless RMSNorm, a learned scale and H^-0.5, the projection,
// softmax over every expert, the top k renormalised and scaled per expert.
class Gemma4Router : public HfModule {
 public:
  Gemma4Router(const ModelConfig& c, const Init& init)
      : HfModule("Gemma4TextRouter", tree::NodeKind::kModule),
        top_k_(c.decoder.num_experts_per_tok),
        root_(std::pow(static_cast<double>(c.hidden_size), -0.5)) {
    scale_ = add_param("scale", {c.hidden_size}, -1, init);
    per_expert_scale_ = add_param("per_expert_scale", {c.decoder.num_experts}, -1, init);
    norm_ = register_module("norm", std::make_shared<RMSNorm>(kNorm, c.hidden_size, c.layer_norm_eps, RMSNorm::Scale::kNone, init));
    proj_ = register_module("proj", std::make_shared<TorchLinear>(c.hidden_size, c.decoder.num_experts, false, init));
  }
  Routing forward(const Tensor& x) {
    auto node = scope([=, this] { forward(x); });
    Tensor z = ops::mul(ops::mul(norm_->forward(x), scale_), root_);
    Tensor probs = ops::ml_softmax(ops::to_dtype(proj_->forward(z), at::kFloat), 1);
    Routing r;
    std::tie(r.weights, r.indices) = ops::topk(probs, top_k_);
    r.weights = ops::div(r.weights, ops::sum(r.weights, -1, /*keepdim=*/true));
    Tensor scales = ops::index_rows(per_expert_scale_, ops::view(r.indices, {-1}));
    r.weights = ops::mul(r.weights, ops::view(scales, r.indices.sizes()));
    return r;
  }

 private:
  int64_t top_k_;
  double root_;
  Tensor scale_, per_expert_scale_;
  std::shared_ptr<RMSNorm> norm_;
  std::shared_ptr<TorchLinear> proj_;
};

class Gemma4DecoderLayer : public DecoderLayerBase {
 public:
  Gemma4DecoderLayer(const ModelConfig& c, const DecoderSpec& spec, int64_t layer, const Init& init)
      : DecoderLayerBase("Gemma4TextDecoderLayer", tree::NodeKind::kModule) {
    const DecoderConfig& d = c.decoder;
    AttentionOptions o = default_attention(c, spec, layer);
    const bool global = !d.layer_sliding[layer];
    if (global) {
      o.head_dim = d.global_head_dim;
      o.kv_heads = d.num_global_kv_heads;
      o.keys_as_values = d.attention_k_eq_v;
    }
    o.cls = "Gemma4TextAttention";
    o.scaling = 1.0;
    o.softcap = 0;
    o.qk_norm = AttentionOptions::QkNorm::kBeforeRotary;
    o.norm_scale = RMSNorm::Scale::kWeight;
    o.norm_cls = kNorm;
    o.value_norm = true;
    self_attn_ = register_module("self_attn", std::make_shared<Attention>(c, o, init));
    mlp_ = register_module("mlp", std::make_shared<GatedMLP>("Gemma4TextMLP", c, c.intermediate_size, false, init,
                                                              GatedMLP::Names{}, true));
    auto norm = [&](const char* name) {
      return register_module(name, std::make_shared<RMSNorm>(kNorm, c.hidden_size, c.layer_norm_eps, RMSNorm::Scale::kWeight, init));
    };
    input_layernorm_ = norm("input_layernorm");
    post_attention_layernorm_ = norm("post_attention_layernorm");
    pre_feedforward_layernorm_ = norm("pre_feedforward_layernorm");
    post_feedforward_layernorm_ = norm("post_feedforward_layernorm");
    if (d.layer_moe[layer]) {
      router_ = register_module("router", std::make_shared<Gemma4Router>(c, init));
      experts_ = register_module(
          "experts", std::make_shared<FusedExperts>(
                         ExpertsOptions{.cls = "Gemma4TextExperts", .experts = d.num_experts, .hidden = c.hidden_size,
                                        .width = d.moe_intermediate_size, .act = "gelu_pytorch_tanh",
                                        .top_k = d.num_experts_per_tok},
                         init));
      post_feedforward_layernorm_1_ = norm("post_feedforward_layernorm_1");
      post_feedforward_layernorm_2_ = norm("post_feedforward_layernorm_2");
      pre_feedforward_layernorm_2_ = norm("pre_feedforward_layernorm_2");
    }
    // A buffer the checkpoints hold (1 until loaded).
    layer_scalar_ = init.meta() ? at::empty({1}, init.options) : at::ones({1}, init.options);
    register_buffer("layer_scalar", layer_scalar_);
  }

  Tensor forward(const Tensor& x, const StepContext& ctx) override {
    auto node = scope([=, this] { forward(x, ctx); });
    Tensor h = ops::add(x, post_attention_layernorm_->forward(self_attn_->forward(input_layernorm_->forward(x), ctx)));
    Tensor f = mlp_->forward(pre_feedforward_layernorm_->forward(h));
    if (router_) {
      // The experts read the residual stream itself, beside the dense MLP.
      const int64_t b = h.size(0), s = h.size(1), hidden = h.size(2);
      Tensor flat = ops::view(h, {b * s, hidden});
      Routing r = router_->forward(flat);
      Tensor routed = experts_->forward(pre_feedforward_layernorm_2_->forward(flat), r);
      routed = post_feedforward_layernorm_2_->forward(ops::view(routed, {b, s, hidden}));
      f = ops::add(post_feedforward_layernorm_1_->forward(f), routed);
    }
    h = ops::add(h, post_feedforward_layernorm_->forward(f));
    return ops::mul(h, layer_scalar_);
  }
  const TokenMixer* mixer() const override { return self_attn_.get(); }

 private:
  std::shared_ptr<Attention> self_attn_;
  std::shared_ptr<GatedMLP> mlp_;
  std::shared_ptr<RMSNorm> input_layernorm_, post_attention_layernorm_, pre_feedforward_layernorm_,
      post_feedforward_layernorm_, post_feedforward_layernorm_1_, post_feedforward_layernorm_2_,
      pre_feedforward_layernorm_2_;
  std::shared_ptr<Gemma4Router> router_;
  std::shared_ptr<FusedExperts> experts_;
  Tensor layer_scalar_;
};

}  // namespace

std::shared_ptr<CausalLM> make_gemma4(const ModelConfig& config, const Init& init) {
  DecoderSpec spec{.prefix = "Gemma4Text", .v5 = true};
  spec.causal_lm_cls = "Gemma4ForCausalLM";
  spec.model_cls = "Gemma4TextModel";
  spec.norm_cls = kNorm;
  spec.scaled_embedding_cls = "Gemma4TextScaledWordEmbedding";
  spec.make_layer = [spec](const ModelConfig& c, int64_t layer, const Init& i) -> std::shared_ptr<HfModule> {
    return std::make_shared<Gemma4DecoderLayer>(c, spec, layer, i);
  };
  return make_decoder(config, init, spec);
}

}  // namespace irene::models
