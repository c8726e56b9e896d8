// ModelConfig: a Hugging Face config.json read into one typed struct, whatever the
// family spells its keys (hidden_size / dim / n_embd ...). Defaults are Hugging Face's.
// No libtorch here.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace irene::models {

// rope_scaling (rope_parameters in transformers v5) of a decoder's config.json: how
// rotary frequencies are stretched for contexts longer than the model was trained on.
// The formulas are transformers' modeling_rope_utils.py (see models/rotary.cc).
struct RopeScaling {
  // "default" (none), "linear", "llama3", "yarn", "longrope", "dynamic" (NTK),
  // "proportional" (Gemma 4: a partial rotation whose exponents count the whole head)
  std::string type = "default";
  double factor = 1.0;
  double low_freq_factor = 1.0;    // llama3
  double high_freq_factor = 4.0;   // llama3
  int64_t original_max_position_embeddings = 8192;  // llama3, yarn, longrope, dynamic
  double beta_fast = 32, beta_slow = 1;              // yarn
  double mscale = 0, mscale_all_dim = 0;             // yarn; 0: absent
  bool truncate = true;                              // yarn: floor/ceil the correction range
  double attention_factor = 0;                       // yarn, longrope: cos and sin scale; 0: derived
  std::vector<double> short_factor, long_factor;     // longrope, one per rotated frequency
};

// One rotary position embedding: its base, its stretching and how much of a head rotates.
struct Rope {
  double theta = 10000.0;
  RopeScaling scaling;
  double partial_rotary_factor = 1.0;  // Qwen3-Next, Gemma 4's full layers: 0.25
};

// What mixes the tokens of one decoder layer.
enum class Mixer {
  kAttention,        // softmax attention over a KV cache (full, sliding, chunked)
  kLatentAttention,  // DeepSeek's multi-head latent attention over a compressed cache (MLA)
  kMamba2,           // a Mamba-2 state-space mixer: a constant state instead of a cache
  kGatedDeltaNet,    // gated DeltaNet linear attention: a constant state
  kNone,             // none (Nemotron-H's MLP and MoE layers)
};
const char* mixer_name(Mixer m);  // "attention", "latent_attention", "mamba2", "gated_deltanet", "none"

// Multi-head latent attention (deepseek_v3, deepseek_v32, glm_moe_dsa) and the sparse
// attention indexer of DeepSeek-V3.2 and GLM-5.
struct LatentAttentionConfig {
  int64_t q_lora_rank = 0;  // 0: a plain q_proj
  int64_t kv_lora_rank = 0;
  int64_t qk_nope_head_dim = 0, qk_rope_head_dim = 0, v_head_dim = 0;
  bool rope_interleave = true;
  // The indexer (index_topk > 0): index_n_heads heads of index_head_dim score the whole
  // context; attention reads only the index_topk best keys.
  int64_t index_n_heads = 0, index_head_dim = 0, index_topk = 0;
  bool indexer_rope_interleave = false;
  int64_t qk_head_dim() const { return qk_nope_head_dim + qk_rope_head_dim; }
};

// Mamba-2 mixers (nemotron_h).
struct Mamba2Config {
  int64_t num_heads = 0, head_dim = 0, n_groups = 1, state_size = 0, conv_kernel = 4, chunk_size = 128;
  double time_step_min = 0, time_step_max = 0;  // time_step_limit; max may be infinite
  bool conv_bias = true, proj_bias = false;
  std::string state_dtype = "float32";  // the SSM state's element type (mamba_ssm_cache_dtype)
  int64_t intermediate() const { return num_heads * head_dim; }
  int64_t conv_dim() const { return intermediate() + 2 * n_groups * state_size; }
};

// Gated DeltaNet linear attention (qwen3_next, qwen3_5, qwen3_5_moe).
struct GatedDeltaNetConfig {
  int64_t num_k_heads = 0, num_v_heads = 0, k_head_dim = 0, v_head_dim = 0, conv_kernel = 4;
  int64_t key_dim() const { return num_k_heads * k_head_dim; }
  int64_t value_dim() const { return num_v_heads * v_head_dim; }
  int64_t conv_dim() const { return 2 * key_dim() + value_dim(); }
};

