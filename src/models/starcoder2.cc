// StarCoder2, transformers' modeling_starcoder2.py: LayerNorm (with bias) instead of
// RMSNorm, biases on every projection (use_bias), and a plain GELU MLP (c_fc, act,
// c_proj) instead of the gated one.
#include "models/decoder.h"

namespace irene::models {

namespace {

namespace ops = trace::ops;

class Starcoder2MLP : public FeedForward {
 public:
  Starcoder2MLP(const ModelConfig& c, const Init& init) : FeedForward("Starcoder2MLP", tree::NodeKind::kModule) {
    const bool bias = c.decoder.mlp_bias;
    c_fc = register_module("c_fc", std::make_shared<TorchLinear>(c.hidden_size, c.intermediate_size, bias, init));
    c_proj = register_module("c_proj", std::make_shared<TorchLinear>(c.intermediate_size, c.hidden_size, bias, init));
    act = register_module("act", std::make_shared<Activation>(c.activation));
  }
  at::Tensor forward(const at::Tensor& x) override {
    auto node = scope([=, this] { forward(x); });
    return ops::dropout(c_proj->forward(act->forward(c_fc->forward(x))));  // residual_dropout
  }
  std::shared_ptr<TorchLinear> c_fc, c_proj;
  std::shared_ptr<Activation> act;
};

}  // namespace

std::shared_ptr<CausalLM> make_starcoder2(const ModelConfig& config, const Init& init) {
  DecoderSpec spec{.prefix = "Starcoder2", .layer_norm = true};
  spec.make_ffn = [](const ModelConfig& c, int64_t, const Init& i) -> std::shared_ptr<FeedForward> {
    return std::make_shared<Starcoder2MLP>(c, i);
  };
  return make_decoder(config, init, spec);
}

}  // namespace irene::models
