// The fused ops of the token mixers of 2025-26 (see ops.h): a causal convolution with its
// state, Mamba-2's SSD scan, gated DeltaNet's delta rule, absorbed latent attention, the
// sparse attention and its indexer, and the experts' grouped products. Each computes its
// result with plain libtorch (sequential where the math is a recurrence: exact, and fast
// enough at the sizes a CPU runs) and reports the cost of the fused kernel a serving
// engine runs, counted here: FLOPs of the algorithm, bytes read and written once.
#include <algorithm>
#include <cmath>
#include <limits>

#include "trace/ops.h"
#include "trace/traced.h"

namespace irene::trace::ops {

using detail::FunctionalScope;
using detail::meta_of;
using detail::traced;

namespace {

int64_t bytes_of(const Tensor& t) { return t.numel() * static_cast<int64_t>(t.element_size()); }
Tensor meta_empty(at::IntArrayRef shape, const at::TensorOptions& o) { return at::empty(shape, o); }

// Keys each query of a prefill reads when it may see `past + i + 1` keys and at most `cap`
// (0: no cap), summed over the s queries.
double keys_read(int64_t past, int64_t s, int64_t cap) {
  double total = 0;
  for (int64_t i = 0; i < s; ++i) {
    const int64_t visible = past + i + 1;
    total += static_cast<double>(cap > 0 ? std::min(visible, cap) : visible);
  }
  return total;
}

// An additive mask [b, 1, s, L] that keeps only the keys `selected` [b, s, k] names.
Tensor selection_mask(const Tensor& selected, int64_t keys, const at::TensorOptions& o) {
  Tensor m = at::full({selected.size(0), selected.size(1), keys}, -std::numeric_limits<float>::infinity(), o);
  m.scatter_(-1, selected.to(at::kLong), 0.0);
  return m.unsqueeze(1);
}

}  // namespace

Tensor causal_conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& state) {
  const int64_t b = x.size(0), c = x.size(1), t = x.size(2), k = weight.size(-1);
  auto compute = [&]() -> Tensor {
    if (x.is_meta()) return meta_empty({b, c, t}, x.options());
    Tensor window = at::cat({state.to(x.scalar_type()), x}, -1);  // [b, c, K - 1 + t]
    const std::vector<int64_t> one = {1}, zero = {0};
    Tensor out = at::conv1d(window, weight, bias.defined() ? c10::optional<Tensor>(bias) : c10::nullopt, one, zero, one, c);
    state.copy_(window.slice(-1, window.size(-1) - (k - 1), window.size(-1)));
    return out;
  };
  OpCost cost{2 * b * c * t * k + (bias.defined() ? b * c * t : 0),
              bytes_of(x) + bytes_of(weight) + (bias.defined() ? bytes_of(bias) : 0) + bytes_of(x) + 2 * bytes_of(state)};
  return bias.defined() ? traced("aten::conv1d", {x, weight, bias}, compute, cost)
                        : traced("aten::conv1d", {x, weight}, compute, cost);
}

