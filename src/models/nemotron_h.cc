// Nemotron-H, Nemotron Nano 9B/12B v2 and Nemotron 3, transformers' modeling_nemotron_h.py
// in its v5 layout (NemotronHForCausalLM over NemotronHModel: embeddings, layers, norm_f):
// each layer (NemotronHBlock) is one norm, one mixer and a residual, the mixer chosen by
// hybrid_override_pattern: M a Mamba-2 mixer (mamba2.cc), * attention without positional
// encoding, - a squared-ReLU MLP (up_proj, down_proj), E a mixture of experts
// (NemotronHMoE: DeepSeek's sigmoid routing, squared-ReLU experts, a shared expert, and
// in Nemotron 3 Super/Ultra latent projections around the experts). The
// multi-token-prediction layers are not built (transformers drops them).
#include "models/experts.h"

namespace irene::models {

namespace {

using at::Tensor;
namespace ops = trace::ops;

class NemotronHBlock : public DecoderLayerBase {
 public:
  NemotronHBlock(const ModelConfig& c, const DecoderSpec& spec, int64_t layer, const Init& init)
      : DecoderLayerBase("NemotronHBlock", tree::NodeKind::kModule) {
    const DecoderConfig& d = c.decoder;
    norm_ = register_module("norm", std::make_shared<RMSNorm>("NemotronHRMSNorm", c.hidden_size, c.layer_norm_eps,
                                                               RMSNorm::Scale::kWeight, init));
    if (d.layer_is(layer, Mixer::kMamba2)) {
      mixer_ = register_module("mixer", make_mamba2_mixer(c, "NemotronH", layer, init));
    } else if (d.layer_is(layer, Mixer::kAttention)) {
      mixer_ = register_module("mixer", std::make_shared<Attention>(c, default_attention(c, spec, layer), init));
    } else if (d.layer_moe[layer]) {
      MoeOptions m{.cls = "NemotronHMoE"};
      m.router = grouped_sigmoid_router("NemotronHTopkRouter", c);
      m.experts = ExpertsOptions{.cls = "NemotronHExperts", .experts = d.num_experts,
                                 .hidden = d.moe_latent_size > 0 ? d.moe_latent_size : c.hidden_size,
                                 .width = d.moe_intermediate_size, .gated = false, .act = "relu2"};
      m.shared_width = d.shared_expert_intermediate_size;
      m.shared_gated_mlp = false;
      m.shared_cls = "NemotronHMLP";
      m.latent = d.moe_latent_size;
      ffn_ = register_module("mixer", std::make_shared<MoeBlock>(c, m, init));
    } else {
      ffn_ = register_module("mixer", std::make_shared<PlainMLP>("NemotronHMLP", c, c.hidden_size, c.intermediate_size, init));
    }
  }

  Tensor forward(const Tensor& x, const StepContext& ctx) override {
    auto node = scope([=, this] { forward(x, ctx); });
    Tensor h = norm_->forward(x);
    return ops::add(x, mixer_ ? mixer_->forward(h, ctx) : ffn_->forward(h));
  }
  const TokenMixer* mixer() const override { return mixer_.get(); }

 private:
  std::shared_ptr<RMSNorm> norm_;
  std::shared_ptr<TokenMixer> mixer_;
  std::shared_ptr<FeedForward> ffn_;
};

}  // namespace

std::shared_ptr<CausalLM> make_nemotron_h(const ModelConfig& config, const Init& init) {
  DecoderSpec spec{.prefix = "NemotronH", .final_norm_name = "norm_f", .v5 = true};
  spec.embed_name = "embeddings";
  spec.make_layer = [spec](const ModelConfig& c, int64_t layer, const Init& i) -> std::shared_ptr<HfModule> {
    return std::make_shared<NemotronHBlock>(c, spec, layer, i);
  };
  return make_decoder(config, init, spec);
}

}  // namespace irene::models
