// Mamba-2 mixers as Nemotron-H builds them (transformers' NemotronHMamba2Mixer, the torch
// path): in_proj yields a gate z, the convolution's input x|B|C and the time steps dt; a
// depthwise causal convolution with SiLU; dt through softplus with dt_bias, clamped to
// time_step_limit; the selective state-space scan with A = -exp(A_log) and the skip D;
// a gated RMSNorm per group; out_proj. Instead of a KV cache each layer keeps a constant
// state: the convolution's last kernel - 1 inputs and the SSM state of heads x head_dim x
// state_size (mamba_ssm_cache_dtype, float32), read and written once per decode step.
#include <cmath>

#include "models/recurrent_layers.h"
#include "trace/ops.h"

namespace irene::models {

namespace {

namespace ops = trace::ops;
using at::Tensor;

at::ScalarType scalar_type_of(const std::string& dtype) {
  return dtype == "bfloat16" ? at::kBFloat16 : dtype == "float16" ? at::kHalf : at::kFloat;
}

class Mamba2Mixer : public TokenMixer {
 public:
  Mamba2Mixer(const ModelConfig& c, const std::string& prefix, int64_t layer, const Init& init)
      : TokenMixer(prefix + "Mamba2Mixer", tree::NodeKind::kModule), m_(c.decoder.mamba), layer_(layer) {
    const int64_t heads = m_.num_heads, inner = m_.intermediate(), conv = m_.conv_dim();
    dt_bias_ = add_param("dt_bias", {heads}, 0.1, init);
    A_log_ = add_param("A_log", {heads}, 0, init);
    D_ = add_param("D", {heads}, -1, init);
    if (!init.meta()) {
      torch::NoGradGuard no_grad;
      A_log_.copy_(at::log(at::arange(1, heads + 1, init.options.dtype(at::kFloat))));  // A = -(1 .. heads)
    }
    act_ = register_module("act", std::make_shared<Activation>("silu", true));
    conv1d_ = register_module("conv1d", std::make_shared<CausalConv1d>(conv, m_.conv_kernel, m_.conv_bias, init));
    in_proj_ = register_module("in_proj", std::make_shared<TorchLinear>(c.hidden_size, 2 * inner + 2 * m_.n_groups * m_.state_size + heads,
                                                                         m_.proj_bias, init));
    norm_ = register_module("norm", std::make_shared<GatedRMSNorm>("Zamba2RMSNormGated", inner, m_.n_groups,
                                                                    /*gate_first=*/true, c.layer_norm_eps, init));
    out_proj_ = register_module("out_proj", std::make_shared<TorchLinear>(inner, c.hidden_size, m_.proj_bias, init));
  }

  LayerCache new_cache(int64_t batch, int64_t, const at::TensorOptions& o) const override {
    auto make = [&](std::vector<int64_t> shape, const at::TensorOptions& to) {
      return to.device().is_meta() ? at::empty(shape, to) : at::zeros(shape, to);
    };
    LayerCache cache;
    cache.state.push_back(make({batch, m_.conv_dim(), m_.conv_kernel - 1}, o));
    cache.state.push_back(make({batch, m_.num_heads, m_.head_dim, m_.state_size}, o.dtype(scalar_type_of(m_.state_dtype))));
    return cache;
  }

  Tensor forward(const Tensor& x, const StepContext& ctx) override {
    auto node = scope([=, this] { forward(x, ctx); });
    LayerCache& cache = ctx.cache->layers[layer_];
    const int64_t b = x.size(0), s = x.size(1), inner = m_.intermediate(), conv = m_.conv_dim();
    const int64_t gn = m_.n_groups * m_.state_size, heads = m_.num_heads;
    Tensor zxbcdt = in_proj_->forward(x);
    Tensor z = ops::slice(zxbcdt, -1, 0, inner);
    Tensor xbc = ops::slice(zxbcdt, -1, inner, inner + conv);
    Tensor dt = ops::slice(zxbcdt, -1, inner + conv, inner + conv + heads);
    xbc = ops::contiguous(ops::transpose(xbc, 1, 2));  // [b, conv, s]
    xbc = ops::transpose(act_->forward(conv1d_->forward(xbc, cache.state[0])), 1, 2);
    Tensor xs = ops::reshape(ops::contiguous(ops::slice(xbc, -1, 0, inner)), {b, s, heads, m_.head_dim});
    Tensor B = ops::reshape(ops::contiguous(ops::slice(xbc, -1, inner, inner + gn)), {b, s, m_.n_groups, m_.state_size});
    Tensor C = ops::reshape(ops::contiguous(ops::slice(xbc, -1, inner + gn, inner + 2 * gn)), {b, s, m_.n_groups, m_.state_size});
    dt = ops::softplus(ops::add(ops::to_dtype(dt, at::kFloat), ops::to_dtype(dt_bias_, at::kFloat)));
    if (m_.time_step_min > 0 || std::isfinite(m_.time_step_max))
      dt = ops::clamp(dt, m_.time_step_min, std::isfinite(m_.time_step_max) ? m_.time_step_max : 1e30);
    Tensor A = ops::neg(ops::exp(ops::to_dtype(A_log_, at::kFloat)));
    Tensor y = ops::ssd_scan(xs, dt, A, B, C, D_, cache.state[1], m_.chunk_size);
    y = norm_->forward(ops::reshape(y, {b, s, inner}), z);
    return out_proj_->forward(y);
  }

 private:
  Mamba2Config m_;
  int64_t layer_;
  Tensor dt_bias_, A_log_, D_;
  std::shared_ptr<Activation> act_;
  std::shared_ptr<CausalConv1d> conv1d_;
  std::shared_ptr<TorchLinear> in_proj_, out_proj_;
  std::shared_ptr<GatedRMSNorm> norm_;
};

}  // namespace

std::shared_ptr<TokenMixer> make_mamba2_mixer(const ModelConfig& c, const std::string& prefix, int64_t layer,
                                              const Init& init) {
  return std::make_shared<Mamba2Mixer>(c, prefix, layer, init);
}

}  // namespace irene::models
