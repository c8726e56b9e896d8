// The modules the decoder families share, in the order transformers computes them
// (RMSNorm, the MLPs, the decoder layer, the base model with its rotary tables and masks,
// the causal LM with its lm_head), with the switches the families need. Attention is in
// attention.cc, rotary embeddings in rotary.cc, the other token mixers in files of
// their own.
#include "models/decoder.h"

#include <cmath>
#include <limits>
#include <map>
#include <set>

#include "models/rotary.h"
#include "trace/recorder.h"

namespace irene::models {

namespace ops = trace::ops;
using at::Tensor;

namespace {

constexpr double kInitStd = 0.02;  // initializer_range, Hugging Face's default

// Gemma 2's tanh soft-capping: cap x tanh(x / cap).
Tensor softcap(const Tensor& x, double cap) { return ops::mul(ops::tanh(ops::div(x, cap)), cap); }

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
    const bool one_plus = spec.gemma || spec.one_plus_norms;
    n.rms = owner.register_module(
        name, std::make_shared<RMSNorm>(spec.norm_class(), dim, c.layer_norm_eps, one_plus, init));
  }
  return n;
}

// ---- the decoder layer of Llama and its descendants ----

class DecoderLayer : public DecoderLayerBase {
 public:
  DecoderLayer(const ModelConfig& c, const DecoderSpec& spec, int64_t layer, const Init& init)
      : DecoderLayerBase(spec.prefix + "DecoderLayer", tree::NodeKind::kModule), gemma_(spec.gemma), phi_(spec.resid_dropouts) {
    auto [name, mixer] = spec.make_mixer
                             ? spec.make_mixer(c, layer, init)
                             : std::make_pair(std::string("self_attn"),
                                              std::shared_ptr<TokenMixer>(std::make_shared<Attention>(
                                                  c, default_attention(c, spec, layer), init)));
    mixer_ = register_module(name, mixer);
    ffn = spec.make_ffn ? spec.make_ffn(c, layer, init)
                        : std::make_shared<GatedMLP>(spec.prefix + "MLP", c, c.intermediate_size, false, init,
                                                     GatedMLP::Names{}, spec.v5);
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

  Tensor forward(const Tensor& x, const StepContext& ctx) override {
    auto node = scope([=, this] { forward(x, ctx); });
    Tensor h = mixer_->forward(input_layernorm(x), ctx);
    if (gemma_) h = post_attention_layernorm(h);
    if (phi_) h = ops::dropout(h);
    h = ops::add(x, h);
    Tensor f = ffn->forward(gemma_ ? pre_feedforward_layernorm(h) : post_attention_layernorm(h));
    if (gemma_) f = post_feedforward_layernorm(f);
    if (phi_) f = ops::dropout(f);
    return ops::add(h, f);
  }
  const TokenMixer* mixer() const override { return mixer_.get(); }

  std::shared_ptr<FeedForward> ffn;
  Norm input_layernorm, post_attention_layernorm, pre_feedforward_layernorm, post_feedforward_layernorm;

 private:
  std::shared_ptr<TokenMixer> mixer_;
  bool gemma_, phi_;
};

// The embedding that multiplies by sqrt(hidden_size) itself (Gemma 3 and 4), the factor
// cast to the weights' dtype first as transformers does.
class ScaledEmbedding : public HfModule {
 public:
  ScaledEmbedding(const std::string& cls, int64_t vocab, int64_t dim, const Init& init)
      : HfModule(cls, tree::NodeKind::kMl), scale_(std::sqrt(static_cast<double>(dim))) {
    weight = add_param("weight", {vocab, dim}, kInitStd, init);
    if (init.options.dtype() == at::kBFloat16) scale_ = static_cast<double>(static_cast<c10::BFloat16>(scale_));
    if (init.options.dtype() == at::kHalf) scale_ = static_cast<double>(static_cast<c10::Half>(scale_));
  }
  Tensor forward(const Tensor& ids) {
    auto node = scope([=, this] { forward(ids); });
    return ops::mul(ops::embedding(weight, ids), scale_);
  }
  Tensor weight;

