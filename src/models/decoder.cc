// The modules the decoder families share, in the order transformers v4.5x's
// modeling_llama.py computes them (RMSNorm, rotary embeddings, attention with grouped
// key/value heads and a KV cache, the gated MLP, the decoder layer, the model and its
// lm_head), with the switches the other families need.
#include "models/decoder.h"

#include <cmath>
#include <limits>
#include <map>

#include "trace/recorder.h"

namespace irene::models {

namespace ops = trace::ops;
using at::Tensor;

namespace {

constexpr double kInitStd = 0.02;  // initializer_range, Hugging Face's default

// ---- rotary position embeddings ----

// inv_freq for head dimension d: theta^(-2i/d), stretched as rope_scaling says.
// llama3: Meta's Llama 3.1 rule (transformers' _compute_llama3_parameters): long
// wavelengths are divided by the factor, short ones kept, the band between blended.
Tensor inverse_frequencies(const ModelConfig& c, const at::TensorOptions& o) {
  const int64_t d = c.decoder.head_dim;
  Tensor inv = 1.0 / at::pow(c.decoder.rope_theta, at::arange(0, d, 2, at::kDouble) / static_cast<double>(d));
  const RopeScaling& r = c.decoder.rope_scaling;
  if (r.type == "linear") inv = inv / r.factor;
  if (r.type == "llama3") {
    const double old_ctx = static_cast<double>(r.original_max_position_embeddings);
    const double low_wavelen = old_ctx / r.low_freq_factor, high_wavelen = old_ctx / r.high_freq_factor;
    Tensor wavelen = 2 * M_PI / inv;
    Tensor scaled = at::where(wavelen > low_wavelen, inv / r.factor, inv);
    Tensor smooth = (old_ctx / wavelen - r.low_freq_factor) / (r.high_freq_factor - r.low_freq_factor);
    Tensor blended = (1 - smooth) * scaled / r.factor + smooth * scaled;
    Tensor medium = (wavelen >= high_wavelen).logical_and(wavelen <= low_wavelen);
    inv = at::where(medium, blended, scaled);
  }
  return inv.to(o.device(), at::kFloat);
}

class RotaryEmbedding : public HfModule {
 public:
  RotaryEmbedding(const std::string& cls, const ModelConfig& c, const Init& init) : HfModule(cls, tree::NodeKind::kMl) {
    inv_freq_ = init.meta() ? at::empty({c.decoder.head_dim / 2}, init.options.dtype(at::kFloat))
                            : inverse_frequencies(c, init.options);
    register_buffer("inv_freq", inv_freq_);
  }
  // cos and sin [1, s, head_dim] for position_ids [1, s], in x's dtype.
  std::pair<Tensor, Tensor> forward(const Tensor& x, const Tensor& position_ids) {
    auto node = scope([=, this] { forward(x, position_ids); });
    Tensor inv = ops::expand(ops::unsqueeze(ops::unsqueeze(inv_freq_, 0), -1), {position_ids.size(0), -1, 1});
    Tensor pos = ops::to_dtype(ops::unsqueeze(position_ids, 1), at::kFloat);
    Tensor freqs = ops::transpose(ops::matmul(inv, pos), 1, 2);
    Tensor emb = ops::cat({freqs, freqs}, -1);
    const double attention_scaling = 1.0;  // default, linear and llama3 leave magnitudes alone
    Tensor cos = ops::mul(ops::cos(emb), attention_scaling);
    Tensor sin = ops::mul(ops::sin(emb), attention_scaling);
    return {ops::to_dtype(cos, x.scalar_type()), ops::to_dtype(sin, x.scalar_type())};
  }

