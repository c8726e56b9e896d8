// Gated DeltaNet linear attention as Qwen3-Next and Qwen3.5 build it (transformers'
// Qwen3NextGatedDeltaNet, Qwen3_5GatedDeltaNet; the torch path): projections to queries
// and keys (linear_num_key_heads of linear_key_head_dim), values and an output gate z
// (linear_num_value_heads of linear_value_head_dim), beta and the decay's input a; a
// depthwise causal convolution (no bias) with SiLU over queries, keys and values; beta =
// sigmoid(b), the log-decay g = -exp(A_log) softplus(a + dt_bias); the delta rule (keys
// and queries shared by value_heads / key_heads value heads); a gated RMSNorm per head;
// out_proj. Qwen3-Next groups its projections by key head (in_proj_qkvz, in_proj_ba);
// Qwen3.5 splits them (in_proj_qkv, in_proj_z, in_proj_b, in_proj_a). Each layer keeps a
// constant state: the convolution's last kernel - 1 inputs and a dk x dv matrix per value
// head (float32).
#include "models/recurrent_layers.h"
#include "trace/ops.h"

namespace irene::models {

namespace {

namespace ops = trace::ops;
using at::Tensor;

class GatedDeltaNet : public TokenMixer {
 public:
  GatedDeltaNet(const ModelConfig& c, const std::string& prefix, int64_t layer, bool split, const Init& init)
      : TokenMixer(prefix + "GatedDeltaNet", tree::NodeKind::kModule), g_(c.decoder.deltanet), layer_(layer), split_(split) {
    const int64_t h = c.hidden_size, kd = g_.key_dim(), vd = g_.value_dim(), nv = g_.num_v_heads;
    dt_bias_ = add_param("dt_bias", {nv}, -1, init);
    A_log_ = add_param("A_log", {nv}, 0.5, init);
    conv1d_ = register_module("conv1d", std::make_shared<CausalConv1d>(g_.conv_dim(), g_.conv_kernel, false, init));
    auto norm_and_out = [&] {
      norm_ = register_module("norm", std::make_shared<GatedRMSNorm>(prefix + "RMSNormGated", g_.v_head_dim, 1,
                                                                      /*gate_first=*/false, c.layer_norm_eps, init));
      out_proj_ = register_module("out_proj", std::make_shared<TorchLinear>(vd, h, false, init));
    };
    if (split) {
      norm_and_out();
      in_proj_qkv_ = register_module("in_proj_qkv", std::make_shared<TorchLinear>(h, 2 * kd + vd, false, init));
      in_proj_z_ = register_module("in_proj_z", std::make_shared<TorchLinear>(h, vd, false, init));
      in_proj_b_ = register_module("in_proj_b", std::make_shared<TorchLinear>(h, nv, false, init));
      in_proj_a_ = register_module("in_proj_a", std::make_shared<TorchLinear>(h, nv, false, init));
    } else {
      in_proj_qkvz_ = register_module("in_proj_qkvz", std::make_shared<TorchLinear>(h, 2 * kd + 2 * vd, false, init));
      in_proj_ba_ = register_module("in_proj_ba", std::make_shared<TorchLinear>(h, 2 * nv, false, init));
      norm_and_out();
    }
  }

  LayerCache new_cache(int64_t batch, int64_t, const at::TensorOptions& o) const override {
    auto make = [&](std::vector<int64_t> shape, const at::TensorOptions& to) {
      return to.device().is_meta() ? at::empty(shape, to) : at::zeros(shape, to);
    };
    LayerCache cache;
    cache.state.push_back(make({batch, g_.conv_dim(), g_.conv_kernel - 1}, o));
    cache.state.push_back(make({batch, g_.num_v_heads, g_.k_head_dim, g_.v_head_dim}, o.dtype(at::kFloat)));
    return cache;
  }