Tensor ssd_scan(const Tensor& x, const Tensor& dt, const Tensor& A, const Tensor& B, const Tensor& C, const Tensor& D,
                Tensor& state, int64_t chunk) {
  const int64_t b = x.size(0), t = x.size(1), heads = x.size(2), p = x.size(3);
  const int64_t groups = B.size(2), n = B.size(3);
  auto compute = [&]() -> Tensor {
    if (x.is_meta()) return meta_empty(x.sizes(), x.options());
    // The recurrence, token by token, in float32 as the kernels keep the state.
    Tensor xf = x.to(at::kFloat), dtf = dt.to(at::kFloat);
    Tensor Bh = B.to(at::kFloat).repeat_interleave(heads / groups, 2), Ch = C.to(at::kFloat).repeat_interleave(heads / groups, 2);
    Tensor h = state.to(at::kFloat);
    Tensor Af = A.to(at::kFloat), Df = D.to(at::kFloat);
    std::vector<Tensor> ys;
    for (int64_t i = 0; i < t; ++i) {
      Tensor dti = dtf.select(1, i);                                        // [b, heads]
      Tensor decay = at::exp(dti * Af).unsqueeze(-1).unsqueeze(-1);         // [b, heads, 1, 1]
      Tensor xi = xf.select(1, i);                                          // [b, heads, p]
      Tensor update = (dti.unsqueeze(-1) * xi).unsqueeze(-1) * Bh.select(1, i).unsqueeze(2);  // [b, heads, p, n]
      h = h * decay + update;
      Tensor y = (h * Ch.select(1, i).unsqueeze(2)).sum(-1) + Df.unsqueeze(-1) * xi;  // [b, heads, p]
      ys.push_back(y);
    }
    state.copy_(h);
    return at::stack(ys, 1).to(x.scalar_type());
  };
  const int64_t state_bytes = bytes_of(state);
  const int64_t io = bytes_of(x) + bytes_of(dt) + bytes_of(B) + bytes_of(C) + bytes_of(x);
  if (t == 1) {  // one step: decay, outer product and read-out over the whole state
    OpCost cost{b * heads * p * (5 * n + 2), io + 2 * state_bytes};
    return traced("irene::selective_state_update", {x, dt, A, B, C, D}, compute, cost);
  }
  // The chunked algorithm (SSD): within each chunk of q tokens C B^T (per group), the
  // masked mix of the chunk's inputs, each chunk's final state and the states' read-out.
  const int64_t q = std::min(chunk, t);
  const int64_t flops = b * (2 * t * q * n * groups + 2 * t * q * heads * p + 4 * t * n * heads * p + 2 * t * heads * p);
  OpCost cost{flops, io + 2 * state_bytes};
  return traced("irene::ssd_chunk_scan", {x, dt, A, B, C, D}, compute, cost);
}

Tensor gated_delta_rule(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g, const Tensor& beta,
                        Tensor& state) {
  const int64_t b = q.size(0), t = q.size(1), heads = q.size(2), dk = q.size(3), dv = v.size(3);
  auto compute = [&]() -> Tensor {
    if (q.is_meta()) return meta_empty(v.sizes(), v.options());
    auto l2 = [](const Tensor& x) { return x * at::rsqrt((x * x).sum(-1, true) + 1e-6); };
    Tensor qf = l2(q.to(at::kFloat)) / std::sqrt(static_cast<double>(dk)), kf = l2(k.to(at::kFloat));
    Tensor vf = v.to(at::kFloat), gf = g.to(at::kFloat), bf = beta.to(at::kFloat);
    Tensor s = state.to(at::kFloat);  // [b, heads, dk, dv]
    std::vector<Tensor> outs;
    for (int64_t i = 0; i < t; ++i) {
      s = s * at::exp(gf.select(1, i)).unsqueeze(-1).unsqueeze(-1);
      Tensor ki = kf.select(1, i);                                                    // [b, heads, dk]
      Tensor predicted = (s * ki.unsqueeze(-1)).sum(2);                               // S^T k: [b, heads, dv]
      Tensor delta = (vf.select(1, i) - predicted) * bf.select(1, i).unsqueeze(-1);   // [b, heads, dv]
      s = s + ki.unsqueeze(-1) * delta.unsqueeze(2);
      outs.push_back((s * qf.select(1, i).unsqueeze(-1)).sum(2));                     // S^T q
    }
    state.copy_(s);
    return at::stack(outs, 1).to(v.scalar_type());
  };
  const int64_t state_bytes = bytes_of(state);
  const int64_t io = bytes_of(q) + bytes_of(k) + bytes_of(v) + bytes_of(g) + bytes_of(beta) + bytes_of(v);
  const int64_t norms = b * t * heads * 6 * dk;  // the L2 norms of q and k, q's scale
  if (t == 1) {  // decay, S^T k, the rank-1 update, S^T q: 7 FLOPs per state element
    OpCost cost{7 * b * heads * dk * dv + norms, io + 2 * state_bytes};
    return traced("irene::recurrent_gated_delta_rule", {q, k, v, g, beta}, compute, cost);
  }
  // The chunked form (chunks of c = 64): within a chunk the keys' products and their
  // triangular solve, the pseudo-values and decayed keys, the outputs from the state and
  // within the chunk, and the state's update; per token and head.
  const int64_t c = std::min<int64_t>(64, t);
  const int64_t per_token = 4 * c * dk + 4 * c * dv + c * c / 3 + 6 * dk * dv;
  OpCost cost{b * t * heads * per_token + norms, io + 2 * state_bytes};
  return traced("irene::chunk_gated_delta_rule", {q, k, v, g, beta}, compute, cost);
}

