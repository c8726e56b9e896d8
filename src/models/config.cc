#include "models/config.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/python_json.h"
#include "models/config_fields.h"

namespace irene::models {

namespace {

Result<std::string> read_text(const std::string& path, const char* what) {
  std::ifstream in(path);
  if (!in) {
    const int err = errno;  // why the open failed: no such file, permission denied, ...
    return Status::not_found(std::string("cannot read ") + what + " '" + path + "': " + std::strerror(err));
  }
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

Result<std::string> activation_field(const nlohmann::json& doc, const char* key, const char* fallback) {
  IRENE_ASSIGN_OR_RETURN(std::string act, string_field(doc, key, fallback));
  if (act != "gelu" && act != "gelu_new" && act != "relu")
    return Status::unsupported(std::string("config field '") + key + "' is '" + act +
                               "'; supported activations: gelu, gelu_new, relu");
  return act;
}

// The language model's model_type where `type` names a multimodal wrapper (or another
// name of a family irene builds); nullptr otherwise.
const char* text_model_type(const std::string& type) {
  static const std::pair<const char*, const char*> kText[] = {
      {"llama4", "llama4_text"},   {"gemma3", "gemma3_text"},           {"gemma4", "gemma4_text"},
      {"qwen3_5", "qwen3_5_text"}, {"qwen3_5_moe", "qwen3_5_moe_text"},
      {"kimi_k2", "deepseek_v3"},  {"kimi_k25", "deepseek_v3"}};  // Kimi K2's remote code is DeepseekV3ForCausalLM
  for (auto [wrapper, text] : kText)
    if (type == wrapper) return text;
  return nullptr;
}

// The language model's config of a wrapper: its text_config, with the keys transformers
// reads from the top level when the text config lacks them.
Result<nlohmann::json> text_config_of(const nlohmann::json& doc) {
  if (!doc.contains("text_config")) return doc;  // kimi_k2, or a wrapper saved with its text keys at the top
  if (!doc["text_config"].is_object())
    return Status::invalid_argument("config field 'text_config' must be an object, got " + doc["text_config"].dump());
  nlohmann::json text = doc["text_config"];
  for (const char* key : {"torch_dtype", "dtype", "tie_word_embeddings", "quantization_config"})
    if (!text.contains(key) && doc.contains(key)) text[key] = doc[key];
  return text;
}

}  // namespace

const std::vector<std::string>& supported_model_types() {
  static const std::vector<std::string> types = {
      "bert",        "roberta",     "distilbert",   "gpt2",         "openai-gpt",  // the 2019 families
      "llama",       "mistral",     "qwen2",        "qwen3",        "gemma2",       "phi3",
      "starcoder2",  "mixtral",     "qwen3_moe",    "phi3small",
      "gpt_oss",     "llama4",      "llama4_text",  "gemma3",       "gemma3_text",  "gemma4",
      "gemma4_text", "deepseek_v3", "kimi_k2",      "kimi_k25",     "deepseek_v32", "glm_moe_dsa",
      "nemotron_h",  "qwen3_next",  "qwen3_5",      "qwen3_5_text", "qwen3_5_moe",  "qwen3_5_moe_text"};
  return types;
}

bool is_decoder_type(const std::string& t) {
  const auto& all = supported_model_types();
  return std::find(all.begin() + 5, all.end(), t) != all.end();  // after the five 2019 families
}

bool ModelConfig::is_decoder() const { return is_decoder_type(model_type); }

const char* mixer_name(Mixer m) {
  switch (m) {
    case Mixer::kAttention: return "attention";
    case Mixer::kLatentAttention: return "latent_attention";
    case Mixer::kMamba2: return "mamba2";
    case Mixer::kGatedDeltaNet: return "gated_deltanet";
    case Mixer::kNone: return "none";
  }
  return "none";
}

std::string ModelConfig::family() const {
  if (model_type == "bert") return "BERT";
  if (model_type == "roberta") return "RoBERTa";
  if (model_type == "distilbert") return "DistilBERT";
  if (model_type == "gpt2") return "GPT-2";
  if (model_type == "openai-gpt") return "OpenAI-GPT";
  static const std::pair<const char*, const char*> kDecoders[] = {
      {"llama", "Llama"},          {"mistral", "Mistral"},         {"qwen2", "Qwen2"},
      {"qwen3", "Qwen3"},          {"gemma2", "Gemma 2"},          {"phi3", "Phi-3"},
      {"starcoder2", "StarCoder2"}, {"mixtral", "Mixtral"},        {"qwen3_moe", "Qwen3-MoE"},
      {"phi3small", "Phi-3-small"}, {"gpt_oss", "gpt-oss"},         {"llama4_text", "Llama 4"},
      {"gemma3_text", "Gemma 3"},  {"gemma4_text", "Gemma 4"},     {"deepseek_v3", "DeepSeek-V3"},
      {"deepseek_v32", "DeepSeek-V3.2"}, {"glm_moe_dsa", "GLM-5"}, {"nemotron_h", "Nemotron-H"},
      {"qwen3_next", "Qwen3-Next"}, {"qwen3_5_text", "Qwen3.5"},   {"qwen3_5_moe_text", "Qwen3.5-MoE"}};
  for (auto [type, family] : kDecoders)
    if (model_type == type) return family;
  return model_type;
}

int64_t ModelConfig::max_seq_len() const {
  // RoBERTa numbers positions from padding_idx + 1, so two slots are never inputs.
  if (model_type == "roberta") return max_positions - pad_token_id - 1;
  if (model_type == "gpt2" || model_type == "openai-gpt") return std::min(max_positions, n_ctx);
  return max_positions;
}

Result<ModelConfig> parse_config(const nlohmann::json& doc, std::string name) {
  if (!doc.is_object()) return Status::invalid_argument("config.json must hold a JSON object");
  ModelConfig c;
  c.name = std::move(name);
  c.raw = doc;
  if (!doc.contains("model_type") || !doc["model_type"].is_string())
    return Status::invalid_argument("config is missing the string field 'model_type'");
  c.model_type = doc["model_type"].get<std::string>();

  if (c.model_type == "bert" || c.model_type == "roberta") {
    IRENE_ASSIGN_OR_RETURN(c.vocab_size, int_field(doc, {"vocab_size"}, 0, true));
    IRENE_ASSIGN_OR_RETURN(c.hidden_size, int_field(doc, {"hidden_size"}, 768, false, kMaxWidth));
    IRENE_ASSIGN_OR_RETURN(c.num_layers, int_field(doc, {"num_hidden_layers"}, 12, false, kMaxLayers));
    IRENE_ASSIGN_OR_RETURN(c.num_heads, int_field(doc, {"num_attention_heads"}, 12, false, kMaxHeads));
    IRENE_ASSIGN_OR_RETURN(c.intermediate_size, int_field(doc, {"intermediate_size"}, 3072, false, kMaxWidth));
    IRENE_ASSIGN_OR_RETURN(c.max_positions, int_field(doc, {"max_position_embeddings"}, 512, false));
    IRENE_ASSIGN_OR_RETURN(c.type_vocab_size, int_field(doc, {"type_vocab_size"}, 2, false));
    IRENE_ASSIGN_OR_RETURN(c.layer_norm_eps, float_field(doc, "layer_norm_eps", 1e-12));
    IRENE_ASSIGN_OR_RETURN(c.activation, activation_field(doc, "hidden_act", "gelu"));
    IRENE_ASSIGN_OR_RETURN(c.pad_token_id, count_field(doc, "pad_token_id", c.model_type == "roberta" ? 1 : 0));
    IRENE_ASSIGN_OR_RETURN(std::string positions, string_field(doc, "position_embedding_type", "absolute"));
    if (positions != "absolute")
      return Status::unsupported("config field 'position_embedding_type' is \"" + positions +
                                 "\"; supported: \"absolute\"");
  } else if (c.model_type == "distilbert") {
    IRENE_ASSIGN_OR_RETURN(c.vocab_size, int_field(doc, {"vocab_size"}, 0, true));
    IRENE_ASSIGN_OR_RETURN(c.hidden_size, int_field(doc, {"dim"}, 768, false, kMaxWidth));
    IRENE_ASSIGN_OR_RETURN(c.num_layers, int_field(doc, {"n_layers"}, 6, false, kMaxLayers));
    IRENE_ASSIGN_OR_RETURN(c.num_heads, int_field(doc, {"n_heads"}, 12, false, kMaxHeads));
    IRENE_ASSIGN_OR_RETURN(c.intermediate_size, int_field(doc, {"hidden_dim"}, 3072, false, kMaxWidth));
    IRENE_ASSIGN_OR_RETURN(c.max_positions, int_field(doc, {"max_position_embeddings"}, 512, false));
    IRENE_ASSIGN_OR_RETURN(c.activation, activation_field(doc, "activation", "gelu"));
    IRENE_ASSIGN_OR_RETURN(bool sinusoidal, bool_field(doc, "sinusoidal_pos_embds", false));
    if (sinusoidal) return Status::unsupported("config field 'sinusoidal_pos_embds' is true; supported: false");
  } else if (c.model_type == "gpt2" || c.model_type == "openai-gpt") {
    IRENE_ASSIGN_OR_RETURN(c.vocab_size, int_field(doc, {"vocab_size"}, 0, true));
    IRENE_ASSIGN_OR_RETURN(c.hidden_size, int_field(doc, {"n_embd"}, 768, false, kMaxWidth));
    IRENE_ASSIGN_OR_RETURN(c.num_layers, int_field(doc, {"n_layer"}, 12, false, kMaxLayers));
    IRENE_ASSIGN_OR_RETURN(c.num_heads, int_field(doc, {"n_head"}, 12, false, kMaxHeads));
    IRENE_ASSIGN_OR_RETURN(c.intermediate_size, int_field(doc, {"n_inner"}, 4 * c.hidden_size, false, kMaxWidth));
    const int64_t default_positions = c.model_type == "gpt2" ? 1024 : 512;
    IRENE_ASSIGN_OR_RETURN(c.max_positions, int_field(doc, {"n_positions"}, default_positions, false));
    IRENE_ASSIGN_OR_RETURN(c.n_ctx, int_field(doc, {"n_ctx"}, c.max_positions, false));
    IRENE_ASSIGN_OR_RETURN(c.layer_norm_eps, float_field(doc, "layer_norm_epsilon", 1e-5));
    if (c.model_type == "gpt2") {
      IRENE_ASSIGN_OR_RETURN(c.activation, activation_field(doc, "activation_function", "gelu_new"));
    } else {
      // OpenAI-GPT's "gelu" is the tanh approximation (gelu_new) in transformers v4.2.2.
      IRENE_ASSIGN_OR_RETURN(c.activation, activation_field(doc, "afn", "gelu"));
      if (c.activation == "gelu") c.activation = "gelu_new";
    }
  } else if (const char* text_type = text_model_type(c.model_type); text_type != nullptr) {
    // A multimodal wrapper (or a remote-code alias): irene builds its language model.
    IRENE_ASSIGN_OR_RETURN(const nlohmann::json text, text_config_of(doc));
    c.decoder.declared_model_type = c.model_type;
    c.model_type = text_type;
    if (Status s = parse_decoder_config(text, c); !s.is_ok())
      return Status(s.code(), (doc.contains("text_config") ? "in text_config: " : "") + s.message());
  } else if (is_decoder_type(c.model_type)) {
    IRENE_RETURN_IF_ERROR(parse_decoder_config(doc, c));
  } else {
    std::string allowed;
    for (const auto& t : supported_model_types()) allowed += (allowed.empty() ? "" : ", ") + t;
    return Status::unsupported("config field 'model_type' is '" + c.model_type +
                               "'; the zoo builds: " + allowed);
  }
  if (!c.is_decoder() && c.hidden_size % c.num_heads != 0)
    return Status::invalid_argument("config: hidden size " + std::to_string(c.hidden_size) +
                                    " is not a multiple of the number of attention heads " +
                                    std::to_string(c.num_heads));
  if (c.max_seq_len() <= 0) return Status::invalid_argument("config: no room for any input positions");
  return c;
}

Result<ModelConfig> load_config_file(const std::string& path) {
  IRENE_ASSIGN_OR_RETURN(std::string text, read_text(path, "config file"));
  nlohmann::json doc = parse_python_json(text);  // transformers writes Infinity and NaN as Python does
  if (doc.is_discarded()) return Status::corrupt("config file '" + path + "' is not valid JSON");
  // NVIDIA's ModelOpt checkpoints describe their quantisation in hf_quant_config.json
  // beside config.json; read it where config.json says nothing of its own.
  const std::string quant_path = (std::filesystem::path(path).parent_path() / "hf_quant_config.json").string();
  if (doc.is_object() && !doc.contains("quantization_config") && std::filesystem::exists(quant_path)) {
    IRENE_ASSIGN_OR_RETURN(std::string quant_text, read_text(quant_path, "quantization file"));
    nlohmann::json quant = parse_python_json(quant_text);
    if (quant.is_discarded()) return Status::corrupt("quantization file '" + quant_path + "' is not valid JSON");
    doc["quantization_config"] = std::move(quant);
  }
  auto c = parse_config(doc, path);
  if (!c.is_ok()) return Status(c.status().code(), path + ": " + c.status().message());
  return c;
}

}  // namespace irene::models
