// The decoder LLMs as transformers builds them: Llama and the families derived from it
// (Mistral, Qwen2, Qwen3, Gemma 2, Phi-3, Phi-3-small, StarCoder2, Mixtral, Qwen3-MoE)
// in the layout of transformers v4.5x, and the families of 2025-26 (gpt-oss, Llama 4,
// Gemma 3 and 4, DeepSeek-V3 and V3.2, GLM-5, Nemotron-H, Qwen3-Next, Qwen3.5) in the
// layout of transformers v5 (fused experts, one rotary module per model). Each family's
// file (llama.cc, gemma2.cc, ...) says how it differs in a DecoderSpec and adds the
// modules only it has; this file holds what they share: a layer is a token mixer
// (attention, latent attention, Mamba-2, gated DeltaNet) and a feed-forward block,
// between norms and residuals. Internal; includes libtorch.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "models/config.h"
#include "models/layers.h"
#include "models/transformer_model.h"

namespace irene::models {

// One layer's part of a generation's cache: an attention layer's keys and values
// ([batch, kv_heads, capacity, head_dim], preallocated for the whole context as a static
// cache is), MLA's compressed latent (in `keys`), or the constant-size state of a
// Mamba-2 or DeltaNet layer (its convolution and recurrent states), which does not grow
// with the context. The sparse-attention indexer keeps its keys in `state` too.
struct LayerCache {
  at::Tensor keys, values;
  std::vector<at::Tensor> state;
};

// The cache of one generation: a part per layer, `length` positions filled of `capacity`.
struct KvCache {
  std::vector<LayerCache> layers;
  int64_t length = 0;
  int64_t capacity = 0;
};

// Which keys an attention's queries see: every earlier position, the last `window`
// (sliding), or those of the query's own chunk of `chunk` positions (Llama 4).
struct AttentionSpan {
  int64_t window = 0, chunk = 0;
  bool operator<(const AttentionSpan& o) const { return window != o.window ? window < o.window : chunk < o.chunk; }
  // The first position a query at `position` may see.
  int64_t first_key(int64_t position) const;
};

// A rotary table pair [1, s, rotary_dim], in the activations' dtype.
struct RotaryTables {
  at::Tensor cos, sin;
};

// What every layer of one step reads; the base model builds it once per step.
struct StepContext {
  std::map<std::string, RotaryTables> rotary;  // by table name (see RotaryEmbedding)
  at::Tensor position_ids;                      // [1, s]
  std::map<AttentionSpan, at::Tensor> masks;    // additive masks where a step needs them
  KvCache* cache = nullptr;
  int64_t past = 0;  // positions already in the cache
  bool eager = false;
};

// torch.nn.Linear as torch 2 runs it (one aten::linear); no bias unless asked. A tied
// layer (lm_head with tie_word_embeddings) reads another module's weight and owns none,
// so parameters are counted once, as Hugging Face's num_parameters() counts them.
class TorchLinear : public HfModule {
 public:
  TorchLinear(int64_t in_features, int64_t out_features, bool bias, const Init& init);
  TorchLinear(at::Tensor tied_weight);
  at::Tensor forward(const at::Tensor& x);
  at::Tensor weight, bias;
};

// RMSNorm computed in float32 as transformers does: x / rms(x), times the weight, or
// (1 + weight) for Gemma 2/3 and Qwen3-Next, or nothing (Gemma 4's value norm, Llama 4's
// qk norm).
class RMSNorm : public HfModule {
 public:
  enum class Scale { kWeight, kOnePlusWeight, kNone };
  RMSNorm(const std::string& cls, int64_t dim, double eps, Scale scale, const Init& init);
  RMSNorm(const std::string& cls, int64_t dim, double eps, bool one_plus_weight, const Init& init)
      : RMSNorm(cls, dim, eps, one_plus_weight ? Scale::kOnePlusWeight : Scale::kWeight, init) {}
  at::Tensor forward(const at::Tensor& x);
  at::Tensor weight;

 private:
  double eps_;
  Scale scale_;
};

// The activation module a config's hidden_act names (SiLU, PytorchGELUTanh, ...).
// `v5_names`: the class names of transformers v5 (GELUTanh for gelu_pytorch_tanh).
class Activation : public HfModule {
 public:
  explicit Activation(const std::string& hidden_act, bool v5_names = false);
  at::Tensor forward(const at::Tensor& x);

