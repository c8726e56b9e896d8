#include "models/recurrent_layers.h"

#include "trace/ops.h"

namespace irene::models {

namespace ops = trace::ops;
using at::Tensor;

CausalConv1d::CausalConv1d(int64_t channels, int64_t kernel, bool with_bias, const Init& init)
    : HfModule("Conv1d", tree::NodeKind::kMl) {
  weight = add_param("weight", {channels, 1, kernel}, 0.2, init);
  if (with_bias) bias = add_param("bias", {channels}, 0, init);
}

Tensor CausalConv1d::forward(const Tensor& x, Tensor& state) {
  auto node = scope([=, this]() mutable { forward(x, state); });
  return ops::causal_conv1d(x, weight, bias, state);
}

GatedRMSNorm::GatedRMSNorm(const std::string& cls, int64_t dim, int64_t groups, bool gate_first, double eps,
                           const Init& init)
    : HfModule(cls, tree::NodeKind::kMl), groups_(groups), gate_first_(gate_first), eps_(eps) {
  weight = add_param("weight", {dim}, -1, init);
}

Tensor GatedRMSNorm::forward(const Tensor& x, const Tensor& gate) {
  auto node = scope([=, this] { forward(x, gate); });
  Tensor h = ops::to_dtype(x, at::kFloat);
  Tensor g = ops::silu(ops::to_dtype(gate, at::kFloat));
  auto normalize = [&](const Tensor& t) {
    return ops::mul(t, ops::rsqrt(ops::add(ops::mean(ops::pow(t, 2), -1, /*keepdim=*/true), eps_)));
  };
  if (gate_first_) {  // Mamba-2: norm(x * silu(gate)) per group, then the weight
    h = ops::mul(h, g);
    std::vector<int64_t> grouped(h.sizes().begin(), h.sizes().end());
    const int64_t dim = grouped.back();
    grouped.back() = groups_;
    grouped.push_back(dim / groups_);
    h = ops::view(normalize(ops::view(h, grouped)), x.sizes());
    return ops::mul(weight, ops::to_dtype(h, x.scalar_type()));
  }
  // DeltaNet: weight x norm(x), then the gate
  h = ops::mul(weight, ops::to_dtype(normalize(h), x.scalar_type()));
  return ops::to_dtype(ops::mul(ops::to_dtype(h, at::kFloat), g), x.scalar_type());
}

}  // namespace irene::models
