// Multi-head latent attention (DeepSeek-V2/V3, Kimi K2, GLM-5; transformers'
// DeepseekV3Attention) as serving engines run it, and the lightning indexer of DeepSeek's
// sparse attention (DeepSeek-V3.2, GLM-5).
//
// Queries come through a low-rank q_a_proj / q_a_layernorm / q_b_proj (or one q_proj);
// keys and values through kv_a_proj_with_mqa, which yields a compressed latent of
// kv_lora_rank channels and one rotary key of qk_rope_head_dim shared by all heads.
// The cache keeps only that latent and rotary key (kv_lora_rank + qk_rope_head_dim per
// token and layer, as vLLM and FlashMLA do; transformers caches the decompressed keys and
// values instead). A prefill decompresses every key with kv_b_proj and runs ordinary
// attention (qk heads of nope + rope, values of v_head_dim). A decode step absorbs
// kv_b_proj into the query and the output instead (vLLM's MLA decode): the query's nope
// part times W_UK moves into the latent space, attention runs over the cached latents as
// one key/value head (MultiLatentAttention), and the result times W_UV returns to v_head_dim.
// Both give the same result; the decode reads 576 values per cached token instead of
// heads x (qk + v) dimensions.
//
// The indexer scores every cached key for every query with a few small heads (queries
// from the query latent, one key per token from the hidden state, both partly rotated),
// and attention then reads only the index_topk best keys.
#include <cmath>

#include "models/decoder.h"
#include "models/rotary.h"
#include "trace/ops.h"

namespace irene::models {

namespace {

namespace ops = trace::ops;
using at::Tensor;

constexpr double kLatentNormEps = 1e-6;  // q_a_layernorm and kv_a_layernorm keep the class default

// Rotates the leading qk_rope_head_dim channels of x [.., s, heads, d] (heads in dim 2).
Tensor rotate_heads_last(const Tensor& x, const RotaryTables& t, bool interleaved) {
  Tensor cos = ops::unsqueeze(t.cos, 2), sin = ops::unsqueeze(t.sin, 2);  // [1, s, 1, rope]
  return apply_rotary(x, cos, sin, interleaved);
}

class Indexer : public HfModule {
 public:
  Indexer(const ModelConfig& c, const std::string& cls, const Init& init)
      : HfModule(cls, tree::NodeKind::kModule),
        m_(c.decoder.mla),
        heads_(c.decoder.mla.index_n_heads),
        dim_(c.decoder.mla.index_head_dim) {
    wq_b = register_module("wq_b", std::make_shared<TorchLinear>(m_.q_lora_rank, heads_ * dim_, false, init));
    wk = register_module("wk", std::make_shared<TorchLinear>(c.hidden_size, dim_, false, init));
    k_norm = register_module("k_norm", std::make_shared<LayerNorm>(dim_, 1e-6, init));
    weights_proj = register_module("weights_proj", std::make_shared<TorchLinear>(c.hidden_size, heads_, false, init));
  }