 private:
  Tensor inv_freq_;
};

// cat(-x2, x1) of x's two halves along the last dimension.
Tensor rotate_half(const Tensor& x) {
  const int64_t half = x.size(-1) / 2;
  Tensor x1 = ops::slice(x, -1, 0, half);
  Tensor x2 = ops::slice(x, -1, half, x.size(-1));
  return ops::cat({ops::neg(x2), x1}, -1);
}

Tensor apply_rotary(const Tensor& x, const Tensor& cos, const Tensor& sin) {
  return ops::add(ops::mul(x, cos), ops::mul(rotate_half(x), sin));
}

// Key/value heads repeated to the query heads, as eager attention needs them.
Tensor repeat_kv(const Tensor& x, int64_t groups) {
  if (groups == 1) return x;
  const int64_t b = x.size(0), kv = x.size(1), len = x.size(2), d = x.size(3);
  Tensor e = ops::expand(ops::unsqueeze(x, 2), {b, kv, groups, len, d});
  return ops::reshape(ops::clone(e), {b, kv * groups, len, d});
}

// Gemma 2's tanh soft-capping: cap x tanh(x / cap).
Tensor softcap(const Tensor& x, double cap) { return ops::mul(ops::tanh(ops::div(x, cap)), cap); }

// ---- the per-forward context every layer reads ----

struct StepContext {
  Tensor cos, sin;            // rotary tables [1, s, head_dim] (undefined: each attention makes its own)
  Tensor position_ids;        // [1, s]
  Tensor full_mask, sliding_mask;  // additive masks, undefined where not needed
  KvCache* cache = nullptr;
  int64_t past = 0;           // positions already in the cache
  bool eager = false;
};

// ---- a norm that is either RMSNorm or LayerNorm ----

struct Norm {
  std::shared_ptr<RMSNorm> rms;
  std::shared_ptr<LayerNorm> ln;
  Tensor operator()(const Tensor& x) const { return rms ? rms->forward(x) : ln->forward(x); }
};

Norm make_norm(torch::nn::Module& owner, const std::string& name, const ModelConfig& c, const DecoderSpec& spec,
               int64_t dim, const Init& init) {
  Norm n;
  if (spec.layer_norm) {
    n.ln = owner.register_module(name, std::make_shared<LayerNorm>(dim, c.layer_norm_eps, init));
  } else {
    n.rms = owner.register_module(
        name, std::make_shared<RMSNorm>(spec.prefix + "RMSNorm", dim, c.layer_norm_eps, spec.gemma, init));
  }
  return n;
}

// ---- attention ----

class Attention : public HfModule {
 public:
  Attention(const ModelConfig& c, const DecoderSpec& spec, int64_t layer, const Init& init)
      : HfModule(spec.prefix + "Attention", tree::NodeKind::kModule),
        layer_(layer),
        heads_(c.num_heads),
        kv_heads_(c.decoder.num_kv_heads),
        head_dim_(c.decoder.head_dim),
        window_(c.decoder.layer_sliding[layer] ? c.decoder.sliding_window : 0),
        softcap_(c.decoder.attn_logit_softcapping) {
    const DecoderConfig& d = c.decoder;
    scaling_ = spec.gemma                ? std::pow(d.query_pre_attn_scalar, -0.5)
               : d.attention_scale > 0 ? d.attention_scale
                                       : std::pow(static_cast<double>(head_dim_), -0.5);
    const int64_t q_out = heads_ * head_dim_, kv_out = kv_heads_ * head_dim_;
    auto make_o_proj = [&] {
      o_proj = register_module(spec.grouped_qkv ? "dense" : "o_proj",
                               std::make_shared<TorchLinear>(q_out, c.hidden_size, d.o_proj_bias, init));
    };
    if (spec.grouped_qkv) {
      grouped_ = true;
      qkv_proj = register_module("query_key_value", std::make_shared<TorchLinear>(c.hidden_size, q_out + 2 * kv_out,
                                                                                  d.attention_bias, init));
      make_o_proj();
      rotary_ = register_module("rotary_emb", std::make_shared<RotaryEmbedding>("RotaryEmbedding", c, init));
    } else if (spec.fused_qkv) {  // Phi3Attention registers o_proj first
      make_o_proj();
      qkv_proj = register_module("qkv_proj", std::make_shared<TorchLinear>(c.hidden_size, q_out + 2 * kv_out,
                                                                           d.attention_bias, init));
    } else {
      q_proj = register_module("q_proj", std::make_shared<TorchLinear>(c.hidden_size, q_out, d.attention_bias, init));
      k_proj = register_module("k_proj", std::make_shared<TorchLinear>(c.hidden_size, kv_out, d.attention_bias, init));
      v_proj = register_module("v_proj", std::make_shared<TorchLinear>(c.hidden_size, kv_out, d.attention_bias, init));
      make_o_proj();
    }
    if (spec.qk_norm) {
      q_norm = register_module("q_norm", std::make_shared<RMSNorm>(spec.prefix + "RMSNorm", head_dim_,
                                                                   c.layer_norm_eps, false, init));
      k_norm = register_module("k_norm", std::make_shared<RMSNorm>(spec.prefix + "RMSNorm", head_dim_,
                                                                   c.layer_norm_eps, false, init));
    }
  }