Tensor mla_attention(const Tensor& q, const Tensor& latent, int64_t value_dim, const Tensor& mask,
                     const Tensor& selected, double scale) {
  FunctionalScope scope("mla_attention", "MultiLatentAttention",
                        [=] { mla_attention(q, latent, value_dim, mask, selected, scale); });
  const int64_t b = q.size(0), heads = q.size(1), s = q.size(2), d = q.size(3), keys = latent.size(2);
  auto compute = [&]() -> Tensor {
    if (q.is_meta()) return meta_empty({b, heads, s, value_dim}, q.options());
    Tensor scores = at::matmul(q, latent.transpose(-2, -1)).mul_(scale);  // one latent head for all query heads
    if (mask.defined()) scores = scores + mask;
    if (selected.defined()) scores = scores + selection_mask(selected, keys, scores.options());
    Tensor probs = at::softmax(scores.to(at::kFloat), -1).to(q.scalar_type());
    return at::matmul(probs, latent.slice(-1, 0, value_dim));
  };
  // Keys each query reads: all it may see, or the indexer's picks.
  const int64_t past = keys - s;
  const double per_query = keys_read(past, s, selected.defined() ? selected.size(-1) : 0) / static_cast<double>(s);
  const double pairs = static_cast<double>(b * heads * s) * per_query;
  const double keys_touched = selected.defined() ? std::min<double>(keys, static_cast<double>(s * selected.size(-1))) : keys;
  OpCost cost{static_cast<int64_t>(pairs * (2.0 * static_cast<double>(d) + 2.0 * static_cast<double>(value_dim) + 7)),
              bytes_of(q) + static_cast<int64_t>(static_cast<double>(b) * keys_touched * static_cast<double>(d) *
                                                 static_cast<double>(latent.element_size())) +
                  b * heads * s * value_dim * static_cast<int64_t>(q.element_size())};
  return traced("irene::mla_attention", {q, latent}, compute, cost);
}

Tensor sparse_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask, const Tensor& selected,
                        double scale) {
  FunctionalScope scope("scaled_dot_product_attention", "ScaledDotProductAttention",
                        [=] { sparse_attention(q, k, v, mask, selected, scale); });
  const int64_t b = q.size(0), heads = q.size(1), s = q.size(2), d = q.size(3), keys = k.size(2), dv = v.size(3);
  auto compute = [&]() -> Tensor {
    if (q.is_meta()) return meta_empty({b, heads, s, dv}, q.options());
    const int64_t groups = heads / k.size(1);
    Tensor kr = groups == 1 ? k : k.repeat_interleave(groups, 1);
    Tensor vr = groups == 1 ? v : v.repeat_interleave(groups, 1);
    Tensor scores = at::matmul(q, kr.transpose(-2, -1)).mul_(scale);
    if (mask.defined()) scores = scores + mask;
    scores = scores + selection_mask(selected, keys, scores.options());
    return at::matmul(at::softmax(scores.to(at::kFloat), -1).to(q.scalar_type()), vr);
  };
  const double pairs = static_cast<double>(b * heads) * keys_read(keys - s, s, selected.size(-1));
  OpCost cost{static_cast<int64_t>(pairs * (2.0 * static_cast<double>(d + dv) + 7)),
              bytes_of(q) + bytes_of(k) + bytes_of(v) + b * heads * s * dv * static_cast<int64_t>(q.element_size())};
  return traced("irene::sparse_attention", {q, k, v}, compute, cost);
}

