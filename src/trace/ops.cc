#include "trace/ops.h"

#include <chrono>
#include <optional>

#include "trace/recorder.h"
#include "trace/traced.h"

namespace irene::trace {

using detail::FunctionalScope;
using detail::meta_of;
using detail::traced;
using detail::wait_for_device;

namespace {

std::vector<int64_t> with_last(at::IntArrayRef shape, int64_t last) {
  std::vector<int64_t> s(shape.begin(), shape.end());
  s.push_back(last);
  return s;
}

}  // namespace

ModuleScope::ModuleScope(const std::string& path, const std::string& cls, tree::NodeKind kind,
                         int64_t num_parameters, std::function<void()> replay, const std::string& weight_dtype)
    : open_(active_recorder() != nullptr) {
  if (open_) active_recorder()->open_module(path, cls, kind, num_parameters, std::move(replay), weight_dtype);
}

const char* dtype_name(at::ScalarType t) { return detail::dtype_name(t); }

bool capturing() { return active_recorder() != nullptr && active_recorder()->capturing(); }

ModuleScope::~ModuleScope() {
  if (!open_) return;
  detail::wait_for_device();
  active_recorder()->close();
}

SynchronizeTimings::SynchronizeTimings(bool on) : previous_(detail::t_synchronize) { detail::t_synchronize = on; }
SynchronizeTimings::~SynchronizeTimings() { detail::t_synchronize = previous_; }

namespace ops {

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  Tensor wt = traced("aten::t", {weight}, [&] { return weight.t(); });
  if (x.dim() == 2) return traced("aten::addmm", {bias, x, wt}, [&] { return at::addmm(bias, x, wt); });
  Tensor y = traced("aten::matmul", {x, wt}, [&] { return at::matmul(x, wt); });
  return traced("aten::add_", {y, bias}, [&] { return y.add_(bias); });
}

Tensor conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  const int64_t nf = weight.size(1);
  Tensor rows = ops::view(x, {-1, x.size(-1)});
  Tensor y = traced("aten::addmm", {bias, rows, weight}, [&] { return at::addmm(bias, rows, weight); });
  return ops::view(y, with_last(x.sizes().slice(0, x.dim() - 1), nf));
}

Tensor embedding(const Tensor& weight, const Tensor& ids) {
  return traced("aten::embedding", {weight, ids}, [&] {
    if (weight.is_meta()) return at::empty(with_last(ids.sizes(), weight.size(1)), weight.options());
    return at::embedding(weight, ids);
  });
}

Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps) {
  return traced("aten::layer_norm", {x, weight, bias}, [&] {
    if (x.is_meta()) return at::empty_like(x);
    return at::layer_norm(x, {x.size(-1)}, weight, bias, eps);
  });
}

Tensor ml_matmul(const Tensor& a, const Tensor& b) {
  FunctionalScope scope("matmul", "MatMul", [a, b] { at::matmul(a, b); });
  return ops::matmul(a, b);
}

Tensor ml_softmax(const Tensor& x, int64_t dim) {
  FunctionalScope scope("softmax", "Softmax", [x, dim] { at::softmax(x, dim); });
  return traced("aten::softmax", {x}, [&] { return at::softmax(x, dim); });
}