// How a checkpoint stores a weight: its element type, and the scales that come with
// quantised ones (quantization_config, or ModelOpt's hf_quant_config.json).
struct WeightFormat {
  std::string dtype;        // "bfloat16", "fp8_e4m3", "mxfp4", "nvfp4", "int4"; "" = the run's dtype
  double bits = 0;          // per stored value; 0 = the run's element size
  int64_t block_rows = 1;   // scales per block of block_rows x block_cols values
  int64_t block_cols = 0;   // 0: one scale per tensor
  double scale_bits = 0;    // per scale
  double tensor_scale_bytes = 0;  // per-tensor scales besides the block ones (NVFP4's global scales)
  bool quantized() const { return bits > 0; }
  // Bytes of a [rows, cols] weight stored so (each of `count` matrices), scales included.
  double bytes(int64_t rows, int64_t cols, int64_t count = 1) const;
  // "fp8_e4m3 (128x128 blocks)", "nvfp4 (groups of 16)".
  std::string describe() const;
};

// quantization_config: which modules are stored how. Module names in the lists follow
// the config: a plain name matches whole path components ("lm_head", "mlp.gate"), a name
// with * matches like fnmatch, "re:..." is a regular expression (compressed-tensors).
struct Quantization {
  std::string method;  // "" (none), "fp8", "mxfp4", "modelopt", "compressed-tensors", "fbgemm_fp8"
  // The formats of the quantised layers: the first group whose targets name a layer, else
  // the group without targets (every Linear).
  struct Group {
    WeightFormat format;
    std::vector<std::string> targets;  // empty: every Linear layer not excluded
  };
  std::vector<Group> groups;
  std::vector<std::string> excluded;  // kept in the checkpoint's dtype
  bool experts_only = false;          // mxfp4 (gpt-oss): only the experts are quantised
  std::string kv_cache_dtype;         // "fp8_e4m3" where the checkpoint says so; "" = the run's dtype
  // The format of the weight at module `path` (Hugging Face's path, e.g.
  // "model.layers.3.mlp.experts"); `expert`: the module holds routed experts. Unquantised
  // (WeightFormat{}) where the config keeps it in the checkpoint's dtype.
  WeightFormat format_of(const std::string& path, bool expert) const;
};

// The fields of the decoder LLM families, with Hugging Face's defaults per family.
struct DecoderConfig {
  int64_t num_kv_heads = 0;  // num_key_value_heads (absent: = num_attention_heads, as HF)
  int64_t head_dim = 0;      // head_dim (absent: hidden_size / num_attention_heads)
  Rope rope;                 // rope_theta, rope_scaling, partial_rotary_factor (full-attention layers)
  std::optional<Rope> rope_sliding;  // the sliding layers' own rotary (Gemma 3/4)
  bool tie_word_embeddings = false;
  std::string torch_dtype = "float32";  // the checkpoint's dtype
  bool attention_bias = false;  // q/k/v (and for some families o) projections have biases
  bool o_proj_bias = false;
  bool mlp_bias = false;
  bool norm_has_bias = false;        // starcoder2: LayerNorm, not RMSNorm
  // Per layer (num_hidden_layers entries each):
  std::vector<Mixer> layer_mixer;    // what mixes its tokens
  std::vector<bool> layer_sliding;   // sliding-window attention
  std::vector<bool> layer_chunked;   // chunked attention (Llama 4: a query sees its chunk only)
  std::vector<bool> layer_nope;      // attention without rotary embeddings
  std::vector<bool> layer_moe;       // a sparse MoE block instead of the MLP
  int64_t sliding_window = 0;        // 0: every layer attends to the whole context
  int64_t attention_chunk_size = 0;
  // Mixture of experts: 0 experts is a dense model.
  int64_t num_experts = 0;
  int64_t num_experts_per_tok = 0;
  int64_t moe_intermediate_size = 0;
  bool norm_topk_prob = true;
  int64_t shared_expert_intermediate_size = 0;  // 0: no shared expert
  double routed_scaling_factor = 1.0;
  int64_t n_group = 1, topk_group = 1;          // DeepSeek's group-limited routing
  int64_t moe_latent_size = 0;                  // Nemotron 3 Super/Ultra: experts work in this width
  int64_t dense_intermediate_size = 0;          // Llama 4: the MLP of its dense layers
  // Layers predicting further tokens (num_nextn_predict_layers, mtp_num_hidden_layers):
  // counted apart, not traced (transformers does not build them).
  int64_t mtp_layers = 0;
  LatentAttentionConfig mla;
  Mamba2Config mamba;
  GatedDeltaNetConfig deltanet;
  Quantization quantization;
  // gemma2, gemma3, gemma4
  double query_pre_attn_scalar = 0;  // attention scale = query_pre_attn_scalar^-0.5
  double attn_logit_softcapping = 0; // 0: none
  double final_logit_softcapping = 0;
  // gemma4: full-attention layers' own head size and key/value heads, keys reused as values
  int64_t global_head_dim = 0, num_global_kv_heads = 0;
  bool attention_k_eq_v = false;
  // gpt_oss: the clamp of its SwiGLU experts
  double swiglu_limit = 0;
  // llama4: NoPE layers' query scaling with the position, qk L2 norm on rotary layers
  bool attn_temperature_tuning = false;
  double floor_scale = 8192, attn_scale = 0.1;
  bool use_qk_norm = false;
  // phi3small: muP scaling (0: none) and the GeGELU's clamp
  double embedding_multiplier = 0;  // mup_embedding_multiplier: embeddings x it
  double logits_divisor = 0;        // mup_width_multiplier: logits (in float32) / it
  double attention_scale = 0;       // mup_attn_multiplier / head_dim; 0: head_dim^-0.5
  double gegelu_limit = 0;          // 0: unclamped
  std::vector<int64_t> dummy_token_indices;  // logits masked to the lowest value
  // The model_type the file declares where irene builds it as another: a multimodal
  // wrapper whose text_config it builds ("llama4" -> llama4_text; the vision tower is not
  // built), or a remote-code name of a family it is ("kimi_k2" -> deepseek_v3). "" otherwise.
  std::string declared_model_type;

