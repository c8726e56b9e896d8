// ModelConfig: a Hugging Face config.json read into one typed struct, whatever the
// family spells its keys (hidden_size / dim / n_embd ...). Defaults are Hugging Face's.
// No libtorch here.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/status.h"

namespace irene::models {

// rope_scaling of a decoder's config.json: how rotary frequencies are stretched for
// contexts longer than the model was trained on.
struct RopeScaling {
  std::string type = "default";  // "default" (none), "linear", "llama3"
  double factor = 1.0;
  double low_freq_factor = 1.0;    // llama3
  double high_freq_factor = 4.0;   // llama3
  int64_t original_max_position_embeddings = 8192;  // llama3
};

// The fields of the decoder LLM families (llama, mistral, qwen2, qwen3, gemma2, phi3,
// phi3small, starcoder2, mixtral, qwen3_moe), with Hugging Face's defaults per family.
struct DecoderConfig {
  int64_t num_kv_heads = 0;  // num_key_value_heads (absent: = num_attention_heads, as HF)
  int64_t head_dim = 0;      // head_dim (absent: hidden_size / num_attention_heads)
  double rope_theta = 10000.0;
  RopeScaling rope_scaling;
  bool tie_word_embeddings = false;
  std::string torch_dtype = "float32";  // the checkpoint's dtype
  bool attention_bias = false;  // q/k/v (and for some families o) projections have biases
  bool o_proj_bias = false;
  bool mlp_bias = false;
  bool norm_has_bias = false;        // starcoder2: LayerNorm, not RMSNorm
  int64_t sliding_window = 0;        // 0: every layer attends to the whole context
  std::vector<bool> layer_sliding;   // per layer: sliding-window attention
  // Mixture of experts (mixtral, qwen3_moe): 0 experts is a dense model.
  int64_t num_experts = 0;
  int64_t num_experts_per_tok = 0;
  int64_t moe_intermediate_size = 0;
  bool norm_topk_prob = true;
  std::vector<bool> layer_moe;       // per layer: a sparse MoE block instead of the MLP
  // gemma2
  double query_pre_attn_scalar = 0;  // attention scale = query_pre_attn_scalar^-0.5
  double attn_logit_softcapping = 0; // 0: none
  double final_logit_softcapping = 0;
  // phi3small: muP scaling (0: none) and the GeGELU's clamp
  double embedding_multiplier = 0;  // mup_embedding_multiplier: embeddings x it
  double logits_divisor = 0;        // mup_width_multiplier: logits (in float32) / it
  double attention_scale = 0;       // mup_attn_multiplier / head_dim; 0: head_dim^-0.5
  double gegelu_limit = 0;          // 0: unclamped
  std::vector<int64_t> dummy_token_indices;  // logits masked to the lowest value
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

// Parses a config.json document. Errors name the offending field.
Result<ModelConfig> parse_config(const nlohmann::json& doc, std::string name);
// Reads and parses a config.json file.
Result<ModelConfig> load_config_file(const std::string& path);

}  // namespace irene::models
