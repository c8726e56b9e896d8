// The traced ops of the decoder LLM families (see ops.h). Named as torch 2.x's profiler
// names them, since that is what transformers v4.5x runs.
#include <limits>

#include "trace/ops.h"
#include "trace/traced.h"

namespace irene::trace::ops {

using detail::FunctionalScope;
using detail::meta_of;
using detail::traced;

namespace {
// An empty tensor of `shape` on the meta device, for ops libtorch 1.13 has no meta kernel for.
Tensor meta_empty(at::IntArrayRef shape, const at::TensorOptions& o) { return at::empty(shape, o); }
}  // namespace

Tensor linear_op(const Tensor& x, const Tensor& weight, const Tensor& bias, std::optional<double> stored_weight_bytes) {
  auto compute = [&] { return at::linear(x, weight, bias.defined() ? c10::optional<Tensor>(bias) : c10::nullopt); };
  std::optional<OpCost> cost;
  if (stored_weight_bytes) {  // the table's rule with the weight at its stored size
    std::vector<TensorMeta> in = {meta_of(x), meta_of(weight)};
    if (bias.defined()) in.push_back(meta_of(bias));
    TensorMeta out = meta_of(x);
    out.shape.back() = weight.size(0);
    cost = irene_op_cost("aten::linear", in, out);
    cost->mem_bytes += static_cast<int64_t>(*stored_weight_bytes) - weight.numel() * static_cast<int64_t>(weight.element_size());
  }
  return bias.defined() ? traced("aten::linear", {x, weight, bias}, compute, cost)
                        : traced("aten::linear", {x, weight}, compute, cost);
}
Tensor silu(const Tensor& x) {
  return traced("aten::silu", {x}, [&] { return at::silu(x); });
}
Tensor gelu_tanh(const Tensor& x) {
  return traced("aten::gelu", {x}, [&] { return at::gelu(x, "tanh"); });
}
Tensor neg(const Tensor& x) {
  return traced("aten::neg", {x}, [&] { return at::neg(x); });
}
Tensor cos(const Tensor& x) {
  return traced("aten::cos", {x}, [&] { return at::cos(x); });
}
Tensor sin(const Tensor& x) {
  return traced("aten::sin", {x}, [&] { return at::sin(x); });
}
Tensor rsqrt(const Tensor& x) {
  return traced("aten::rsqrt", {x}, [&] { return at::rsqrt(x); });
}
Tensor bmm(const Tensor& a, const Tensor& b) {
  return traced("aten::bmm", {a, b}, [&] { return at::bmm(a, b); });
}
Tensor exp(const Tensor& x) {
  return traced("aten::exp", {x}, [&] { return x.is_meta() ? meta_empty(x.sizes(), x.options()) : at::exp(x); });
}
Tensor log(const Tensor& x) {
  return traced("aten::log", {x}, [&] { return x.is_meta() ? meta_empty(x.sizes(), x.options()) : at::log(x); });
}
Tensor floor(const Tensor& x) {
  return traced("aten::floor", {x}, [&] { return x.is_meta() ? meta_empty(x.sizes(), x.options()) : at::floor(x); });
}
Tensor square(const Tensor& x) {
  return traced("aten::square", {x}, [&] { return x.is_meta() ? meta_empty(x.sizes(), x.options()) : at::square(x); });
}
Tensor softplus(const Tensor& x) {
  return traced("aten::softplus", {x}, [&] { return x.is_meta() ? meta_empty(x.sizes(), x.options()) : at::softplus(x); });
}
Tensor sigmoid(const Tensor& x) {
  return traced("aten::sigmoid", {x}, [&] { return at::sigmoid(x); });
}
Tensor isinf(const Tensor& x) {
  return traced("aten::isinf", {x}, [&] {
    return x.is_meta() ? meta_empty(x.sizes(), x.options().dtype(at::kBool)) : at::isinf(x);
  });
}
Tensor clamp(const Tensor& x, c10::optional<double> min, double max) {
  return traced("aten::clamp", {x}, [&] {
    return at::clamp(x, min ? c10::optional<at::Scalar>(*min) : c10::nullopt, c10::optional<at::Scalar>(max));
  });
}
Tensor slice_step(const Tensor& x, int64_t dim, int64_t start, int64_t end, int64_t step) {
  return traced("aten::slice", {x}, [&] { return x.slice(dim, start, end, step); });
}
Tensor mean(const Tensor& x, int64_t dim, bool keepdim) {
  return traced("aten::mean", {x}, [&] { return at::mean(x, {dim}, keepdim); });
}
Tensor sum(const Tensor& x, int64_t dim, bool keepdim) {
  return traced("aten::sum", {x}, [&] { return at::sum(x, {dim}, keepdim); });
}
Tensor div(const Tensor& a, const Tensor& b) {
  return traced("aten::div", {a, b}, [&] { return at::div(a, b); });
}
Tensor arange(int64_t start, int64_t end, const at::TensorOptions& options) {
  return traced("aten::arange", {}, [&] { return at::arange(start, end, options); });
}
Tensor cat(const std::vector<Tensor>& xs, int64_t dim) {
  return detail::traced_list("aten::cat", xs, [&] { return at::cat(xs, dim); });
}
Tensor to_dtype(const Tensor& x, at::ScalarType dtype) {
  if (x.scalar_type() == dtype) return traced("aten::to", {x}, [&] { return x; });
  return traced("aten::_to_copy", {x}, [&] { return x.to(dtype); });
}
Tensor expand(const Tensor& x, at::IntArrayRef shape) {
  return traced("aten::expand", {x}, [&] { return x.expand(shape); });
}
Tensor reshape(const Tensor& x, at::IntArrayRef shape) {
  return traced("aten::reshape", {x}, [&] { return x.view(shape); });
}
Tensor clone(const Tensor& x) {
  return traced("aten::clone", {x}, [&] { return x.clone(at::MemoryFormat::Contiguous); });
}
Tensor copy_(Tensor& dst, const Tensor& src) {
  return traced("aten::copy_", {src}, [&] { return src.is_meta() ? dst : dst.copy_(src); });
}

Tensor attention_mask(int64_t batch, int64_t queries, int64_t first_query, int64_t keys, int64_t first_key,
                      int64_t window, int64_t chunk, const at::TensorOptions& options) {
  return traced("aten::where", {}, [&] {
    if (options.device().is_meta()) return meta_empty({batch, 1, queries, keys}, options);
    const auto ids = options.dtype(at::kLong);
    Tensor q = at::arange(first_query, first_query + queries, ids).view({queries, 1});
    Tensor k = at::arange(first_key, first_key + keys, ids).view({1, keys});
    Tensor allowed = k.le(q);
    if (window > 0) allowed = allowed.logical_and(k.gt(q - window));
    if (chunk > 0) allowed = allowed.logical_and(k.div(chunk, "floor").eq(q.div(chunk, "floor")));
    // torch.finfo(dtype).min, as transformers fills masked positions.
    const auto t = options.dtype().toScalarType();
    const double lowest = t == at::kHalf       ? -65504.0
                          : t == at::kBFloat16 ? -3.3895313892515355e38
                                               : static_cast<double>(std::numeric_limits<float>::lowest());
    Tensor m = at::where(allowed, at::zeros({}, options), at::full({}, lowest, options));
    return m.view({1, 1, queries, keys}).expand({batch, 1, queries, keys});
  });
}

Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask,
                                    double scale, double softcap) {
  FunctionalScope scope("scaled_dot_product_attention", "ScaledDotProductAttention",
                        [=] { scaled_dot_product_attention(q, k, v, mask, scale, softcap); });
  auto compute = [&]() -> Tensor {
    if (q.is_meta()) return meta_empty({q.size(0), q.size(1), q.size(2), v.size(3)}, q.options());
    // The math of the fused kernel (torch's math backend), written out so that it runs on
    // libtorch 1.13 and 2.x alike; none of these steps is traced on its own.
    const int64_t groups = q.size(1) / k.size(1);
    Tensor kr = groups == 1 ? k : k.repeat_interleave(groups, 1);
    Tensor vr = groups == 1 ? v : v.repeat_interleave(groups, 1);
    Tensor scores = at::matmul(q, kr.transpose(-2, -1)).mul_(scale);
    if (softcap > 0) scores = at::tanh(scores / softcap) * softcap;
    if (mask.defined()) scores.add_(mask);
    Tensor probs = at::softmax(scores.to(at::kFloat), -1).to(q.scalar_type());
    return at::matmul(probs, vr);
  };
  TensorMeta out = meta_of(q);
  out.shape.back() = v.size(3);
  const OpCost cost = attention_cost(meta_of(q), meta_of(k), meta_of(v), out, softcap > 0);
  return traced("aten::scaled_dot_product_attention", {q, k, v}, compute, cost);
}

