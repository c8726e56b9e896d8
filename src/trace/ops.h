// Traced tensor ops: the only way the model zoo computes. Each op runs the libtorch
// kernel and, when a Recorder is active on this thread, reports itself as a math node
// named after the aten op that Hugging Face's Python code runs (torch 1.7 era, as in
// the IrEne dataset), with its shapes, cost and wall time.
//
// On the meta device (shapes-only runs) every op yields a correctly shaped meta
// tensor, including the three whose kernels libtorch 1.13 lacks there (embedding's
// index_select, layer_norm, where).
//
// Internal to the trace and models components: includes libtorch.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <string>
#include <string_view>

#include "tree/tree.h"

namespace irene::trace {

// Opens a tree node for the lifetime of a module's forward (RAII). Does nothing when
// no recorder is active.
class ModuleScope {
 public:
  ModuleScope(const std::string& path, const std::string& cls, tree::NodeKind kind, int64_t num_parameters,
              std::function<void()> replay = nullptr);
  ~ModuleScope();
  ModuleScope(const ModuleScope&) = delete;
  ModuleScope& operator=(const ModuleScope&) = delete;

 private:
  bool open_;
};

// True when the active recorder keeps replay closures (see Recorder::set_capture).
bool capturing();

// While alive, every timed op and module waits for the GPU before reading the clock,
// so that asynchronous CUDA kernels are counted where they run (RAII; this thread).
class SynchronizeTimings {
 public:
  explicit SynchronizeTimings(bool on);
  ~SynchronizeTimings();

 private:
  bool previous_;
};

namespace ops {

using at::Tensor;

// --- ML building blocks, as Hugging Face v4.2.2 computes them ---
// nn.Linear: addmm for 2-D input, else matmul then in-place bias add (torch 1.7's F.linear).
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias);
// transformers' Conv1D: addmm over the rows of x flattened to 2-D; weight is [in, out].
Tensor conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias);
Tensor embedding(const Tensor& weight, const Tensor& ids);
Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps);

// Non-parametric ML leaves: open a MatMul / Softmax node under the calling module.
Tensor ml_matmul(const Tensor& a, const Tensor& b);
Tensor ml_softmax(const Tensor& x, int64_t dim);

// --- math ops ---
Tensor matmul(const Tensor& a, const Tensor& b);
Tensor add(const Tensor& a, const Tensor& b);
Tensor add(const Tensor& a, const at::Scalar& b);
Tensor add_(Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const at::Scalar& b);
Tensor div(const Tensor& a, const at::Scalar& b);
Tensor rsub(const Tensor& a, const at::Scalar& b);  // b - a
Tensor pow(const Tensor& a, const at::Scalar& exponent);
Tensor tanh(const Tensor& x);
Tensor gelu(const Tensor& x);
Tensor relu(const Tensor& x);
Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b);
Tensor ne(const Tensor& a, int64_t b);
Tensor eq(const Tensor& a, int64_t b);
Tensor cumsum(const Tensor& a, int64_t dim);
Tensor masked_fill_(Tensor& x, const Tensor& mask, double value);
Tensor to(const Tensor& x, at::ScalarType dtype);
Tensor dropout(const Tensor& x);  // inference: identity, recorded as the model calls it

// --- shape ops (zero cost, recorded so the tree shows every op) ---
Tensor view(const Tensor& x, at::IntArrayRef shape);
Tensor permute(const Tensor& x, at::IntArrayRef dims);
Tensor transpose(const Tensor& x, int64_t d0, int64_t d1);
Tensor contiguous(const Tensor& x);
Tensor select(const Tensor& x, int64_t dim, int64_t index);
Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t end);
Tensor unsqueeze(const Tensor& x, int64_t dim);
Tensor expand_as(const Tensor& x, const Tensor& other);
std::vector<Tensor> split(const Tensor& x, int64_t size, int64_t dim);
Tensor stack(const std::vector<Tensor>& xs);
Tensor arange(int64_t end, const at::TensorOptions& options);
Tensor ones(at::IntArrayRef shape, const at::TensorOptions& options);
Tensor zeros(at::IntArrayRef shape, const at::TensorOptions& options);