Tensor indexer_scores(const Tensor& q, const Tensor& keys, const Tensor& weights, const Tensor& mask) {
  const int64_t b = q.size(0), s = q.size(1), heads = q.size(2), d = q.size(3), n = keys.size(1);
  auto compute = [&]() -> Tensor {
    if (q.is_meta()) return meta_empty({b, s, n}, q.options().dtype(at::kFloat));
    Tensor dots = at::relu(at::einsum("bshd,bnd->bshn", {q.to(at::kFloat), keys.to(at::kFloat)}));
    Tensor scores = (dots * weights.to(at::kFloat).unsqueeze(-1)).sum(2);  // [b, s, n]
    if (mask.defined()) scores = scores + mask.squeeze(1).to(at::kFloat);
    return scores;
  };
  const double pairs = static_cast<double>(b) * keys_read(n - s, s, 0);
  OpCost cost{static_cast<int64_t>(pairs * static_cast<double>(heads * (2 * d + 3))),
              bytes_of(q) + bytes_of(keys) + bytes_of(weights) + b * s * n * 4};
  return traced("irene::indexer_scores", {q, keys, weights}, compute, cost);
}

Tensor grouped_mm(const Tensor& rows, const Tensor& weight, const std::vector<int64_t>& counts, bool input_major,
                  double experts_read, std::optional<double> stored_bytes_per_expert) {
  const int64_t r = rows.size(0), in = rows.size(1);
  const int64_t out_dim = input_major ? weight.size(2) : weight.size(1);
  auto compute = [&]() -> Tensor {
    if (rows.is_meta()) return meta_empty({r, out_dim}, rows.options());
    std::vector<Tensor> parts;
    int64_t start = 0;
    for (size_t e = 0; e < counts.size(); ++e) {
      if (counts[e] == 0) continue;
      Tensor w = weight.select(0, static_cast<int64_t>(e));
      Tensor x = rows.slice(0, start, start + counts[e]);
      parts.push_back(input_major ? at::matmul(x, w) : at::matmul(x, w.t()));
      start += counts[e];
    }
    return parts.empty() ? at::zeros({0, out_dim}, rows.options()) : at::cat(parts, 0);
  };
  const double per_expert = stored_bytes_per_expert.value_or(static_cast<double>(in * out_dim * weight.element_size()));
  OpCost cost{2 * r * in * out_dim,
              bytes_of(rows) + r * out_dim * static_cast<int64_t>(rows.element_size()) +
                  static_cast<int64_t>(experts_read * per_expert)};
  return traced("aten::_grouped_mm", {rows, weight}, compute, cost);
}

Tensor gather_last(const Tensor& x, const Tensor& index) {
  return traced("aten::gather", {x, index}, [&] {
    if (x.is_meta()) return meta_empty(index.sizes(), x.options());
    return at::gather(x, -1, index);
  });
}

Tensor grouped_topk(const Tensor& scores, const Tensor& bias, int64_t k, int64_t n_group, int64_t topk_group) {
  const int64_t t = scores.size(0), e = scores.size(1);
  auto compute = [&]() -> Tensor {
    if (scores.is_meta()) return meta_empty({t, k}, scores.options().dtype(at::kLong));
    Tensor choice = scores + (bias.defined() ? bias.to(scores.scalar_type()) : at::zeros({e}, scores.options()));
    if (n_group > 1) {
      Tensor groups = std::get<0>(choice.view({t, n_group, e / n_group}).topk(2, -1)).sum(-1);  // [t, n_group]
      Tensor keep = at::zeros_like(groups).scatter_(1, std::get<1>(groups.topk(topk_group, -1)), 1.0);
      Tensor expert_keep = keep.unsqueeze(-1).expand({t, n_group, e / n_group}).reshape({t, e});
      choice = choice.masked_fill(expert_keep.eq(0), -std::numeric_limits<float>::infinity());
    }
    return std::get<1>(choice.topk(k, -1));
  };
  // Per token: the bias add, the groups' two best and their sum, the masking and the top-k.
  OpCost cost{t * e * 4, bytes_of(scores) + (bias.defined() ? bytes_of(bias) : 0) + t * k * 8};
  return traced("irene::grouped_topk", {scores}, compute, cost);
}

Tensor floor_divide(const Tensor& x, int64_t d) {
  return traced("aten::floor_divide", {x}, [&] { return x.is_meta() ? meta_empty(x.sizes(), x.options()) : at::floor_divide(x, d); });
}

}  // namespace irene::trace::ops