  Tensor forward(const Tensor& x, const StepContext& ctx) {
    auto node = scope([=, this] { forward(x, ctx); });
    const int64_t b = x.size(0), s = x.size(1);
    Tensor q, k, v;
    if (grouped_) {
      // [b, s, kv groups, queries per group + 2, head_dim]: each group's queries, key, value.
      const int64_t per_group = heads_ / kv_heads_;
      Tensor g = ops::view(qkv_proj->forward(x), {b, s, kv_heads_, per_group + 2, head_dim_});
      auto heads = [&](int64_t from, int64_t to) {
        return ops::reshape(ops::contiguous(ops::slice(g, 3, from, to)), {b, s, -1});
      };
      q = heads(0, per_group);
      k = heads(per_group, per_group + 1);
      v = heads(per_group + 1, per_group + 2);
    } else if (qkv_proj) {
      Tensor qkv = qkv_proj->forward(x);
      const int64_t qn = heads_ * head_dim_, kn = kv_heads_ * head_dim_;
      q = ops::slice(qkv, -1, 0, qn);
      k = ops::slice(qkv, -1, qn, qn + kn);
      v = ops::slice(qkv, -1, qn + kn, qn + 2 * kn);
    } else {
      q = q_proj->forward(x);
      k = k_proj->forward(x);
      v = v_proj->forward(x);
    }
    q = ops::view(q, {b, s, -1, head_dim_});
    k = ops::view(k, {b, s, -1, head_dim_});
    if (q_norm) {
      q = q_norm->forward(q);
      k = k_norm->forward(k);
    }
    q = ops::transpose(q, 1, 2);
    k = ops::transpose(k, 1, 2);
    v = ops::transpose(ops::view(v, {b, s, -1, head_dim_}), 1, 2);
    Tensor cos = ctx.cos, sin = ctx.sin;
    if (rotary_) std::tie(cos, sin) = rotary_->forward(x, ctx.position_ids);
    cos = ops::unsqueeze(cos, 1);
    sin = ops::unsqueeze(sin, 1);
    q = apply_rotary(q, cos, sin);
    k = apply_rotary(k, cos, sin);

    // Write the new keys and values into the cache, then read what this layer attends to:
    // every position so far, or the last `window` of them.
    KvCache& cache = *ctx.cache;
    const int64_t past = ctx.past, end = past + s;
    Tensor k_slot = ops::slice(cache.keys[layer_], 2, past, end);
    Tensor v_slot = ops::slice(cache.values[layer_], 2, past, end);
    ops::copy_(k_slot, k);
    ops::copy_(v_slot, v);
    const int64_t first_key = window_ > 0 ? std::max<int64_t>(0, past - window_ + 1) : 0;
    Tensor keys = ops::slice(cache.keys[layer_], 2, first_key, end);
    Tensor values = ops::slice(cache.values[layer_], 2, first_key, end);
    const Tensor& mask = window_ > 0 ? ctx.sliding_mask : ctx.full_mask;

    Tensor out;
    if (!ctx.eager) {
      out = ops::scaled_dot_product_attention(q, keys, values, mask, scaling_, softcap_);
    } else {
      const int64_t groups = heads_ / kv_heads_;
      Tensor kr = repeat_kv(keys, groups), vr = repeat_kv(values, groups);
      Tensor w = ops::mul(ops::ml_matmul(q, ops::transpose(kr, 2, 3)), scaling_);
      if (softcap_ > 0) w = softcap(w, softcap_);
      if (mask.defined()) w = ops::add(w, mask);
      w = ops::to_dtype(ops::ml_softmax(ops::to_dtype(w, at::kFloat), -1), q.scalar_type());
      w = ops::dropout(w);
      out = ops::ml_matmul(w, vr);
    }
    out = ops::contiguous(ops::transpose(out, 1, 2));
    out = ops::reshape(out, {b, s, heads_ * head_dim_});
    return o_proj->forward(out);
  }