  // The keys each query reads: [b, s, min(index_topk, keys)]. Its keys go into the
  // layer's cache (state[0]).
  Tensor forward(const Tensor& x, const Tensor& q_latent, const StepContext& ctx, int64_t layer) {
    auto node = scope([=, this] { forward(x, q_latent, ctx, layer); });
    const int64_t b = x.size(0), s = x.size(1);
    LayerCache& cache = ctx.cache->layers[layer];
    const RotaryTables& t = ctx.rotary.at("rotary_emb");
    // Queries and the one key per token, each [rope | nope]: rope first, unlike the attention's.
    Tensor q = ops::view(wq_b->forward(q_latent), {b, s, heads_, dim_});
    q = rotate_heads_last(q, t, m_.indexer_rope_interleave);
    Tensor k = ops::view(k_norm->forward(wk->forward(x)), {b, s, 1, dim_});
    k = ops::view(rotate_heads_last(k, t, m_.indexer_rope_interleave), {b, s, dim_});
    const int64_t past = ctx.past, end = past + s;
    Tensor slot = ops::slice(cache.state[0], 1, past, end);
    ops::copy_(slot, k);
    Tensor keys = ops::slice(cache.state[0], 1, 0, end);
    // Head weights, with the heads' and the dot products' scales folded in (ReLU keeps positive factors).
    const double scale = std::pow(static_cast<double>(heads_), -0.5) * std::pow(static_cast<double>(dim_), -0.5);
    Tensor w = ops::mul(weights_proj->forward(x), scale);
    Tensor mask;
    if (auto it = ctx.masks.find(AttentionSpan{}); it != ctx.masks.end()) mask = it->second;
    Tensor scores = ops::indexer_scores(q, keys, w, mask);
    return ops::topk(scores, std::min<int64_t>(m_.index_topk, end), /*stable=*/true).second;
  }

  std::shared_ptr<TorchLinear> wq_b, wk, weights_proj;
  std::shared_ptr<LayerNorm> k_norm;

 private:
  LatentAttentionConfig m_;
  int64_t heads_, dim_;
};

class LatentAttention : public TokenMixer {
 public:
  LatentAttention(const ModelConfig& c, const std::string& prefix, int64_t layer, const Init& init)
      : TokenMixer(prefix + "Attention", tree::NodeKind::kModule), m_(c.decoder.mla), layer_(layer), heads_(c.num_heads) {
    const bool bias = c.decoder.attention_bias;
    const int64_t qk = m_.qk_head_dim(), hidden = c.hidden_size;
    const std::string norm_cls = prefix + "RMSNorm";
    if (m_.q_lora_rank > 0) {
      q_a_proj = register_module("q_a_proj", std::make_shared<TorchLinear>(hidden, m_.q_lora_rank, bias, init));
      q_a_layernorm = register_module("q_a_layernorm", std::make_shared<RMSNorm>(norm_cls, m_.q_lora_rank, kLatentNormEps,
                                                                                  RMSNorm::Scale::kWeight, init));
      q_b_proj = register_module("q_b_proj", std::make_shared<TorchLinear>(m_.q_lora_rank, heads_ * qk, false, init));
    } else {
      q_proj = register_module("q_proj", std::make_shared<TorchLinear>(hidden, heads_ * qk, false, init));
    }
    kv_a_proj_with_mqa = register_module(
        "kv_a_proj_with_mqa", std::make_shared<TorchLinear>(hidden, m_.kv_lora_rank + m_.qk_rope_head_dim, bias, init));
    kv_a_layernorm = register_module("kv_a_layernorm", std::make_shared<RMSNorm>(norm_cls, m_.kv_lora_rank, kLatentNormEps,
                                                                                  RMSNorm::Scale::kWeight, init));
    kv_b_proj = register_module("kv_b_proj", std::make_shared<TorchLinear>(
                                                 m_.kv_lora_rank, heads_ * (m_.qk_nope_head_dim + m_.v_head_dim), false, init));
    o_proj = register_module("o_proj", std::make_shared<TorchLinear>(heads_ * m_.v_head_dim, hidden, bias, init));
    if (m_.index_topk > 0) indexer = register_module("indexer", std::make_shared<Indexer>(c, prefix + "Indexer", init));
    // YaRN's magnitude correction goes into the softmax scale: qk^-0.5 x mscale^2.
    scaling_ = std::pow(static_cast<double>(qk), -0.5);
    const RopeScaling& r = c.decoder.rope.scaling;
    if (r.type == "yarn" && r.mscale_all_dim > 0 && r.factor > 1) {
      const double mscale = 0.1 * r.mscale_all_dim * std::log(r.factor) + 1.0;
      scaling_ *= mscale * mscale;
    }
  }