Tensor matmul(const Tensor& a, const Tensor& b) {
  return traced("aten::matmul", {a, b}, [&] { return at::matmul(a, b); });
}
Tensor add(const Tensor& a, const Tensor& b) {
  return traced("aten::add", {a, b}, [&] { return at::add(a, b); });
}
Tensor add(const Tensor& a, const at::Scalar& b) {
  return traced("aten::add", {a}, [&] { return at::add(a, b); });
}
Tensor add_(Tensor& a, const Tensor& b) {
  return traced("aten::add_", {a, b}, [&] { return a.add_(b); });
}
Tensor mul(const Tensor& a, const Tensor& b) {
  return traced("aten::mul", {a, b}, [&] { return at::mul(a, b); });
}
Tensor mul(const Tensor& a, const at::Scalar& b) {
  return traced("aten::mul", {a}, [&] { return at::mul(a, b); });
}
Tensor div(const Tensor& a, const at::Scalar& b) {
  return traced("aten::div", {a}, [&] { return at::div(a, b); });
}
Tensor rsub(const Tensor& a, const at::Scalar& b) {
  return traced("aten::rsub", {a}, [&] { return at::rsub(a, b); });
}
Tensor pow(const Tensor& a, const at::Scalar& exponent) {
  return traced("aten::pow", {a}, [&] { return at::pow(a, exponent); });
}
Tensor tanh(const Tensor& x) {
  return traced("aten::tanh", {x}, [&] { return at::tanh(x); });
}
Tensor gelu(const Tensor& x) {
  return traced("aten::gelu", {x}, [&] { return at::gelu(x); });
}
Tensor relu(const Tensor& x) {
  return traced("aten::relu", {x}, [&] { return x.is_meta() ? at::empty(x.sizes(), x.options()) : at::relu(x); });
}
Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b) {
  return traced("aten::where", {condition, a, b}, [&] {
    if (a.is_meta()) return at::empty(at::infer_size(at::infer_size(condition.sizes(), a.sizes()), b.sizes()), a.options());
    return at::where(condition, a, b);
  });
}
Tensor ne(const Tensor& a, int64_t b) {
  return traced("aten::ne", {a}, [&] { return at::ne(a, b); });
}
Tensor eq(const Tensor& a, int64_t b) {
  return traced("aten::eq", {a}, [&] { return at::eq(a, b); });
}
Tensor cumsum(const Tensor& a, int64_t dim) {
  return traced("aten::cumsum", {a}, [&] { return at::cumsum(a, dim); });
}
Tensor masked_fill_(Tensor& x, const Tensor& mask, double value) {
  return traced("aten::masked_fill_", {x, mask}, [&] { return x.is_meta() ? x : x.masked_fill_(mask, value); });
}
Tensor to(const Tensor& x, at::ScalarType dtype) {
  return traced("aten::to", {x}, [&] { return x.to(dtype); });
}
Tensor dropout(const Tensor& x) {
  return traced("aten::dropout", {x}, [&] { return x; });
}

Tensor view(const Tensor& x, at::IntArrayRef shape) {
  return traced("aten::view", {x}, [&] { return x.view(shape); });
}
Tensor permute(const Tensor& x, at::IntArrayRef dims) {
  return traced("aten::permute", {x}, [&] { return x.permute(dims); });
}
Tensor transpose(const Tensor& x, int64_t d0, int64_t d1) {
  return traced("aten::transpose", {x}, [&] { return x.transpose(d0, d1); });
}
Tensor contiguous(const Tensor& x) {
  return traced("aten::contiguous", {x}, [&] { return x.contiguous(); });
}
Tensor select(const Tensor& x, int64_t dim, int64_t index) {
  return traced("aten::select", {x}, [&] { return x.select(dim, index); });
}
Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t end) {
  return traced("aten::slice", {x}, [&] { return x.slice(dim, start, end); });
}
Tensor unsqueeze(const Tensor& x, int64_t dim) {
  return traced("aten::unsqueeze", {x}, [&] { return x.unsqueeze(dim); });
}
Tensor expand_as(const Tensor& x, const Tensor& other) {
  return traced("aten::expand_as", {x, other}, [&] { return x.expand_as(other); });
}
std::vector<Tensor> split(const Tensor& x, int64_t size, int64_t dim) {
  std::vector<Tensor> parts = x.split(size, dim);
  if (Recorder* r = active_recorder()) {
    // One aten::split node; its output shape is that of each (equal) part.
    r->add_op("aten::split", {meta_of(x)}, meta_of(parts.front()), r->timed() ? std::optional<double>(0.0) : std::nullopt);
  }
  return parts;
}
Tensor stack(const std::vector<Tensor>& xs) {
  Recorder* r = active_recorder();
  if (r == nullptr) return at::stack(xs);
  wait_for_device();
  const auto start = std::chrono::steady_clock::now();
  Tensor out = at::stack(xs);  // a real copy, so it is timed like any op
  wait_for_device();
  std::optional<double> latency;
  if (r->timed()) latency = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::vector<TensorMeta> in;
  for (const Tensor& t : xs) in.push_back(meta_of(t));
  r->add_op("aten::stack", std::move(in), meta_of(out), latency);
  return out;
}
Tensor arange(int64_t end, const at::TensorOptions& options) {
  return traced("aten::arange", {}, [&] { return at::arange(end, options); });
}
Tensor ones(at::IntArrayRef shape, const at::TensorOptions& options) {
  return traced("aten::ones", {}, [&] { return at::ones(shape, options); });
}
Tensor zeros(at::IntArrayRef shape, const at::TensorOptions& options) {
  return traced("aten::zeros", {}, [&] { return at::zeros(shape, options); });
}

}  // namespace ops
}  // namespace irene::trace