 private:
  std::string act_;
};

// A layer's feed-forward block: an MLP, or a sparse mixture of experts.
class FeedForward : public HfModule {
 public:
  using HfModule::HfModule;
  virtual at::Tensor forward(const at::Tensor& x) = 0;
};

// down_proj(act_fn(gate_proj(x)) * up_proj(x)): LlamaMLP and its descendants. `fused`:
// Phi-3's gate_up_proj holds gate and up in one matrix; `names` renames the three
// projections (Mixtral's experts call them w1, w3, w2).
class GatedMLP : public FeedForward {
 public:
  struct Names {
    std::string gate = "gate_proj", up = "up_proj", down = "down_proj", act = "act_fn";
  };
  GatedMLP(const std::string& cls, const ModelConfig& c, int64_t intermediate, bool fused, const Init& init,
           const Names& names, bool v5_names = false);
  GatedMLP(const std::string& cls, const ModelConfig& c, int64_t intermediate, bool fused, const Init& init)
      : GatedMLP(cls, c, intermediate, fused, init, Names{}) {}
  at::Tensor forward(const at::Tensor& x) override;

 private:
  std::shared_ptr<TorchLinear> gate_, up_, gate_up_, down_;
  std::shared_ptr<Activation> act_;
};

// down_proj(act_fn(up_proj(x))): the ungated MLP (Nemotron-H's squared ReLU).
class PlainMLP : public FeedForward {
 public:
  PlainMLP(const std::string& cls, const ModelConfig& c, int64_t in, int64_t intermediate, const Init& init,
           bool v5_names = true);
  at::Tensor forward(const at::Tensor& x) override;

 private:
  std::shared_ptr<TorchLinear> up_, down_;
  std::shared_ptr<Activation> act_;
};

// What mixes the tokens of one layer: attention over a KV cache, latent attention over
// a compressed cache, or a recurrent mixer over a constant state.
class TokenMixer : public HfModule {
 public:
  using HfModule::HfModule;
  virtual at::Tensor forward(const at::Tensor& x, const StepContext& ctx) = 0;
  // This layer's part of an empty cache for `batch` sequences of up to `capacity` positions.
  virtual LayerCache new_cache(int64_t batch, int64_t capacity, const at::TensorOptions& options) const = 0;
  // The keys its queries see, when it needs the model's mask for them.
  virtual std::optional<AttentionSpan> span() const { return std::nullopt; }
  // Two mixers with equal signatures and parameter counts trace alike.
  virtual std::string signature() const { return name(); }
};

// Softmax attention with grouped key/value heads over a KV cache, and the switches
// the families need: fused or grouped projections, q/k norms, partial or interleaved
// rotary (or none), sliding or chunked spans, gpt-oss's sinks, Qwen3-Next's output gate,
// Llama 4's NoPE temperature, Gemma 4's value norm and keys reused as values.
struct AttentionOptions {
  std::string cls;  // "LlamaAttention"
  int64_t layer = 0;
  int64_t heads = 0, kv_heads = 0, head_dim = 0;
  AttentionSpan span;
  double scaling = 0;   // of the scores
  double softcap = 0;   // tanh soft-capping of the scores (Gemma 2); 0: none
  bool qkv_bias = false, o_bias = false;
  enum class Projections { kSeparate, kFused, kGrouped } projections = Projections::kSeparate;
  std::string o_proj_name = "o_proj";
  // q_norm and k_norm over each head: before the rotary, or Llama 4's weightless one after.
  enum class QkNorm { kNone, kBeforeRotary, kAfterRotary } qk_norm = QkNorm::kNone;
  std::string norm_cls;  // "Qwen3RMSNorm", "Llama4TextL2Norm"
  RMSNorm::Scale norm_scale = RMSNorm::Scale::kWeight;
  double norm_eps = 1e-6;
  // The rotary table the layer reads (StepContext::rotary); "" for none (NoPE). With
  // own_rotary the layer holds the rotary module itself (Phi-3-small's rotary_emb).
  std::string rotary;
  bool own_rotary = false;
  int64_t rotary_dim = 0;          // the leading dimensions of each head that rotate (0: all)
  bool rotary_interleaved = false; // pairs (2i, 2i + 1) rotate together (Llama 4, DeepSeek)
  bool sinks = false;              // gpt-oss: a learned logit per head joins each softmax
  bool output_gate = false;        // Qwen3-Next: q_proj also yields a sigmoid gate on the output
  bool temperature_tuning = false; // Llama 4 NoPE layers: queries scaled up with the position
  double floor_scale = 8192, attn_scale = 0.1;
  bool value_norm = false;         // Gemma 4: a weightless RMSNorm on the values
  bool keys_as_values = false;     // Gemma 4's full layers: no v_proj, values from k_proj
};

class Attention : public TokenMixer {
 public:
  Attention(const ModelConfig& c, const AttentionOptions& o, const Init& init);
  at::Tensor forward(const at::Tensor& x, const StepContext& ctx) override;
  LayerCache new_cache(int64_t batch, int64_t capacity, const at::TensorOptions& options) const override;
  std::optional<AttentionSpan> span() const override { return o_.span; }
  std::string signature() const override;