  LayerCache new_cache(int64_t batch, int64_t capacity, const at::TensorOptions& o) const override {
    auto make = [&](std::vector<int64_t> shape) { return o.device().is_meta() ? at::empty(shape, o) : at::zeros(shape, o); };
    LayerCache cache;
    cache.keys = make({batch, 1, capacity, m_.kv_lora_rank + m_.qk_rope_head_dim});
    if (indexer) cache.state.push_back(make({batch, capacity, m_.index_head_dim}));
    return cache;
  }
  std::optional<AttentionSpan> span() const override { return AttentionSpan{}; }
  std::string signature() const override { return name() + (indexer ? "|indexed" : ""); }

  Tensor forward(const Tensor& x, const StepContext& ctx) override {
    auto node = scope([=, this] { forward(x, ctx); });
    const int64_t b = x.size(0), s = x.size(1), nope = m_.qk_nope_head_dim, rope = m_.qk_rope_head_dim;
    const int64_t qk = nope + rope, r = m_.kv_lora_rank;
    Tensor q_latent, q;
    if (q_a_proj) {
      q_latent = q_a_layernorm->forward(q_a_proj->forward(x));
      q = q_b_proj->forward(q_latent);
    } else {
      q = q_proj->forward(x);
    }
    q = ops::transpose(ops::view(q, {b, s, heads_, qk}), 1, 2);  // [b, heads, s, qk]
    Tensor q_nope = ops::slice(q, -1, 0, nope), q_pe = ops::slice(q, -1, nope, qk);
    Tensor compressed = kv_a_proj_with_mqa->forward(x);  // [b, s, r + rope]
    Tensor c = kv_a_layernorm->forward(ops::slice(compressed, -1, 0, r));
    Tensor k_pe = ops::unsqueeze(ops::slice(compressed, -1, r, r + rope), 1);  // [b, 1, s, rope]
    const RotaryTables& t = ctx.rotary.at("rotary_emb");
    Tensor cos = ops::unsqueeze(t.cos, 1), sin = ops::unsqueeze(t.sin, 1);
    q_pe = apply_rotary(q_pe, cos, sin, m_.rope_interleave);
    k_pe = apply_rotary(k_pe, cos, sin, m_.rope_interleave);

    // The cache keeps the latent and the rotated key: [b, 1, positions, r + rope].
    LayerCache& cache = ctx.cache->layers[layer_];
    const int64_t past = ctx.past, end = past + s;
    Tensor slot = ops::slice(cache.keys, 2, past, end);
    ops::copy_(slot, ops::cat({ops::unsqueeze(c, 1), k_pe}, -1));
    Tensor latent = ops::slice(cache.keys, 2, 0, end);
    Tensor selected;
    if (indexer) selected = indexer->forward(x, q_latent, ctx, layer_);
    Tensor mask;
    if (auto it = ctx.masks.find(AttentionSpan{}); it != ctx.masks.end()) mask = it->second;

    Tensor out = s == 1 ? absorbed(q_nope, q_pe, latent, mask, selected) : decompressed(q_nope, q_pe, latent, mask, selected, ctx.eager);
    return o_proj->forward(out);  // out: [b, s, heads x v_head_dim]
  }

  std::shared_ptr<TorchLinear> q_a_proj, q_b_proj, q_proj, kv_a_proj_with_mqa, kv_b_proj, o_proj;
  std::shared_ptr<RMSNorm> q_a_layernorm, kv_a_layernorm;
  std::shared_ptr<Indexer> indexer;