  std::shared_ptr<TorchLinear> q_proj, k_proj, v_proj, qkv_proj, o_proj;
  std::shared_ptr<RMSNorm> q_norm, k_norm;
  std::shared_ptr<RotaryEmbedding> rotary_;
  int64_t window() const { return window_; }

 private:
  bool grouped_ = false;
  int64_t layer_, heads_, kv_heads_, head_dim_, window_;
  double scaling_, softcap_;
};

// ---- the decoder layer ----

class DecoderLayer : public HfModule {
 public:
  DecoderLayer(const ModelConfig& c, const DecoderSpec& spec, int64_t layer, const Init& init)
      : HfModule(spec.prefix + "DecoderLayer", tree::NodeKind::kModule), gemma_(spec.gemma), phi_(spec.resid_dropouts) {
    self_attn = register_module("self_attn", std::make_shared<Attention>(c, spec, layer, init));
    ffn = spec.make_ffn ? spec.make_ffn(c, layer, init)
                        : std::make_shared<GatedMLP>(spec.prefix + "MLP", c, c.intermediate_size, false, init);
    register_module(spec.ffn_name, ffn);
    input_layernorm = make_norm(*this, "input_layernorm", c, spec, c.hidden_size, init);
    post_attention_layernorm = make_norm(*this, "post_attention_layernorm", c, spec, c.hidden_size, init);
    if (gemma_) {
      pre_feedforward_layernorm = make_norm(*this, "pre_feedforward_layernorm", c, spec, c.hidden_size, init);
      post_feedforward_layernorm = make_norm(*this, "post_feedforward_layernorm", c, spec, c.hidden_size, init);
    }
    if (phi_) {
      register_module("resid_attn_dropout", make_dropout());
      register_module("resid_mlp_dropout", make_dropout());
    }
  }

  Tensor forward(const Tensor& x, const StepContext& ctx) {
    auto node = scope([=, this] { forward(x, ctx); });
    Tensor h = self_attn->forward(input_layernorm(x), ctx);
    if (gemma_) h = post_attention_layernorm(h);
    if (phi_) h = ops::dropout(h);
    h = ops::add(x, h);
    Tensor f = ffn->forward(gemma_ ? pre_feedforward_layernorm(h) : post_attention_layernorm(h));
    if (gemma_) f = post_feedforward_layernorm(f);
    if (phi_) f = ops::dropout(f);
    return ops::add(h, f);
  }

  // Two layers with equal signatures trace to equal subtrees (bar their paths): the
  // same modules, parameters and attention window.
  std::string signature() const {
    return ffn->name() + "|" + std::to_string(num_parameters()) + "|" + std::to_string(self_attn->window());
  }

  std::shared_ptr<Attention> self_attn;
  std::shared_ptr<FeedForward> ffn;
  Norm input_layernorm, post_attention_layernorm, pre_feedforward_layernorm, post_feedforward_layernorm;