Tensor attention_with_sinks(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask, double scale,
                            const Tensor& sinks) {
  FunctionalScope scope("scaled_dot_product_attention", "ScaledDotProductAttention",
                        [=] { attention_with_sinks(q, k, v, mask, scale, sinks); });
  auto compute = [&]() -> Tensor {
    if (q.is_meta()) return meta_empty({q.size(0), q.size(1), q.size(2), v.size(3)}, q.options());
    const int64_t groups = q.size(1) / k.size(1);
    Tensor kr = groups == 1 ? k : k.repeat_interleave(groups, 1);
    Tensor vr = groups == 1 ? v : v.repeat_interleave(groups, 1);
    Tensor scores = at::matmul(q, kr.transpose(-2, -1)).mul_(scale);
    if (mask.defined()) scores.add_(mask);
    Tensor sink = sinks.to(scores.scalar_type()).view({1, -1, 1, 1}).expand({q.size(0), q.size(1), q.size(2), 1});
    Tensor probs = at::softmax(at::cat({scores, sink}, -1).to(at::kFloat), -1).to(q.scalar_type());
    return at::matmul(probs.slice(-1, 0, k.size(2)), vr);
  };
  TensorMeta out = meta_of(q);
  out.shape.back() = v.size(3);
  OpCost cost = attention_cost(meta_of(q), meta_of(k), meta_of(v), out, false);
  cost.flops += 6 * q.size(0) * q.size(1) * q.size(2);  // the sink's column of each softmax
  cost.mem_bytes += sinks.numel() * static_cast<int64_t>(sinks.element_size());
  return traced("aten::scaled_dot_product_attention", {q, k, v}, compute, cost);
}

