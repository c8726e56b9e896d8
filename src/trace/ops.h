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
#include <optional>
#include <string>
#include <string_view>

#include "tree/tree.h"

namespace irene::trace {

// Opens a tree node for the lifetime of a module's forward (RAII). Does nothing when
// no recorder is active.
class ModuleScope {
 public:
  ModuleScope(const std::string& path, const std::string& cls, tree::NodeKind kind, int64_t num_parameters,
              std::function<void()> replay = nullptr, const std::string& weight_dtype = "");
  ~ModuleScope();
  ModuleScope(const ModuleScope&) = delete;
  ModuleScope& operator=(const ModuleScope&) = delete;

 private:
  bool open_;
};

// True when the active recorder keeps replay closures (see Recorder::set_capture).
bool capturing();

// "float32", "bfloat16", ...: an element type as trees name it.
const char* dtype_name(at::ScalarType t);

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

Tensor bmm(const Tensor& a, const Tensor& b);  // [n, m, k] x [n, k, p]: aten::bmm

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
// `stored_weight_bytes`: the weight's bytes as the checkpoint stores it (quantised,
// scales included), where they differ from its elements at the run's dtype.
Tensor linear_op(const Tensor& x, const Tensor& weight, const Tensor& bias,
                 std::optional<double> stored_weight_bytes = std::nullopt);
Tensor silu(const Tensor& x);
Tensor gelu_tanh(const Tensor& x);  // gelu(approximate="tanh"), as PytorchGELUTanh calls it
Tensor neg(const Tensor& x);
Tensor cos(const Tensor& x);
Tensor sin(const Tensor& x);
Tensor rsqrt(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor floor(const Tensor& x);
Tensor square(const Tensor& x);
Tensor softplus(const Tensor& x);
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
// may attend (causal; within `window` positions when window > 0; within its own chunk of
// `chunk` positions when chunk > 0), the dtype's lowest value elsewhere.
// [batch, 1, queries, keys]. Recorded as one aten::where, as transformers' masking
// utilities end.
Tensor attention_mask(int64_t batch, int64_t queries, int64_t first_query, int64_t keys, int64_t first_key,
                      int64_t window, int64_t chunk, const at::TensorOptions& options);
// torch's F.scaled_dot_product_attention with grouped-query attention (keys and values
// may have fewer heads than queries; each is read once): one ML-np node
// "ScaledDotProductAttention" holding one aten::scaled_dot_product_attention node whose
// cost is attention_cost. `mask` may be undefined; `softcap` 0 is none.
Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask,
                                    double scale, double softcap);

// gpt-oss's attention: as scaled_dot_product_attention, with one learned logit per head
// (`sinks` [heads]) joining every row's softmax and dropped after it.
Tensor attention_with_sinks(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask, double scale,
                            const Tensor& sinks);

// --- the token mixers of 2025-26 (mixer_ops.cc): fused ops with their own cost rules ---
// A depthwise causal convolution over [b, channels, t] with `state` [b, channels, K - 1]
// holding the last K - 1 inputs before these (zeros before the first), updated in place:
// one aten::conv1d node for a prefill and a decode step alike (Mamba-2's and DeltaNet's
// conv1d; a serving engine's causal_conv1d kernels). FLOPs 2 b c t K (+ b c t bias); bytes
// the inputs, the weight, the output and the state read and written.
Tensor causal_conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& state);
// Mamba-2's selective state-space scan (SSD) over x [b, t, heads, P] with dt [b, t, heads]
// (after softplus and clamping), A [heads] (negative), B and C [b, t, groups, N], D [heads],
// from `state` [b, heads, P, N] (float32, updated in place): h_t = exp(dt A) h_{t-1} +
// dt x_t B_t^T, y_t = h_t C_t + D x_t. One node: irene::ssd_chunk_scan for several tokens
// (the chunked algorithm's FLOPs, chunks of `chunk`), irene::selective_state_update for one.
Tensor ssd_scan(const Tensor& x, const Tensor& dt, const Tensor& A, const Tensor& B, const Tensor& C, const Tensor& D,
                Tensor& state, int64_t chunk);