 private:
  bool gemma_, phi_;
};

// ---- the base model ----

class DecoderModel : public HfModule {
 public:
  DecoderModel(const ModelConfig& c, const DecoderSpec& spec, const Init& init)
      : HfModule(spec.prefix + "Model", tree::NodeKind::kModule),
        hidden_size_(c.hidden_size),
        window_(c.decoder.sliding_window),
        gemma_(spec.gemma),
        embedding_dropout_(spec.embedding_dropout),
        embedding_multiplier_(c.decoder.embedding_multiplier) {
    embed_tokens = register_module("embed_tokens", std::make_shared<Embedding>(c.vocab_size, c.hidden_size, init));
    if (embedding_dropout_) register_module("embedding_dropout", make_dropout());
    for (int64_t i = 0; i < c.num_layers; ++i) layers->push_back(std::make_shared<DecoderLayer>(c, spec, i, init));
    register_module("layers", layers);
    norm = make_norm(*this, spec.final_norm_name, c, spec, c.hidden_size, init);
    if (!spec.rotary_in_attention)
      rotary_emb = register_module("rotary_emb", std::make_shared<RotaryEmbedding>(spec.prefix + "RotaryEmbedding", c, init));
    for (bool s : c.decoder.layer_sliding) (s ? any_sliding_ : any_full_) = true;
  }

  Tensor forward(const Tensor& ids, KvCache& cache, bool eager) {
    const int64_t b = ids.size(0), s = ids.size(1), past = cache.length;
    auto node = scope([=, this, &cache] {
      KvCache replay = cache;  // the positions this call saw, whatever the cache holds now
      replay.length = past;
      forward(ids, replay, eager);
    });
    Tensor h = embed_tokens->forward(ids);
    if (embedding_dropout_) h = ops::dropout(h);
    if (embedding_multiplier_ > 0) h = ops::mul(h, embedding_multiplier_);  // Phi-3-small's muP
    Tensor position_ids = ops::unsqueeze(arange_positions(past, s, ids.options()), 0);
    StepContext ctx;
    ctx.position_ids = position_ids;
    ctx.cache = &cache;
    ctx.past = past;
    ctx.eager = eager;
    // Eager attention always adds a mask; sdpa needs one only when a step holds several
    // queries (the prefill), since a single new token may see every cached position.
    if (eager || s > 1) {
      const auto o = h.options();
      const int64_t window = window_;
      if (any_full_) ctx.full_mask = ops::attention_mask(b, s, past, past + s, 0, 0, o);
      if (any_sliding_) {
        const int64_t first_key = std::max<int64_t>(0, past - window + 1);
        ctx.sliding_mask = ops::attention_mask(b, s, past, past + s - first_key, first_key, window, o);
      }
    }
    if (rotary_emb) std::tie(ctx.cos, ctx.sin) = rotary_emb->forward(h, position_ids);
    if (gemma_) h = ops::mul(h, std::sqrt(static_cast<double>(hidden_size_)));  // Gemma's normalizer
    run_layers(h, ctx);
    return norm(h);
  }

  std::shared_ptr<Embedding> embed_tokens;
  torch::nn::ModuleList layers;
  Norm norm;
  std::shared_ptr<RotaryEmbedding> rotary_emb;

 private:
  // A shapes-only trace runs each distinct layer once: a layer whose signature was
  // traced already gets a copy of that layer's nodes, and its output keeps its input's
  // shape. A 126-layer model then costs about one layer's tracing per distinct kind.
  void run_layers(Tensor& h, const StepContext& ctx) {
    trace::Recorder* rec = trace::active_recorder();
    const bool reuse = rec && !rec->timed() && !rec->capturing() && h.device().is_meta();
    std::map<std::string, std::pair<int, std::string>> traced;  // signature -> (node, path)
    for (const auto& module : *layers) {
      auto* layer = module->as<DecoderLayer>();
      if (!reuse) {
        h = layer->forward(h, ctx);
        continue;
      }
      const std::string sig = layer->signature();
      if (auto it = traced.find(sig); it != traced.end()) {
        rec->repeat_subtree(it->second.first, it->second.second, layer->path());
        continue;
      }
      h = layer->forward(h, ctx);
      traced[sig] = {rec->last_child(), layer->path()};
    }
  }