  Tensor forward(const Tensor& x, const StepContext& ctx) override {
    auto node = scope([=, this] { forward(x, ctx); });
    LayerCache& cache = ctx.cache->layers[layer_];
    const int64_t b = x.size(0), s = x.size(1), nk = g_.num_k_heads, nv = g_.num_v_heads, dk = g_.k_head_dim,
                  dv = g_.v_head_dim, kd = g_.key_dim(), vd = g_.value_dim(), r = nv / nk;
    Tensor mixed, z, beta_in, a;
    if (split_) {
      mixed = in_proj_qkv_->forward(x);
      z = ops::view(in_proj_z_->forward(x), {b, s, nv, dv});
      beta_in = in_proj_b_->forward(x);
      a = in_proj_a_->forward(x);
    } else {
      // Per key head: its query, key, then the values and gates of its r value heads.
      Tensor qkvz = ops::view(in_proj_qkvz_->forward(x), {b, s, nk, 2 * dk + 2 * r * dv});
      Tensor q = ops::slice(qkvz, -1, 0, dk), k = ops::slice(qkvz, -1, dk, 2 * dk);
      Tensor v = ops::slice(qkvz, -1, 2 * dk, 2 * dk + r * dv);
      z = ops::reshape(ops::contiguous(ops::slice(qkvz, -1, 2 * dk + r * dv, 2 * dk + 2 * r * dv)), {b, s, nv, dv});
      Tensor ba = ops::view(in_proj_ba_->forward(x), {b, s, nk, 2 * r});
      beta_in = ops::reshape(ops::contiguous(ops::slice(ba, -1, 0, r)), {b, s, nv});
      a = ops::reshape(ops::contiguous(ops::slice(ba, -1, r, 2 * r)), {b, s, nv});
      auto flat = [&](const Tensor& t, int64_t width) { return ops::reshape(ops::contiguous(t), {b, s, width}); };
      mixed = ops::cat({flat(q, kd), flat(k, kd), flat(v, vd)}, -1);
    }
    Tensor conv_in = ops::contiguous(ops::transpose(mixed, 1, 2));  // [b, conv, s]
    mixed = ops::transpose(ops::silu(conv1d_->forward(conv_in, cache.state[0])), 1, 2);
    auto heads = [&](int64_t from, int64_t to, int64_t n, int64_t d) {
      return ops::reshape(ops::contiguous(ops::slice(mixed, -1, from, to)), {b, s, n, d});
    };
    Tensor q = heads(0, kd, nk, dk), k = heads(kd, 2 * kd, nk, dk), v = heads(2 * kd, 2 * kd + vd, nv, dv);
    Tensor beta = ops::sigmoid(beta_in);
    Tensor g = ops::mul(ops::neg(ops::exp(ops::to_dtype(A_log_, at::kFloat))),
                        ops::softplus(ops::add(ops::to_dtype(a, at::kFloat), ops::to_dtype(dt_bias_, at::kFloat))));
    if (r > 1) {  // each key head serves r value heads
      auto repeat = [&](const Tensor& t) {
        return ops::reshape(ops::clone(ops::expand(ops::unsqueeze(t, 3), {b, s, nk, r, dk})), {b, s, nv, dk});
      };
      q = repeat(q);
      k = repeat(k);
    }
    Tensor o = ops::gated_delta_rule(q, k, v, g, beta, cache.state[1]);  // [b, s, nv, dv]
    o = norm_->forward(o, z);
    return out_proj_->forward(ops::reshape(o, {b, s, vd}));
  }

 private:
  GatedDeltaNetConfig g_;
  int64_t layer_;
  bool split_;
  Tensor dt_bias_, A_log_;
  std::shared_ptr<CausalConv1d> conv1d_;
  std::shared_ptr<TorchLinear> in_proj_qkvz_, in_proj_ba_, in_proj_qkv_, in_proj_z_, in_proj_b_, in_proj_a_, out_proj_;
  std::shared_ptr<GatedRMSNorm> norm_;
};

}  // namespace

std::shared_ptr<TokenMixer> make_gated_deltanet(const ModelConfig& c, const std::string& prefix, int64_t layer,
                                                bool split_projections, const Init& init) {
  return std::make_shared<GatedDeltaNet>(c, prefix, layer, split_projections, init);
}

}  // namespace irene::models