// --- the decoder LLMs, as transformers v4.5x computes them on torch 2.x (decoder_ops.cc) ---
// F.linear as torch 2 dispatches it: one aten::linear node. `bias` may be undefined.
Tensor linear_op(const Tensor& x, const Tensor& weight, const Tensor& bias);
Tensor silu(const Tensor& x);
Tensor gelu_tanh(const Tensor& x);  // gelu(approximate="tanh"), as PytorchGELUTanh calls it
Tensor neg(const Tensor& x);
Tensor cos(const Tensor& x);
Tensor sin(const Tensor& x);
Tensor rsqrt(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor isinf(const Tensor& x);
// torch.clamp(x, min, max); `min` may be absent (clamp(max=...)).
Tensor clamp(const Tensor& x, c10::optional<double> min, double max);
// x[..., start:end:step] along `dim` (a strided view, as Phi-3-small's GeGELU splits).
Tensor slice_step(const Tensor& x, int64_t dim, int64_t start, int64_t end, int64_t step);
Tensor mean(const Tensor& x, int64_t dim, bool keepdim);
Tensor sum(const Tensor& x, int64_t dim, bool keepdim);
Tensor div(const Tensor& a, const Tensor& b);
Tensor cat(const std::vector<Tensor>& xs, int64_t dim);
Tensor arange(int64_t start, int64_t end, const at::TensorOptions& options);  // torch.arange(start, end)
// .to(dtype): aten::_to_copy when it converts, a zero-cost aten::to when x already has it.
Tensor to_dtype(const Tensor& x, at::ScalarType dtype);
Tensor expand(const Tensor& x, at::IntArrayRef shape);
Tensor reshape(const Tensor& x, at::IntArrayRef shape);  // x must be viewable so (a view)
Tensor clone(const Tensor& x);                           // a contiguous copy
// dst.copy_(src), e.g. writing new keys into the KV cache.
Tensor copy_(Tensor& dst, const Tensor& src);

// The additive attention mask for `queries` queries at absolute positions from
// `first_query`, against `keys` keys from absolute position `first_key`: 0 where a query
// may attend (causal, and within `window` positions when window > 0), the dtype's lowest
// value elsewhere. [batch, 1, queries, keys]. Recorded as one aten::where, as
// transformers' masking utilities end.
Tensor attention_mask(int64_t batch, int64_t queries, int64_t first_query, int64_t keys, int64_t first_key,
                      int64_t window, const at::TensorOptions& options);
// torch's F.scaled_dot_product_attention with grouped-query attention (keys and values
// may have fewer heads than queries; each is read once): one ML-np node
// "ScaledDotProductAttention" holding one aten::scaled_dot_product_attention node whose
// cost is attention_cost. `mask` may be undefined; `softcap` 0 is none.
Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask,
                                    double scale, double softcap);

// Routing of mixture-of-experts blocks.
// torch.topk(x, k, dim=-1): returns {values, indices}; one aten::topk node.
std::pair<Tensor, Tensor> topk(const Tensor& x, int64_t k);
Tensor one_hot(const Tensor& indices, int64_t classes);
// torch.where(condition) (one argument): the indices of its true elements along each
// dimension. On the meta device `meta_count` elements are assumed true.
std::vector<Tensor> where_true(const Tensor& condition, int64_t meta_count);
Tensor index_rows(const Tensor& x, const Tensor& rows);  // x[rows]
Tensor index_pairs(const Tensor& x, const Tensor& rows, const Tensor& cols);  // x[rows, cols, None]
Tensor index_add_(Tensor& x, const Tensor& rows, const Tensor& source);  // x.index_add_(0, rows, source)

}  // namespace ops
}  // namespace irene::trace