 private:
  double scale_;
};

// ---- the base model ----

class DecoderModel : public HfModule {
 public:
  DecoderModel(const ModelConfig& c, const DecoderSpec& spec, const Init& init)
      : HfModule(spec.model_cls.empty() ? spec.prefix + "Model" : spec.model_cls, tree::NodeKind::kModule),
        hidden_size_(c.hidden_size),
        gemma_(spec.gemma && spec.scaled_embedding_cls.empty()),
        embedding_dropout_(spec.embedding_dropout),
        embedding_multiplier_(c.decoder.embedding_multiplier) {
    if (spec.scaled_embedding_cls.empty()) {
      embed_tokens = register_module(spec.embed_name, std::make_shared<Embedding>(c.vocab_size, c.hidden_size, init));
      embedding_weight = embed_tokens->weight;
    } else {
      scaled_embed_ = register_module(spec.embed_name, std::make_shared<ScaledEmbedding>(spec.scaled_embedding_cls,
                                                                                         c.vocab_size, c.hidden_size, init));
      embedding_weight = scaled_embed_->weight;
    }
    if (embedding_dropout_) register_module("embedding_dropout", make_dropout());
    for (int64_t i = 0; i < c.num_layers; ++i) {
      std::shared_ptr<HfModule> layer = spec.make_layer ? spec.make_layer(c, i, init)
                                                        : std::make_shared<DecoderLayer>(c, spec, i, init);
      layers->push_back(layer);
      layer_list_.push_back(std::dynamic_pointer_cast<DecoderLayerBase>(layer));
    }
    register_module("layers", layers);
    norm = make_norm(*this, spec.final_norm_name, c, spec, c.hidden_size, init);
    // The rotary tables the layers read, made once per step.
    std::vector<RotaryEmbedding::Table> tables;
    std::set<std::string> names;
    for (int64_t i = 0; i < c.num_layers && !spec.rotary_in_attention; ++i) {
      const std::string name = rotary_table_of(c, spec, i);
      if (name.empty() || !names.insert(name).second) continue;
      const bool sliding = c.decoder.layer_sliding[i];
      const Rope& rope = sliding && c.decoder.rope_sliding ? *c.decoder.rope_sliding : c.decoder.rope;
      const int64_t head_dim = c.decoder.global_head_dim > 0 && !sliding ? c.decoder.global_head_dim : c.decoder.head_dim;
      tables.push_back({name, rope, head_dim});
    }
    if (!tables.empty())
      rotary_emb = register_module("rotary_emb", std::make_shared<RotaryEmbedding>(spec.prefix + "RotaryEmbedding", tables, init));
    for (const auto& l : layer_list_)
      if (l->mixer() && l->mixer()->span()) spans_.insert(*l->mixer()->span());
  }

  Tensor forward(const Tensor& ids, KvCache& cache, bool eager) {
    const int64_t b = ids.size(0), s = ids.size(1), past = cache.length;
    auto node = scope([=, this, &cache] {
      KvCache replay = cache;  // the positions this call saw, whatever the cache holds now
      replay.length = past;
      forward(ids, replay, eager);
    });
    Tensor h = scaled_embed_ ? scaled_embed_->forward(ids) : embed_tokens->forward(ids);
    if (embedding_dropout_) h = ops::dropout(h);
    if (embedding_multiplier_ > 0) h = ops::mul(h, embedding_multiplier_);  // Phi-3-small's muP
    Tensor position_ids = ops::unsqueeze(ops::arange(past, past + s, ids.options().dtype(at::kLong)), 0);
    StepContext ctx;
    ctx.position_ids = position_ids;
    ctx.cache = &cache;
    ctx.past = past;
    ctx.eager = eager;
    // Eager attention always adds a mask; sdpa needs one only when a step holds several
    // queries (the prefill), since a single new token may see every key it is given.
    if (eager || s > 1) {
      for (const AttentionSpan& span : spans_) {
        const int64_t first_key = span.first_key(past);
        ctx.masks[span] = ops::attention_mask(b, s, past, past + s - first_key, first_key, span.window, span.chunk,
                                              h.options());
      }
    }
    if (rotary_emb) {
      auto tables = rotary_emb->forward(h, position_ids);
      for (size_t i = 0; i < tables.size(); ++i) ctx.rotary[rotary_emb->tables()[i].name] = tables[i];
    }
    if (gemma_) h = ops::mul(h, std::sqrt(static_cast<double>(hidden_size_)));  // Gemma 2's normalizer
    run_layers(h, ctx);
    return norm(h);
  }

  std::shared_ptr<Embedding> embed_tokens;
  Tensor embedding_weight;  // lm_head's when the embeddings are tied
  torch::nn::ModuleList layers;
  Norm norm;
  std::shared_ptr<RotaryEmbedding> rotary_emb;
  const std::vector<std::shared_ptr<DecoderLayerBase>>& layer_list() const { return layer_list_; }

