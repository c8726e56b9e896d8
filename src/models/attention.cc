// Softmax attention over a KV cache, in the forms the decoder families give it (see
// AttentionOptions in decoder.h). Each step writes its keys and values into the cache,
// then attends over the positions its span allows: all earlier ones, the last window
// (sliding), or the query's chunk (Llama 4). sdpa records one fused
// aten::scaled_dot_product_attention; eager materialises the scores.
#include <cmath>
#include <limits>

#include "models/decoder.h"
#include "models/rotary.h"
#include "trace/ops.h"

namespace irene::models {

namespace ops = trace::ops;
using at::Tensor;

namespace {

// Key/value heads repeated to the query heads, as eager attention needs them.
Tensor repeat_kv(const Tensor& x, int64_t groups) {
  if (groups == 1) return x;
  const int64_t b = x.size(0), kv = x.size(1), len = x.size(2), d = x.size(3);
  Tensor e = ops::expand(ops::unsqueeze(x, 2), {b, kv, groups, len, d});
  return ops::reshape(ops::clone(e), {b, kv * groups, len, d});
}

// Gemma 2's tanh soft-capping: cap x tanh(x / cap).
Tensor softcap(const Tensor& x, double cap) { return ops::mul(ops::tanh(ops::div(x, cap)), cap); }

// Llama 4's NoPE layers: queries scaled by 1 + attn_scale x log(floor((p + 1) / floor_scale) + 1)
// at absolute position p, so attention stays sharp over long contexts.
Tensor temperature_scale(const Tensor& position_ids, double floor_scale, double attn_scale, const at::TensorOptions& o) {
  Tensor p = ops::to_dtype(position_ids, at::kFloat);
  Tensor floors = ops::floor(ops::div(ops::add(p, 1.0), floor_scale));
  Tensor scale = ops::add(ops::mul(ops::log(ops::add(floors, 1.0)), attn_scale), 1.0);  // [1, s]
  return ops::to_dtype(ops::unsqueeze(ops::unsqueeze(scale, -1), 1), o.dtype().toScalarType());  // [1, 1, s, 1]
}

}  // namespace

int64_t AttentionSpan::first_key(int64_t position) const {
  if (window > 0) return std::max<int64_t>(0, position - window + 1);
  if (chunk > 0) return position - position % chunk;
  return 0;
}

Attention::Attention(const ModelConfig& c, const AttentionOptions& o, const Init& init)
    : TokenMixer(o.cls, tree::NodeKind::kModule), o_(o) {
  const int64_t hidden = c.hidden_size, q_out = o.heads * o.head_dim, kv_out = o.kv_heads * o.head_dim;
  if (o.sinks) sinks_ = add_param("sinks", {o.heads}, 0.02, init);  // gpt-oss registers them first
  auto make_o_proj = [&] {
    o_proj_ = register_module(o.o_proj_name, std::make_shared<TorchLinear>(q_out, hidden, o.o_bias, init));
  };
  // q_norm and k_norm (before the rotary), or Llama 4's one weightless qk_norm after it.
  auto make_norms = [&] {
    if (o.qk_norm == AttentionOptions::QkNorm::kBeforeRotary) {
      q_norm_ = register_module("q_norm", std::make_shared<RMSNorm>(o.norm_cls, o.head_dim, o.norm_eps, o.norm_scale, init));
      k_norm_ = register_module("k_norm", std::make_shared<RMSNorm>(o.norm_cls, o.head_dim, o.norm_eps, o.norm_scale, init));
    }
    if (o.value_norm)
      v_norm_ = register_module("v_norm", std::make_shared<RMSNorm>(o.norm_cls, o.head_dim, o.norm_eps, RMSNorm::Scale::kNone, init));
  };
  switch (o.projections) {
    case AttentionOptions::Projections::kGrouped:
      qkv_proj_ = register_module("query_key_value", std::make_shared<TorchLinear>(hidden, q_out + 2 * kv_out, o.qkv_bias, init));
      make_o_proj();
      break;
    case AttentionOptions::Projections::kFused:  // Phi3Attention registers o_proj first
      make_o_proj();
      qkv_proj_ = register_module("qkv_proj", std::make_shared<TorchLinear>(hidden, q_out + 2 * kv_out, o.qkv_bias, init));
      break;
    case AttentionOptions::Projections::kSeparate:
      // Qwen3-Next's q_proj yields each head's query and its gate side by side.
      q_proj_ = register_module("q_proj", std::make_shared<TorchLinear>(hidden, o.output_gate ? 2 * q_out : q_out, o.qkv_bias, init));
      if (o.value_norm) make_norms();  // Gemma 4 registers its norms right after q_proj
      k_proj_ = register_module("k_proj", std::make_shared<TorchLinear>(hidden, kv_out, o.qkv_bias, init));
      if (!o.keys_as_values)
        v_proj_ = register_module("v_proj", std::make_shared<TorchLinear>(hidden, kv_out, o.qkv_bias, init));
      make_o_proj();
      break;
  }
  if (!o.value_norm) make_norms();
  if (o.qk_norm == AttentionOptions::QkNorm::kAfterRotary)
    q_norm_ = k_norm_ = register_module("qk_norm", std::make_shared<RMSNorm>(o.norm_cls, o.head_dim, o.norm_eps, RMSNorm::Scale::kNone, init));
  if (o.own_rotary) {
    RotaryEmbedding::Table table{o.rotary, c.decoder.rope, o.head_dim};
    rotary_ = register_module("rotary_emb", std::make_shared<RotaryEmbedding>("RotaryEmbedding", std::vector{table}, init));
  }
}

std::string Attention::signature() const {
  return name() + "|" + std::to_string(o_.span.window) + "|" + std::to_string(o_.span.chunk) + "|" + o_.rotary + "|" +
         std::to_string(o_.head_dim) + "|" + std::to_string(o_.kv_heads);
}

LayerCache Attention::new_cache(int64_t batch, int64_t capacity, const at::TensorOptions& options) const {
  const std::vector<int64_t> shape = {batch, o_.kv_heads, capacity, o_.head_dim};
  auto empty = [&] { return options.device().is_meta() ? at::empty(shape, options) : at::zeros(shape, options); };
  return LayerCache{empty(), empty(), {}};
}

Tensor Attention::forward(const Tensor& x, const StepContext& ctx) {
  auto node = scope([=, this] { forward(x, ctx); });
  const int64_t b = x.size(0), s = x.size(1), d = o_.head_dim;
  Tensor q, k, v, gate;
  if (o_.projections == AttentionOptions::Projections::kGrouped) {
    // [b, s, kv groups, queries per group + 2, head_dim]: each group's queries, key, value.
    const int64_t per_group = o_.heads / o_.kv_heads;
    Tensor g = ops::view(qkv_proj_->forward(x), {b, s, o_.kv_heads, per_group + 2, d});
    auto heads = [&](int64_t from, int64_t to) {
      return ops::reshape(ops::contiguous(ops::slice(g, 3, from, to)), {b, s, -1});
    };
    q = heads(0, per_group);
    k = heads(per_group, per_group + 1);
    v = heads(per_group + 1, per_group + 2);
  } else if (qkv_proj_) {
    Tensor qkv = qkv_proj_->forward(x);
    const int64_t qn = o_.heads * d, kn = o_.kv_heads * d;
    q = ops::slice(qkv, -1, 0, qn);
    k = ops::slice(qkv, -1, qn, qn + kn);
    v = ops::slice(qkv, -1, qn + kn, qn + 2 * kn);
  } else {
    q = q_proj_->forward(x);
    if (o_.output_gate) {  // [b, s, heads, 2 d]: each head's query, then its gate
      Tensor qg = ops::view(q, {b, s, o_.heads, 2 * d});
      q = ops::reshape(ops::contiguous(ops::slice(qg, -1, 0, d)), {b, s, o_.heads, d});
      gate = ops::reshape(ops::contiguous(ops::slice(qg, -1, d, 2 * d)), {b, s, o_.heads * d});
    }
    k = k_proj_->forward(x);
    v = v_proj_ ? v_proj_->forward(x) : k;  // Gemma 4's full layers: the keys' projection is the values'
  }
  if (!gate.defined()) q = ops::view(q, {b, s, -1, d});  // else already [b, s, heads, d]
  k = ops::view(k, {b, s, -1, d});
  v = ops::view(v, {b, s, -1, d});
  if (o_.qk_norm == AttentionOptions::QkNorm::kBeforeRotary) {
    q = q_norm_->forward(q);
    k = k_norm_->forward(k);
  }
  if (v_norm_) v = v_norm_->forward(v);
  q = ops::transpose(q, 1, 2);
  k = ops::transpose(k, 1, 2);
  v = ops::transpose(v, 1, 2);
  if (!o_.rotary.empty()) {
    RotaryTables t;
    if (rotary_) {
      auto tables = std::static_pointer_cast<RotaryEmbedding>(rotary_)->forward(x, ctx.position_ids);
      t = tables.front();
    } else {
      t = ctx.rotary.at(o_.rotary);
    }
    Tensor cos = ops::unsqueeze(t.cos, 1), sin = ops::unsqueeze(t.sin, 1);
    q = apply_rotary(q, cos, sin, o_.rotary_interleaved);
    k = apply_rotary(k, cos, sin, o_.rotary_interleaved);
  }
  if (o_.qk_norm == AttentionOptions::QkNorm::kAfterRotary) {
    q = q_norm_->forward(q);
    k = k_norm_->forward(k);
  }
  if (o_.temperature_tuning) q = ops::mul(q, temperature_scale(ctx.position_ids, o_.floor_scale, o_.attn_scale, q.options()));

  // Write the new keys and values into the cache, then read what this layer attends to.
  LayerCache& cache = ctx.cache->layers[o_.layer];
  const int64_t past = ctx.past, end = past + s;
  Tensor k_slot = ops::slice(cache.keys, 2, past, end);
  Tensor v_slot = ops::slice(cache.values, 2, past, end);
  ops::copy_(k_slot, k);
  ops::copy_(v_slot, v);
  const int64_t first_key = o_.span.first_key(past);
  Tensor keys = ops::slice(cache.keys, 2, first_key, end);
  Tensor values = ops::slice(cache.values, 2, first_key, end);
  Tensor mask;
  if (auto it = ctx.masks.find(o_.span); it != ctx.masks.end()) mask = it->second;

  Tensor out;
  if (!ctx.eager) {
    out = o_.sinks ? ops::attention_with_sinks(q, keys, values, mask, o_.scaling, sinks_)
                   : ops::scaled_dot_product_attention(q, keys, values, mask, o_.scaling, o_.softcap);
  } else {
    const int64_t groups = o_.heads / o_.kv_heads;
    Tensor kr = repeat_kv(keys, groups), vr = repeat_kv(values, groups);
    Tensor w = ops::mul(ops::ml_matmul(q, ops::transpose(kr, 2, 3)), o_.scaling);
    if (o_.softcap > 0) w = softcap(w, o_.softcap);
    if (mask.defined()) w = ops::add(w, mask);
    if (o_.sinks) {  // one more column per head, its learned logit, dropped after the softmax
      Tensor sink = ops::expand(ops::view(ops::to_dtype(sinks_, w.scalar_type()), {1, o_.heads, 1, 1}),
                                {b, o_.heads, s, 1});
      w = ops::cat({w, sink}, -1);
      w = ops::ml_softmax(ops::to_dtype(w, at::kFloat), -1);
      w = ops::slice(w, -1, 0, keys.size(2));
    } else {
      w = ops::ml_softmax(ops::to_dtype(w, at::kFloat), -1);
    }
    w = ops::to_dtype(w, q.scalar_type());
    w = ops::dropout(w);
    out = ops::ml_matmul(w, vr);
  }
  out = ops::contiguous(ops::transpose(out, 1, 2));
  out = ops::reshape(out, {b, s, o_.heads * d});
  if (gate.defined()) out = ops::mul(out, ops::sigmoid(gate));
  return o_proj_->forward(out);
}

}  // namespace irene::models
