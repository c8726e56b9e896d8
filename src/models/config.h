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

struct ModelConfig {
  std::string name;        // "bert-base-uncased", or the config's path when read from a file
  std::string model_type;  // "bert", "roberta", "distilbert", "gpt2", "openai-gpt"

  int64_t vocab_size = 0;
  int64_t hidden_size = 0;        // bert: hidden_size, distilbert: dim, gpt: n_embd
  int64_t num_layers = 0;         // num_hidden_layers / n_layers / n_layer
  int64_t num_heads = 0;          // num_attention_heads / n_heads / n_head
  int64_t intermediate_size = 0;  // intermediate_size / hidden_dim / n_inner (default 4 x n_embd)
  int64_t max_positions = 0;      // max_position_embeddings / n_positions
  int64_t n_ctx = 0;              // gpt: size of the causal mask buffer
  int64_t type_vocab_size = 0;    // bert family only
  int64_t pad_token_id = 0;
  double layer_norm_eps = 1e-12;
  std::string activation;         // "gelu", "gelu_new", "relu"

  nlohmann::json raw;  // the file as read

  // The family shown to users: "BERT", "RoBERTa", "DistilBERT", "GPT-2", "OpenAI-GPT".
  std::string family() const;
  // Longest input this configuration accepts (RoBERTa's positions start after padding_idx).
  int64_t max_seq_len() const;
};

// The architectures (config.json model_type values) the zoo builds.
const std::vector<std::string>& supported_model_types();

// Parses a config.json document. Errors name the offending field.
Result<ModelConfig> parse_config(const nlohmann::json& doc, std::string name);
// Reads and parses a config.json file.
Result<ModelConfig> load_config_file(const std::string& path);

}  // namespace irene::models