 private:
  // A shapes-only trace runs each distinct layer once: a layer whose signature was
  // traced already gets a copy of that layer's nodes, and its output keeps its input's
  // shape. A 126-layer model then costs about one layer's tracing per distinct kind.
  void run_layers(Tensor& h, const StepContext& ctx) {
    trace::Recorder* rec = trace::active_recorder();
    const bool reuse = rec && !rec->timed() && !rec->capturing() && h.device().is_meta();
    std::map<std::string, std::pair<int, std::string>> traced;  // signature -> (node, path)
    for (const auto& layer : layer_list_) {
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

  int64_t hidden_size_;
  bool gemma_, embedding_dropout_;
  double embedding_multiplier_;
  std::shared_ptr<ScaledEmbedding> scaled_embed_;
  std::vector<std::shared_ptr<DecoderLayerBase>> layer_list_;
  std::set<AttentionSpan> spans_;
};

// ---- the causal LM ----

class DecoderForCausalLM : public CausalLM {
 public:
  DecoderForCausalLM(const ModelConfig& c, const DecoderSpec& spec, const Init& init)
      : CausalLM(spec.causal_lm_cls.empty() ? spec.prefix + "ForCausalLM" : spec.causal_lm_cls),
        config_(c),
        final_softcap_(c.decoder.final_logit_softcapping),
        logits_divisor_(c.decoder.logits_divisor) {
    model = register_module(spec.base_name, std::make_shared<DecoderModel>(config_, spec, init));
    lm_head = c.decoder.tie_word_embeddings ? std::make_shared<TorchLinear>(model->embedding_weight)
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
    for (const auto& layer : model->layer_list())
      cache.layers.push_back(layer->mixer() ? layer->mixer()->new_cache(batch, capacity, options) : LayerCache{});
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

std::string activation_class(const std::string& act, bool v5) {
  if (act == "silu") return "SiLU";
  if (act == "gelu_pytorch_tanh") return v5 ? "GELUTanh" : "PytorchGELUTanh";
  if (act == "gelu_new") return "NewGELUActivation";
  if (act == "relu2") return "ReLUSquaredActivation";
  return "GELUActivation";
}

}  // namespace

// ---- what the families share ----

std::string rotary_table_of(const ModelConfig& c, const DecoderSpec& spec, int64_t layer) {
  const DecoderConfig& d = c.decoder;
  if (!d.layer_is(layer, Mixer::kAttention) && !d.layer_is(layer, Mixer::kLatentAttention)) return "";
  if (d.layer_nope[layer]) return "";
  // transformers v5 names the tables of a model with several after the layer types.
  if (spec.v5 && d.rope_sliding) return d.layer_sliding[layer] ? "sliding_attention" : "full_attention";
  return "rotary_emb";
}

AttentionOptions default_attention(const ModelConfig& c, const DecoderSpec& spec, int64_t layer) {
  const DecoderConfig& d = c.decoder;
  AttentionOptions o;
  o.cls = spec.prefix + "Attention";
  o.layer = layer;
  o.heads = c.num_heads;
  o.kv_heads = d.num_kv_heads;
  o.head_dim = d.head_dim;
  if (d.layer_sliding[layer]) o.span.window = d.sliding_window;
  if (d.layer_chunked[layer]) o.span.chunk = d.attention_chunk_size;
  o.scaling = spec.gemma                ? std::pow(d.query_pre_attn_scalar, -0.5)
              : d.attention_scale > 0 ? d.attention_scale
                                      : std::pow(static_cast<double>(d.head_dim), -0.5);
  o.softcap = d.attn_logit_softcapping;
  o.qkv_bias = d.attention_bias;
  o.o_bias = d.o_proj_bias;
  o.projections = spec.grouped_qkv ? AttentionOptions::Projections::kGrouped
                  : spec.fused_qkv ? AttentionOptions::Projections::kFused
                                   : AttentionOptions::Projections::kSeparate;
  if (spec.grouped_qkv) o.o_proj_name = "dense";
  if (spec.qk_norm) o.qk_norm = AttentionOptions::QkNorm::kBeforeRotary;
  o.norm_cls = spec.norm_class();
  o.norm_scale = spec.gemma || spec.one_plus_norms ? RMSNorm::Scale::kOnePlusWeight : RMSNorm::Scale::kWeight;
  o.norm_eps = c.layer_norm_eps;
  o.rotary = spec.rotary_in_attention ? "rotary_emb" : rotary_table_of(c, spec, layer);
  o.own_rotary = spec.rotary_in_attention;
  return o;
}

std::string DecoderLayerBase::signature() const {
  const TokenMixer* m = mixer();
  return name() + "|" + std::to_string(num_parameters()) + "|" + (m ? m->signature() : std::string("-"));
}

TorchLinear::TorchLinear(int64_t in_features, int64_t out_features, bool with_bias, const Init& init)
    : HfModule("Linear", tree::NodeKind::kMl) {
  weight = add_param("weight", {out_features, in_features}, kInitStd, init);
  if (with_bias) bias = add_param("bias", {out_features}, 0, init);
}

TorchLinear::TorchLinear(at::Tensor tied_weight) : HfModule("Linear", tree::NodeKind::kMl), weight(std::move(tied_weight)) {}

Tensor TorchLinear::forward(const Tensor& x) {
  auto node = scope([=, this] { forward(x); });
  std::optional<double> stored;
  if (const WeightFormat* f = weight_format()) stored = f->bytes(weight.size(0), weight.size(1));
  return ops::linear_op(x, weight, bias, stored);
}

RMSNorm::RMSNorm(const std::string& cls, int64_t dim, double eps, Scale scale, const Init& init)
    : HfModule(cls, tree::NodeKind::kMl), eps_(eps), scale_(scale) {
  if (scale == Scale::kWeight) weight = add_param("weight", {dim}, -1, init);
  if (scale == Scale::kOnePlusWeight) weight = add_param("weight", {dim}, 0, init);  // Gemma stores w of (1 + w)
}

Tensor RMSNorm::forward(const Tensor& x) {
  auto node = scope([=, this] { forward(x); });
  Tensor h = ops::to_dtype(x, at::kFloat);
  Tensor variance = ops::mean(ops::pow(h, 2), -1, /*keepdim=*/true);
  h = ops::mul(h, ops::rsqrt(ops::add(variance, eps_)));
  if (scale_ == Scale::kNone) return ops::to_dtype(h, x.scalar_type());
  if (scale_ == Scale::kOnePlusWeight)
    return ops::to_dtype(ops::mul(h, ops::add(ops::to_dtype(weight, at::kFloat), 1.0)), x.scalar_type());
  return ops::mul(weight, ops::to_dtype(h, x.scalar_type()));
}

Activation::Activation(const std::string& hidden_act, bool v5_names)
    : HfModule(activation_class(hidden_act, v5_names), tree::NodeKind::kMl), act_(hidden_act) {}

Tensor Activation::forward(const Tensor& x) {
  auto node = scope([=, this] { forward(x); });
  if (act_ == "silu") return ops::silu(x);
  if (act_ == "gelu_pytorch_tanh") return ops::gelu_tanh(x);
  if (act_ == "relu2") return ops::square(ops::relu(x));
  return activation(act_, x);  // gelu (erf), gelu_new (the tanh formula op by op)
}

GatedMLP::GatedMLP(const std::string& cls, const ModelConfig& c, int64_t intermediate, bool fused, const Init& init,
                   const Names& n, bool v5_names)
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
  act_ = register_module(n.act, std::make_shared<Activation>(c.activation == "relu2" ? "silu" : c.activation, v5_names));
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

PlainMLP::PlainMLP(const std::string& cls, const ModelConfig& c, int64_t in, int64_t intermediate, const Init& init,
                   bool v5_names)
    : FeedForward(cls, tree::NodeKind::kModule) {
  const bool b = c.decoder.mlp_bias;
  up_ = register_module("up_proj", std::make_shared<TorchLinear>(in, intermediate, b, init));
  down_ = register_module("down_proj", std::make_shared<TorchLinear>(intermediate, in, b, init));
  act_ = register_module("act_fn", std::make_shared<Activation>(c.activation, v5_names));
}

Tensor PlainMLP::forward(const Tensor& x) {
  auto node = scope([=, this] { forward(x); });
  return down_->forward(act_->forward(up_->forward(x)));
}

Tensor CausalLM::forward(const Tensor& input_ids) {
  // A member, not a local: captured replays of this pass refer to it.
  plain_cache_ = new_cache(input_ids.size(0), input_ids.size(1), parameters().front().options());
  return step(input_ids, plain_cache_, plain_options);
}

std::shared_ptr<CausalLM> make_decoder(const ModelConfig& config, const Init& init, const DecoderSpec& spec) {
  return std::make_shared<DecoderForCausalLM>(config, spec, init);
}

std::shared_ptr<CausalLM> make_causal_lm(const ModelConfig& c, const Init& init) {
  using Factory = std::shared_ptr<CausalLM> (*)(const ModelConfig&, const Init&);
  static const std::map<std::string, Factory> kFamilies = {
      {"llama", make_llama},           {"mistral", make_mistral},         {"qwen2", make_qwen2},
      {"qwen3", make_qwen3},           {"gemma2", make_gemma2},           {"phi3", make_phi3},
      {"phi3small", make_phi3small},   {"starcoder2", make_starcoder2},   {"mixtral", make_mixtral},
      {"qwen3_moe", make_qwen3_moe},   {"gpt_oss", make_gpt_oss},         {"llama4_text", make_llama4},
      {"gemma3_text", make_gemma3},    {"gemma4_text", make_gemma4},      {"deepseek_v3", make_deepseek_v3},
      {"deepseek_v32", make_deepseek_v32}, {"glm_moe_dsa", make_glm_moe_dsa}, {"nemotron_h", make_nemotron_h},
      {"qwen3_next", make_qwen3_next}, {"qwen3_5_text", make_qwen3_5},    {"qwen3_5_moe_text", make_qwen3_5_moe}};
  auto it = kFamilies.find(c.model_type);
  return it == kFamilies.end() ? nullptr : it->second(c, init);
}

}  // namespace irene::models