 private:
  // A decode step: the query absorbs W_UK, attention over the latents, the output W_UV.
  Tensor absorbed(const Tensor& q_nope, const Tensor& q_pe, const Tensor& latent, const Tensor& mask,
                  const Tensor& selected) {
    const int64_t b = q_nope.size(0), s = q_nope.size(2), nope = m_.qk_nope_head_dim, v = m_.v_head_dim;
    const int64_t r = m_.kv_lora_rank;
    // kv_b_proj.weight [heads x (nope + v), r]: per head its W_UK [nope, r], then W_UV [v, r].
    Tensor w = ops::view(kv_b_proj->weight, {heads_, nope + v, r});
    Tensor w_uk = ops::slice(w, 1, 0, nope), w_uv = ops::slice(w, 1, nope, nope + v);
    auto heads_first = [&](const Tensor& x, int64_t d) {  // [b, heads, s, d] -> [heads, b s, d]
      return ops::view(ops::contiguous(ops::permute(x, {1, 0, 2, 3})), {heads_, b * s, d});
    };
    auto heads_second = [&](const Tensor& x, int64_t d) {  // [heads, b s, d] -> [b, heads, s, d]
      return ops::permute(ops::view(x, {heads_, b, s, d}), {1, 0, 2, 3});
    };
    Tensor q_latent = heads_second(ops::bmm(heads_first(q_nope, nope), w_uk), r);  // [b, heads, s, r]
    Tensor q_full = ops::cat({q_latent, q_pe}, -1);
    Tensor o = ops::mla_attention(q_full, latent, r, mask, selected, scaling_);      // [b, heads, s, r]
    Tensor o_v = ops::bmm(heads_first(o, r), ops::transpose(w_uv, 1, 2));            // [heads, b s, v]
    return ops::reshape(ops::contiguous(ops::permute(ops::view(o_v, {heads_, b, s, v}), {1, 2, 0, 3})), {b, s, heads_ * v});
  }

  // A prefill: every key decompressed by kv_b_proj, then attention with heads of
  // nope + rope (values of v_head_dim).
  Tensor decompressed(const Tensor& q_nope, const Tensor& q_pe, const Tensor& latent, const Tensor& mask,
                      const Tensor& selected, bool eager) {
    const int64_t b = q_nope.size(0), s = q_nope.size(2), keys = latent.size(2);
    const int64_t nope = m_.qk_nope_head_dim, rope = m_.qk_rope_head_dim, v = m_.v_head_dim, r = m_.kv_lora_rank;
    Tensor kv = kv_b_proj->forward(ops::view(ops::slice(latent, -1, 0, r), {b, keys, r}));
    kv = ops::transpose(ops::view(kv, {b, keys, heads_, nope + v}), 1, 2);  // [b, heads, keys, nope + v]
    Tensor k_nope = ops::slice(kv, -1, 0, nope), values = ops::slice(kv, -1, nope, nope + v);
    Tensor k_pe = ops::expand(ops::slice(latent, -1, r, r + rope), {b, heads_, keys, rope});
    Tensor k = ops::cat({k_nope, k_pe}, -1), q = ops::cat({q_nope, q_pe}, -1);
    Tensor out;
    if (selected.defined()) {
      out = ops::sparse_attention(q, k, values, mask, selected, scaling_);
    } else if (!eager) {
      out = ops::scaled_dot_product_attention(q, k, values, mask, scaling_, 0);
    } else {
      Tensor w = ops::mul(ops::ml_matmul(q, ops::transpose(k, 2, 3)), scaling_);
      if (mask.defined()) w = ops::add(w, mask);
      w = ops::to_dtype(ops::ml_softmax(ops::to_dtype(w, at::kFloat), -1), q.scalar_type());
      out = ops::ml_matmul(ops::dropout(w), values);
    }
    return ops::reshape(ops::contiguous(ops::transpose(out, 1, 2)), {b, s, heads_ * v});
  }

  LatentAttentionConfig m_;
  int64_t layer_, heads_;
  double scaling_;
};

}  // namespace

std::shared_ptr<TokenMixer> make_latent_attention(const ModelConfig& c, const std::string& prefix, int64_t layer,
                                                  const Init& init) {
  return std::make_shared<LatentAttention>(c, prefix, layer, init);
}

}  // namespace irene::models
