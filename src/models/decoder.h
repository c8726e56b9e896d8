// The decoder LLMs as transformers v4.5x builds them: Llama and the families derived
// from it (Mistral, Qwen2, Qwen3, Gemma 2, Phi-3, Phi-3-small, StarCoder2, Mixtral, Qwen3-MoE).
// Each family's file (llama.cc, gemma2.cc, ...) says how it differs from Llama in a
// DecoderSpec and adds the modules only it has; this file holds what they share.
// Internal; includes libtorch.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "models/config.h"
#include "models/layers.h"
#include "models/transformer_model.h"

namespace irene::models {

// The KV cache of one generation: per layer, keys and values preallocated for the
// whole context ([batch, kv_heads, capacity, head_dim], as a static cache is), of which
// `length` positions are filled. Sliding-window layers read only the last window.
struct KvCache {
  std::vector<at::Tensor> keys, values;
  int64_t length = 0;
  int64_t capacity = 0;
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

// RMSNorm ([1 + weight] x for Gemma 2), computed in float32 as transformers does.
class RMSNorm : public HfModule {
 public:
  RMSNorm(const std::string& cls, int64_t dim, double eps, bool one_plus_weight, const Init& init);
  at::Tensor forward(const at::Tensor& x);
  at::Tensor weight;

 private:
  double eps_;
  bool one_plus_;
};

// The activation module a config's hidden_act names (SiLU, PytorchGELUTanh, ...).
class Activation : public HfModule {
 public:
  explicit Activation(const std::string& hidden_act);
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
           const Names& names);
  GatedMLP(const std::string& cls, const ModelConfig& c, int64_t intermediate, bool fused, const Init& init)
      : GatedMLP(cls, c, intermediate, fused, init, Names{}) {}
  at::Tensor forward(const at::Tensor& x) override;

 private:
  std::shared_ptr<TorchLinear> gate_, up_, gate_up_, down_;
  std::shared_ptr<Activation> act_;
};

// How one family differs from Llama.
struct DecoderSpec {
  std::string prefix;           // class names: <prefix>ForCausalLM, <prefix>Model, <prefix>DecoderLayer, ...
  bool fused_qkv = false;       // Phi-3: one qkv_proj
  bool qk_norm = false;         // Qwen3: q_norm and k_norm over each head
  bool gemma = false;           // Gemma 2: scaled embeddings, (1 + w) norms, four norms a layer, soft-capping
  bool layer_norm = false;      // StarCoder2: LayerNorm (with bias) instead of RMSNorm
  bool resid_dropouts = false;  // Phi-3: resid_attn_dropout and resid_mlp_dropout modules
  std::string ffn_name = "mlp";  // Mixtral: block_sparse_moe
  // Phi-3-small (its remote code, modeling_phi3_small.py): one query_key_value whose
  // heads come in groups (each key/value head's queries, then its key and value), an
  // output projection `dense`, a rotary embedding inside each attention, an
  // embedding_dropout module and the final norm named final_layernorm.
  bool grouped_qkv = false;
  bool rotary_in_attention = false;
  bool embedding_dropout = false;
  std::string final_norm_name = "norm";
  // Layer i's feed-forward block; LlamaMLP-style (<prefix>MLP) when empty.
  std::function<std::shared_ptr<FeedForward>(const ModelConfig&, int64_t layer, const Init&)> make_ffn;
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

}  // namespace irene::models