  // cache_position: torch.arange(past, past + s).
  static Tensor arange_positions(int64_t past, int64_t s, const at::TensorOptions& o) {
    return ops::arange(past, past + s, o.dtype(at::kLong));
  }
  int64_t hidden_size_, window_;
  bool gemma_, embedding_dropout_;
  double embedding_multiplier_;
  bool any_sliding_ = false, any_full_ = false;
};

// ---- the causal LM ----

class DecoderForCausalLM : public CausalLM {
 public:
  DecoderForCausalLM(const ModelConfig& c, const DecoderSpec& spec, const Init& init)
      : CausalLM(spec.prefix + "ForCausalLM"),
        config_(c),
        final_softcap_(c.decoder.final_logit_softcapping),
        logits_divisor_(c.decoder.logits_divisor) {
    model = register_module("model", std::make_shared<DecoderModel>(config_, spec, init));
    lm_head = c.decoder.tie_word_embeddings
                  ? std::make_shared<TorchLinear>(model->embed_tokens->weight)
                  : std::make_shared<TorchLinear>(c.hidden_size, c.vocab_size, false, init);
    register_module("lm_head", lm_head);
    if (logits_divisor_ > 0) {  // Phi-3-small: the tokenizer's unused ids never win
      const auto o = init.options.dtype(at::kBool);
      dummy_tokens_mask_ = init.meta() ? at::empty({c.vocab_size}, o) : at::zeros({c.vocab_size}, o);
      if (!init.meta())
        for (int64_t i : c.decoder.dummy_token_indices) dummy_tokens_mask_[i] = true;
      register_buffer("dummy_tokens_mask", dummy_tokens_mask_);
    }
  }

  KvCache new_cache(int64_t batch, int64_t capacity, const at::TensorOptions& options) const override {
    KvCache cache;
    cache.capacity = capacity;
    const auto shape = std::vector<int64_t>{batch, config_.decoder.num_kv_heads, capacity, config_.decoder.head_dim};
    for (int64_t i = 0; i < config_.num_layers; ++i) {
      cache.keys.push_back(options.device().is_meta() ? at::empty(shape, options) : at::zeros(shape, options));
      cache.values.push_back(options.device().is_meta() ? at::empty(shape, options) : at::zeros(shape, options));
    }
    return cache;
  }

  Tensor step(const Tensor& ids, KvCache& cache, const StepOptions& o) override {
    const int64_t s = ids.size(1), past = cache.length;
    auto node = scope([=, this, &cache] {
      KvCache replay = cache;  // a replay must not advance the real cache
      replay.length = past;
      step(ids, replay, o);
    });
    Tensor h = model->forward(ids, cache, o.eager);
    if (o.keep_logits > 0 && o.keep_logits < s) h = ops::slice(h, 1, s - o.keep_logits, s);
    Tensor logits = lm_head->forward(h);
    if (final_softcap_ > 0) logits = softcap(logits, final_softcap_);
    if (logits_divisor_ > 0) {  // Phi-3-small: float32 logits over muP's width multiplier
      logits = ops::div(ops::to_dtype(logits, at::kFloat), logits_divisor_);
      ops::masked_fill_(logits, dummy_tokens_mask_, std::numeric_limits<float>::lowest());
    }
    cache.length += s;
    return logits;
  }

  // Kept by value: the model's modules refer to it for as long as it lives.
  ModelConfig config_;
  std::shared_ptr<DecoderModel> model;
  std::shared_ptr<TorchLinear> lm_head;

