// Phi-3-small (microsoft/Phi-3-small-8k-instruct's remote code, modeling_phi3_small.py):
// LayerNorm with biases, biases on every projection, grouped query_key_value heads and
// a rotary embedding inside each attention (see DecoderSpec), muP scaling (embeddings x
// mup_embedding_multiplier, attention scores x mup_attn_multiplier / head_dim, float32
// logits / mup_width_multiplier with the tokenizer's dummy ids masked), and a GeGELU MLP.
//
// Every other layer (those with (i + 1) % dense_attention_every_n_layers != 0) runs
// block-sparse attention in the original: each query block of 64 sees its last 16 blocks
// and every 8th block before them. irene traces those layers as dense causal attention:
// the same result and cost while the context is within 16 blocks (1,024 tokens, which
// covers every ML.ENERGY request), an over-estimate of those layers' attention beyond.
// Serving engines run attention over the grouped heads directly; the remote code's
// repeat_interleave of keys and values to the query heads is traced in eager mode only.
#include "models/decoder.h"

namespace irene::models {

namespace {

namespace ops = trace::ops;

class Phi3SmallMLP : public FeedForward {
 public:
  Phi3SmallMLP(const ModelConfig& c, const Init& init)
      : FeedForward("Phi3SmallMLP", tree::NodeKind::kModule), limit_(c.decoder.gegelu_limit) {
    up_proj = register_module("up_proj", std::make_shared<TorchLinear>(c.hidden_size, 2 * c.intermediate_size, true, init));
    down_proj = register_module("down_proj", std::make_shared<TorchLinear>(c.intermediate_size, c.hidden_size, true, init));
    register_module("dropout", make_dropout());
  }
  at::Tensor forward(const at::Tensor& x) override {
    auto node = scope([=, this] { forward(x); });
    return ops::dropout(down_proj->forward(gegelu(up_proj->forward(x))));
  }
  std::shared_ptr<TorchLinear> up_proj, down_proj;

 private:
  // The even features gate through quick GELU (x sigmoid(1.702 x)), the odd ones are
  // linear (+ 1); both clamped to the limit where finite.
  at::Tensor gegelu(const at::Tensor& h) const {
    const int64_t n = h.size(-1);
    at::Tensor gate = ops::slice_step(h, -1, 0, n, 2), linear = ops::slice_step(h, -1, 1, n, 2);
    if (limit_ > 0) {
      gate = ops::where(ops::isinf(gate), gate, ops::clamp(gate, c10::nullopt, limit_));
      linear = ops::where(ops::isinf(linear), linear, ops::clamp(linear, -limit_, limit_));
    }
    at::Tensor quick_gelu = ops::mul(gate, ops::sigmoid(ops::mul(gate, 1.702)));
    return ops::mul(quick_gelu, ops::add(linear, 1.0));
  }
  double limit_;
};

}  // namespace

std::shared_ptr<CausalLM> make_phi3small(const ModelConfig& config, const Init& init) {
  DecoderSpec spec{.prefix = "Phi3Small",
                   .layer_norm = true,
                   .grouped_qkv = true,
                   .rotary_in_attention = true,
                   .embedding_dropout = true,
                   .final_norm_name = "final_layernorm"};
  spec.make_ffn = [](const ModelConfig& c, int64_t, const Init& i) -> std::shared_ptr<FeedForward> {
    return std::make_shared<Phi3SmallMLP>(c, i);
  };
  return make_decoder(config, init, spec);
}

}  // namespace irene::models
