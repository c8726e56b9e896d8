#include "models/layers.h"

#include <cmath>

namespace irene::models {

namespace ops = trace::ops;

at::Tensor HfModule::add_param(const std::string& name, at::IntArrayRef shape, double std, const Init& init) {
  at::Tensor t;
  if (init.meta()) {
    t = at::empty(shape, init.options);
  } else if (std > 0) {
    t = at::normal(0.0, std, shape, c10::nullopt, init.options);
  } else {
    t = std == 0 ? at::zeros(shape, init.options) : at::ones(shape, init.options);
  }
  return register_parameter(name, t, /*requires_grad=*/false);
}

void assign_paths(torch::nn::Module& root) {
  for (const auto& item : root.named_modules(/*name_prefix=*/"", /*include_self=*/true)) {
    auto* m = dynamic_cast<HfModule*>(item.value().get());
    if (m == nullptr) continue;
    int64_t count = 0;
    for (const auto& p : m->parameters(/*recurse=*/true)) count += p.numel();
    const auto own = m->parameters(/*recurse=*/false);
    m->set_identity(item.key(), count, own.empty() ? "" : trace::dtype_name(own.front().scalar_type()));
  }
}

void apply_quantization(torch::nn::Module& root, const Quantization& q) {
  if (q.method.empty()) return;
  for (const auto& item : root.named_modules(/*name_prefix=*/"", /*include_self=*/true)) {
    auto* m = dynamic_cast<HfModule*>(item.value().get());
    if (m == nullptr || m->parameters(/*recurse=*/false).empty()) continue;
    // Only matrices are quantised: norms, routers' biases and sinks stay as they are.
    bool matrices = false;
    for (const auto& p : m->parameters(/*recurse=*/false)) matrices = matrices || p.dim() >= 2;
    if (!matrices || m->name() == "Embedding") continue;
    m->set_weight_format(q.format_of(item.key(), m->holds_experts()));
  }
}

constexpr double kInitStd = 0.02;  // Hugging Face's initializer_range default

Linear::Linear(int64_t in_features, int64_t out_features, const Init& init) : HfModule("Linear", tree::NodeKind::kMl) {
  weight = add_param("weight", {out_features, in_features}, kInitStd, init);
  bias = add_param("bias", {out_features}, 0, init);
}
at::Tensor Linear::forward(const at::Tensor& x) {
  auto node = scope([=, this] { forward(x); });
  return ops::linear(x, weight, bias);
}

Conv1D::Conv1D(int64_t nf, int64_t nx, const Init& init) : HfModule("Conv1D", tree::NodeKind::kMl) {
  weight = add_param("weight", {nx, nf}, kInitStd, init);
  bias = add_param("bias", {nf}, 0, init);
}
at::Tensor Conv1D::forward(const at::Tensor& x) {
  auto node = scope([=, this] { forward(x); });
  return ops::conv1d(x, weight, bias);
}

LayerNorm::LayerNorm(int64_t dim, double eps_, const Init& init) : HfModule("LayerNorm", tree::NodeKind::kMl), eps(eps_) {
  weight = add_param("weight", {dim}, -1, init);
  bias = add_param("bias", {dim}, 0, init);
}
at::Tensor LayerNorm::forward(const at::Tensor& x) {
  auto node = scope([=, this] { forward(x); });
  return ops::layer_norm(x, weight, bias, eps);
}

Embedding::Embedding(int64_t num_embeddings, int64_t dim, const Init& init) : HfModule("Embedding", tree::NodeKind::kMl) {
  weight = add_param("weight", {num_embeddings, dim}, kInitStd, init);
}
at::Tensor Embedding::forward(const at::Tensor& ids) {
  auto node = scope([=, this] { forward(ids); });
  return ops::embedding(weight, ids);
}

at::Tensor Tanh::forward(const at::Tensor& x) {
  auto node = scope([=, this] { forward(x); });
  return ops::tanh(x);
}

std::shared_ptr<torch::nn::DropoutImpl> make_dropout() { return std::make_shared<torch::nn::DropoutImpl>(); }

at::Tensor activation(const std::string& name, const at::Tensor& x) {
  if (name == "gelu") return ops::gelu(x);
  if (name == "relu") return ops::relu(x);
  // gelu_new: 0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x^3))), in the order
  // transformers' Python evaluates it, one aten op per step.
  const double k = std::sqrt(2.0 / M_PI);
  at::Tensor cube = ops::pow(x, 3.0);
  at::Tensor inner = ops::mul(ops::add(x, ops::mul(cube, 0.044715)), k);
  at::Tensor one_plus = ops::add(ops::tanh(inner), 1.0);
  return ops::mul(ops::mul(x, 0.5), one_plus);
}

}  // namespace irene::models