 private:
  double final_softcap_, logits_divisor_;
  at::Tensor dummy_tokens_mask_;
};

}  // namespace

// ---- shared modules ----

TorchLinear::TorchLinear(int64_t in_features, int64_t out_features, bool with_bias, const Init& init)
    : HfModule("Linear", tree::NodeKind::kMl) {
  weight = add_param("weight", {out_features, in_features}, kInitStd, init);
  if (with_bias) bias = add_param("bias", {out_features}, 0, init);
}

TorchLinear::TorchLinear(at::Tensor tied_weight) : HfModule("Linear", tree::NodeKind::kMl), weight(std::move(tied_weight)) {}

Tensor TorchLinear::forward(const Tensor& x) {
  auto node = scope([=, this] { forward(x); });
  return ops::linear_op(x, weight, bias);
}

RMSNorm::RMSNorm(const std::string& cls, int64_t dim, double eps, bool one_plus_weight, const Init& init)
    : HfModule(cls, tree::NodeKind::kMl), eps_(eps), one_plus_(one_plus_weight) {
  weight = add_param("weight", {dim}, one_plus_weight ? 0 : -1, init);  // Gemma stores w of (1 + w)
}

Tensor RMSNorm::forward(const Tensor& x) {
  auto node = scope([=, this] { forward(x); });
  Tensor h = ops::to_dtype(x, at::kFloat);
  Tensor variance = ops::mean(ops::pow(h, 2), -1, /*keepdim=*/true);
  h = ops::mul(h, ops::rsqrt(ops::add(variance, eps_)));
  if (one_plus_) return ops::to_dtype(ops::mul(h, ops::add(ops::to_dtype(weight, at::kFloat), 1.0)), x.scalar_type());
  return ops::mul(weight, ops::to_dtype(h, x.scalar_type()));
}

namespace {
std::string activation_class(const std::string& act) {
  if (act == "silu") return "SiLU";
  if (act == "gelu_pytorch_tanh") return "PytorchGELUTanh";
  if (act == "gelu_new") return "NewGELUActivation";
  return "GELUActivation";
}
}  // namespace

Activation::Activation(const std::string& hidden_act)
    : HfModule(activation_class(hidden_act), tree::NodeKind::kMl), act_(hidden_act) {}

Tensor Activation::forward(const Tensor& x) {
  auto node = scope([=, this] { forward(x); });
  if (act_ == "silu") return ops::silu(x);
  if (act_ == "gelu_pytorch_tanh") return ops::gelu_tanh(x);
  return activation(act_, x);  // gelu (erf), gelu_new (the tanh formula op by op)
}

GatedMLP::GatedMLP(const std::string& cls, const ModelConfig& c, int64_t intermediate, bool fused, const Init& init,
                   const Names& n)
    : FeedForward(cls, tree::NodeKind::kModule) {
  const bool b = c.decoder.mlp_bias;
  if (fused) {
    gate_up_ = register_module("gate_up_proj", std::make_shared<TorchLinear>(c.hidden_size, 2 * intermediate, b, init));
  } else {
    gate_ = register_module(n.gate, std::make_shared<TorchLinear>(c.hidden_size, intermediate, b, init));
  }
  // Hugging Face registers down_proj before up_proj in Mixtral's experts (w1, w2, w3):
  // named_modules() order follows registration, so keep each family's order.
  if (n.down == "w2") {
    down_ = register_module(n.down, std::make_shared<TorchLinear>(intermediate, c.hidden_size, b, init));
    up_ = register_module(n.up, std::make_shared<TorchLinear>(c.hidden_size, intermediate, b, init));
  } else {
    if (!fused) up_ = register_module(n.up, std::make_shared<TorchLinear>(c.hidden_size, intermediate, b, init));
    down_ = register_module(n.down, std::make_shared<TorchLinear>(intermediate, c.hidden_size, b, init));
  }
  act_ = register_module(n.act, std::make_shared<Activation>(c.activation));
}

Tensor GatedMLP::forward(const Tensor& x) {
  auto node = scope([=, this] { forward(x); });
  if (gate_up_) {  // Phi-3: gate, up = gate_up_proj(x).chunk(2, dim=-1); down_proj(up * act(gate))
    Tensor gu = gate_up_->forward(x);
    const int64_t n = gu.size(-1) / 2;
    Tensor gate = ops::slice(gu, -1, 0, n), up = ops::slice(gu, -1, n, 2 * n);
    return down_->forward(ops::mul(up, act_->forward(gate)));
  }
  return down_->forward(ops::mul(act_->forward(gate_->forward(x)), up_->forward(x)));
}

Tensor CausalLM::forward(const Tensor& input_ids) {
  // A member, not a local: captured replays of this pass refer to it.
  plain_cache_ = new_cache(input_ids.size(0), input_ids.size(1), parameters().front().options());
  return step(input_ids, plain_cache_, plain_options);
}

std::shared_ptr<CausalLM> make_decoder(const ModelConfig& config, const Init& init, const DecoderSpec& spec) {
  return std::make_shared<DecoderForCausalLM>(config, spec, init);
}

}  // namespace irene::models