  bool layer_is(int64_t layer, Mixer m) const { return layer_mixer[static_cast<size_t>(layer)] == m; }
};

struct ModelConfig {
  std::string name;        // "bert-base-uncased", or the config's path when read from a file
  std::string model_type;  // "bert", "roberta", "distilbert", "gpt2", "openai-gpt", "llama", ...

  int64_t vocab_size = 0;
  int64_t hidden_size = 0;        // bert: hidden_size, distilbert: dim, gpt: n_embd
  int64_t num_layers = 0;         // num_hidden_layers / n_layers / n_layer
  int64_t num_heads = 0;          // num_attention_heads / n_heads / n_head
  int64_t intermediate_size = 0;  // intermediate_size / hidden_dim / n_inner (default 4 x n_embd)
  int64_t max_positions = 0;      // max_position_embeddings / n_positions
  int64_t n_ctx = 0;              // gpt: size of the causal mask buffer
  int64_t type_vocab_size = 0;    // bert family only
  int64_t pad_token_id = 0;
  double layer_norm_eps = 1e-12;  // decoders: rms_norm_eps (or norm_epsilon)
  std::string activation;         // "gelu", "gelu_new", "relu"; decoders: "silu", "gelu_pytorch_tanh"
  DecoderConfig decoder;          // decoder families only

  nlohmann::json raw;  // the file as read

  // The family shown to users: "BERT", "RoBERTa", "DistilBERT", "GPT-2", "OpenAI-GPT",
  // "Llama", "Mistral", "Qwen2", "Qwen3", "Gemma 2", "Phi-3", "Phi-3-small", "StarCoder2", "Mixtral",
  // "Qwen3-MoE".
  std::string family() const;
  // A decoder LLM family: its root is the *ForCausalLM class and it can generate.
  bool is_decoder() const;
  // Longest input this configuration accepts (RoBERTa's positions start after padding_idx).
  int64_t max_seq_len() const;
};

// The architectures (config.json model_type values) the zoo builds.
const std::vector<std::string>& supported_model_types();
// The decoder LLM families among them.
bool is_decoder_type(const std::string& model_type);

// Reads the fields of a decoder family into `c` (model_type already set). Errors name
// the offending field. Defined in decoder_config.cc.
Status parse_decoder_config(const nlohmann::json& doc, ModelConfig& c);

// How an engine is asked to store a model's weights (vLLM's --quantization and
// --kv-cache-dtype): "" keeps the config's quantization_config; "none" serves the
// checkpoint's dtype; "fp8", "mxfp4", "nvfp4" keep a config already stored so and
// otherwise quantise as the engine does online (fp8: every Linear but lm_head with
// per-tensor scales; mxfp4: the routed experts alone, as vLLM's Mxfp4 method; nvfp4:
// every Linear but lm_head, groups of 16). kv_cache_dtype: "" or "auto" keeps the
// config's, "fp8" / "fp8_e4m3" / "fp8_e5m2" store the cache in a byte per value.
// Errors name the value and what is allowed. Defined in quantization.cc.
Status override_quantization(ModelConfig& config, const std::string& method, const std::string& kv_cache_dtype);

// Parses a config.json document. Errors name the offending field.
Result<ModelConfig> parse_config(const nlohmann::json& doc, std::string name);
// Reads and parses a config.json file.
Result<ModelConfig> load_config_file(const std::string& path);

}  // namespace irene::models