 private:
  AttentionOptions o_;
  std::shared_ptr<TorchLinear> q_proj_, k_proj_, v_proj_, qkv_proj_, o_proj_;
  std::shared_ptr<RMSNorm> q_norm_, k_norm_, v_norm_;
  std::shared_ptr<HfModule> rotary_;
  at::Tensor sinks_;
};

// How one family differs from Llama.
struct DecoderSpec {
  std::string prefix;           // class names: <prefix>ForCausalLM, <prefix>Model, <prefix>DecoderLayer, ...
  bool fused_qkv = false;       // Phi-3: one qkv_proj
  bool qk_norm = false;         // Qwen3: q_norm and k_norm over each head
  bool gemma = false;           // Gemma 2: scaled embeddings, (1 + w) norms, four norms a layer, soft-capping
  bool layer_norm = false;      // StarCoder2: LayerNorm (with bias) instead of RMSNorm
  bool resid_dropouts = false;  // Phi-3: resid_attn_dropout and resid_mlp_dropout modules
  std::string ffn_name = "mlp";  // Mixtral: block_sparse_moe; Llama 4: feed_forward
  // Phi-3-small (its remote code, modeling_phi3_small.py): one query_key_value whose
  // heads come in groups (each key/value head's queries, then its key and value), an
  // output projection `dense`, a rotary embedding inside each attention, an
  // embedding_dropout module and the final norm named final_layernorm.
  bool grouped_qkv = false;
  bool rotary_in_attention = false;
  bool embedding_dropout = false;
  std::string final_norm_name = "norm";
  // Norms: (1 + w) RMSNorms without Gemma 2's other habits (Gemma 3, Qwen3-Next, Qwen3.5).
  bool one_plus_norms = false;
  // The embedding multiplies by sqrt(hidden_size) as its own module of this class
  // (Gemma3TextScaledWordEmbedding), in the weights' dtype; "" for a plain Embedding.
  std::string scaled_embedding_cls;
  // The class names and module layout of transformers v5 (GELUTanh, one rotary module
  // whose tables are named after the layer types).
  bool v5 = false;
  // Layer i's feed-forward block; LlamaMLP-style (<prefix>MLP) when empty.
  std::function<std::shared_ptr<FeedForward>(const ModelConfig&, int64_t layer, const Init&)> make_ffn;
  // Layer i's token mixer and its name; a Llama-style attention ("self_attn") when empty.
  std::function<std::pair<std::string, std::shared_ptr<TokenMixer>>(const ModelConfig&, int64_t layer, const Init&)>
      make_mixer;
  // Layer i whole, for families whose layers are not Llama's (Gemma 4, Nemotron-H).
  std::function<std::shared_ptr<HfModule>(const ModelConfig&, int64_t layer, const Init&)> make_layer;
  // Base-model names: Nemotron-H's backbone calls them embeddings and norm_f.
  std::string base_name = "model", embed_name = "embed_tokens";
  // Class names where a family's differ from <prefix>ForCausalLM, <prefix>Model and
  // <prefix>RMSNorm (Gemma 3: Gemma3ForCausalLM over Gemma3TextModel).
  std::string causal_lm_cls, model_cls, norm_cls;
  std::string norm_class() const { return norm_cls.empty() ? prefix + "RMSNorm" : norm_cls; }
};

// The attention a layer of this family has unless its spec says otherwise.
AttentionOptions default_attention(const ModelConfig& c, const DecoderSpec& spec, int64_t layer);
// The name of the rotary table for layer `layer` (StepContext::rotary).
std::string rotary_table_of(const ModelConfig& c, const DecoderSpec& spec, int64_t layer);

// A decoder layer: its token mixer and, in most families, a feed-forward block.
class DecoderLayerBase : public HfModule {
 public:
  using HfModule::HfModule;
  virtual at::Tensor forward(const at::Tensor& x, const StepContext& ctx) = 0;
  virtual const TokenMixer* mixer() const = 0;  // nullptr: a layer without one (Nemotron-H's MLP)
  // Two layers with equal signatures trace to equal subtrees (bar their paths).
  virtual std::string signature() const;
};

// What one forward step of a causal LM needs besides its input ids.
struct StepOptions {
  bool eager = false;       // eager attention (materialised scores) instead of sdpa
  int64_t keep_logits = 0;  // compute logits for the last N positions only; 0: all
};

// A *ForCausalLM model: the base model plus lm_head, run one step at a time over a KV
// cache (a prefill over the prompt, then one token per sequence per decode step).
class CausalLM : public TransformerModel {
 public:
  using TransformerModel::TransformerModel;
  // An empty cache for `batch` sequences of up to `capacity` positions.
  virtual KvCache new_cache(int64_t batch, int64_t capacity, const at::TensorOptions& options) const = 0;
  // One step: `ids` [batch, tokens] continue the sequences in `cache` (which grows).
  virtual at::Tensor step(const at::Tensor& ids, KvCache& cache, const StepOptions& options) = 0;
  // A plain forward pass (transformers' model(input_ids)): a fresh cache, all logits.
  at::Tensor forward(const at::Tensor& input_ids) override;
  StepOptions plain_options;  // attention used by forward()