// Gated DeltaNet's rule over q, k [b, t, heads, dk] and v [b, t, heads, dv] (heads already
// repeated to the value heads), gate g and beta [b, t, heads], from `state` [b, heads, dk,
// dv] (float32, updated in place): q and k L2-normalised, q scaled by dk^-0.5;
// S_t = exp(g_t) S_{t-1} + beta_t k_t (v_t - exp(g_t) S_{t-1}^T k_t)^T, o_t = S_t^T q_t.
// irene::chunk_gated_delta_rule for several tokens (chunks of 64), irene::recurrent_gated_delta_rule for one.
Tensor gated_delta_rule(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g, const Tensor& beta,
                        Tensor& state);
// Multi-head latent attention in its absorbed form: queries q [b, heads, s, r + rope] over
// the compressed cache `latent` [b, 1, L, r + rope] whose first r channels are also the
// values; output [b, heads, s, r]. `mask` (additive, [b, 1, s, L]) may be undefined;
// `selected` [b, s, k] (the sparse indexer's picks) restricts each query to k keys. One
// ML-np node MultiLatentAttention over one irene::mla_attention node; FLOPs count the keys
// each query reads: 2 (2 r + rope) per head and key, and the softmax.
Tensor mla_attention(const Tensor& q, const Tensor& latent, int64_t value_dim, const Tensor& mask,
                     const Tensor& selected, double scale);
// A prefill's attention (q [b, h, s, d], k, v [b, h, L, d]) where each query reads only the
// keys `selected` [b, s, k] picks among those the causal mask allows: one
// irene::sparse_attention node whose FLOPs count those keys alone.
Tensor sparse_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask, const Tensor& selected,
                        double scale);
// The lightning indexer's scores of every key for every query: sum over index heads h of
// weights[.., h] x relu(q_h . k) (q [b, s, H, d], keys [b, L, d], weights [b, s, H]), plus
// the additive `mask` ([b, 1, s, L], may be undefined). [b, s, L] float32; one
// irene::indexer_scores node.
Tensor indexer_scores(const Tensor& q, const Tensor& keys, const Tensor& weights, const Tensor& mask);
// The experts' products over rows grouped by expert (transformers' grouped_mm experts):
// rows [R, in] sorted by expert, `counts` [E] rows per expert, weight [E, out, in] (or
// [E, in, out] with `input_major`); [R, out]. One aten::_grouped_mm node: 2 R in out FLOPs;
// bytes the rows, the result and the weights of the experts that got rows (`experts_read`,
// fractional when estimated), `stored_bytes_per_expert` each where quantised.
Tensor grouped_mm(const Tensor& rows, const Tensor& weight, const std::vector<int64_t>& counts, bool input_major,
                  double experts_read, std::optional<double> stored_bytes_per_expert);
// x[:, ..., index] along the last dim (aten::gather): index bytes + 2 x output bytes.
Tensor gather_last(const Tensor& x, const Tensor& index);
// DeepSeek's expert choice (noaux_tc): sigmoid `scores` [T, E] plus the correction `bias`
// [E] pick the top `k` experts among the best `topk_group` of `n_group` groups (a group's
// score: its two best); [T, k] indices. One irene::grouped_topk node, as engines fuse it.
Tensor grouped_topk(const Tensor& scores, const Tensor& bias, int64_t k, int64_t n_group, int64_t topk_group);
// torch.floor_divide(x, d) of integer tensors.
Tensor floor_divide(const Tensor& x, int64_t d);

// Routing of mixture-of-experts blocks.
// torch.topk(x, k, dim=-1): returns {values, indices}; one aten::topk node. `stable`:
// equal values are picked lowest index first (the indexer's ReLU scores tie at 0).
std::pair<Tensor, Tensor> topk(const Tensor& x, int64_t k, bool stable = false);
// torch.sort(x, stable): {values, indices}; one aten::sort node.
std::pair<Tensor, Tensor> sort(const Tensor& x);
Tensor one_hot(const Tensor& indices, int64_t classes);
// torch.where(condition) (one argument): the indices of its true elements along each
// dimension. On the meta device `meta_count` elements are assumed true.
std::vector<Tensor> where_true(const Tensor& condition, int64_t meta_count);
Tensor index_rows(const Tensor& x, const Tensor& rows);  // x[rows]
Tensor index_pairs(const Tensor& x, const Tensor& rows, const Tensor& cols);  // x[rows, cols, None]
Tensor index_add_(Tensor& x, const Tensor& rows, const Tensor& source);  // x.index_add_(0, rows, source)

}  // namespace ops
}  // namespace irene::trace