std::pair<Tensor, Tensor> sort(const Tensor& x) {
  Tensor indices;
  Tensor values = traced("aten::sort", {x}, [&] {
    if (x.is_meta()) {
      indices = meta_empty(x.sizes(), x.options().dtype(at::kLong));
      return meta_empty(x.sizes(), x.options());
    }
    auto [v, i] = at::sort(x, /*stable=*/true, -1, false);
    indices = i;
    return v;
  });
  return {values, indices};
}

std::pair<Tensor, Tensor> topk(const Tensor& x, int64_t k, bool stable) {
  Tensor indices;
  Tensor values = traced("aten::topk", {x}, [&] {
    if (x.is_meta()) {
      std::vector<int64_t> shape(x.sizes().begin(), x.sizes().end());
      shape.back() = k;
      indices = meta_empty(shape, x.options().dtype(at::kLong));
      return meta_empty(shape, x.options());
    }
    if (stable) {  // ties go to the lower index, however long the row
      auto [v, i] = at::sort(x, /*stable=*/true, -1, /*descending=*/true);
      indices = i.slice(-1, 0, k).contiguous();
      return v.slice(-1, 0, k).contiguous();
    }
    auto [v, i] = at::topk(x, k, -1);
    indices = i;
    return v;
  });
  return {values, indices};
}

Tensor one_hot(const Tensor& indices, int64_t classes) {
  return traced("aten::one_hot", {indices}, [&] {
    if (indices.is_meta()) {
      std::vector<int64_t> shape(indices.sizes().begin(), indices.sizes().end());
      shape.push_back(classes);
      return meta_empty(shape, indices.options());
    }
    return at::one_hot(indices, classes);
  });
}

std::vector<Tensor> where_true(const Tensor& condition, int64_t meta_count) {
  std::vector<Tensor> parts;
  traced("aten::where", {condition}, [&] {
    if (condition.is_meta()) {
      for (int64_t d = 0; d < condition.dim(); ++d)
        parts.push_back(meta_empty({meta_count}, condition.options().dtype(at::kLong)));
    } else {
      parts = at::where(condition);
    }
    return parts.front();
  });
  return parts;
}

Tensor index_rows(const Tensor& x, const Tensor& rows) {
  return traced("aten::index", {x, rows}, [&] {
    if (x.is_meta()) {
      std::vector<int64_t> shape(x.sizes().begin(), x.sizes().end());
      shape.front() = rows.size(0);
      return meta_empty(shape, x.options());
    }
    return x.index_select(0, rows);
  });
}

Tensor index_pairs(const Tensor& x, const Tensor& rows, const Tensor& cols) {
  return traced("aten::index", {x, rows}, [&] {
    if (x.is_meta()) return meta_empty({rows.size(0), 1}, x.options());
    return x.index({rows, cols}).unsqueeze(-1);
  });
}

Tensor index_add_(Tensor& x, const Tensor& rows, const Tensor& source) {
  return traced("aten::index_add_", {x, rows, source}, [&] { return x.is_meta() ? x : x.index_add_(0, rows, source); });
}

}  // namespace irene::trace::ops