 private:
  KvCache plain_cache_;
};

std::shared_ptr<CausalLM> make_decoder(const ModelConfig& config, const Init& init, const DecoderSpec& spec);

// The mixers of the 2025-26 families (one file each: latent_attention.cc, mamba2.cc,
// gated_deltanet.cc). `prefix` names their classes (DeepseekV3Attention, ...).
std::shared_ptr<TokenMixer> make_latent_attention(const ModelConfig& c, const std::string& prefix, int64_t layer,
                                                  const Init& init);
std::shared_ptr<TokenMixer> make_mamba2_mixer(const ModelConfig& c, const std::string& prefix, int64_t layer,
                                              const Init& init);
// `split_projections`: Qwen3.5's in_proj_qkv / in_proj_z / in_proj_b / in_proj_a instead
// of Qwen3-Next's in_proj_qkvz / in_proj_ba.
std::shared_ptr<TokenMixer> make_gated_deltanet(const ModelConfig& c, const std::string& prefix, int64_t layer,
                                                bool split_projections, const Init& init);

// The families (one file each).
std::shared_ptr<CausalLM> make_llama(const ModelConfig& config, const Init& init);
std::shared_ptr<CausalLM> make_mistral(const ModelConfig& config, const Init& init);
std::shared_ptr<CausalLM> make_qwen2(const ModelConfig& config, const Init& init);
std::shared_ptr<CausalLM> make_qwen3(const ModelConfig& config, const Init& init);
std::shared_ptr<CausalLM> make_gemma2(const ModelConfig& config, const Init& init);
std::shared_ptr<CausalLM> make_phi3(const ModelConfig& config, const Init& init);
std::shared_ptr<CausalLM> make_phi3small(const ModelConfig& config, const Init& init);
std::shared_ptr<CausalLM> make_starcoder2(const ModelConfig& config, const Init& init);
std::shared_ptr<CausalLM> make_mixtral(const ModelConfig& config, const Init& init);
std::shared_ptr<CausalLM> make_qwen3_moe(const ModelConfig& config, const Init& init);
std::shared_ptr<CausalLM> make_gpt_oss(const ModelConfig& config, const Init& init);
std::shared_ptr<CausalLM> make_llama4(const ModelConfig& config, const Init& init);
std::shared_ptr<CausalLM> make_gemma3(const ModelConfig& config, const Init& init);
std::shared_ptr<CausalLM> make_gemma4(const ModelConfig& config, const Init& init);
std::shared_ptr<CausalLM> make_deepseek_v3(const ModelConfig& config, const Init& init);
std::shared_ptr<CausalLM> make_deepseek_v32(const ModelConfig& config, const Init& init);
std::shared_ptr<CausalLM> make_glm_moe_dsa(const ModelConfig& config, const Init& init);
std::shared_ptr<CausalLM> make_nemotron_h(const ModelConfig& config, const Init& init);
std::shared_ptr<CausalLM> make_qwen3_next(const ModelConfig& config, const Init& init);
std::shared_ptr<CausalLM> make_qwen3_5(const ModelConfig& config, const Init& init);
std::shared_ptr<CausalLM> make_qwen3_5_moe(const ModelConfig& config, const Init& init);

// Builds the family `config.model_type` names; nullptr for the 2019 families.
std::shared_ptr<CausalLM> make_causal_lm(const ModelConfig& config, const Init& init);

}  // namespace irene::models
