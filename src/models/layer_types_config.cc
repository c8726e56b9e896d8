// Which mixer and which attention each decoder layer has, from config.json: layer_types
// (transformers >= 4.53: "full_attention", "sliding_attention", "chunked_attention",
// "linear_attention"), Nemotron-H's hybrid_override_pattern, or each family's own rule
// (Gemma 2's alternation, Gemma 3's sliding_window_pattern, Qwen2's max_window_layers,
// Llama 4's NoPE layers every fourth, ...). No libtorch here.
#include <algorithm>

#include "models/config.h"
#include "models/config_fields.h"

namespace irene::models {

namespace {

Status wrong_count(const char* key, int64_t got, int64_t layers) {
  return Status::invalid_argument("config field '" + std::string(key) + "' must hold num_hidden_layers (" +
                                  std::to_string(layers) + ") entries, got " + std::to_string(got));
}

// Nemotron-H: one character per layer (M Mamba-2, * attention, - MLP, E MoE), or the
// newer layers_block_type list. Sets num_hidden_layers from it.
Status parse_hybrid_pattern(const nlohmann::json& doc, ModelConfig& c) {
  DecoderConfig& d = c.decoder;
  std::vector<std::string> types;
  if (doc.contains("layers_block_type") && !doc["layers_block_type"].is_null()) {
    const auto& list = doc["layers_block_type"];
    if (!list.is_array() || list.empty())
      return Status::invalid_argument("config field 'layers_block_type' must be a non-empty list of layer types");
    for (const auto& t : list) {
      if (!t.is_string()) return Status::invalid_argument("config field 'layers_block_type' holds " + t.dump());
      types.push_back(t.get<std::string>());
    }
  } else {
    IRENE_ASSIGN_OR_RETURN(std::string pattern, string_field(doc, "hybrid_override_pattern", "M-M-M-M*-M-M-M-M-M*-"));
    if (pattern.empty()) return Status::invalid_argument("config field 'hybrid_override_pattern' is empty");
    for (char ch : pattern) {
      switch (ch) {
        case 'M': types.emplace_back("mamba"); break;
        case '*': types.emplace_back("attention"); break;
        case '-': types.emplace_back("mlp"); break;
        case 'E': types.emplace_back("moe"); break;
        default:
          return Status::invalid_argument(std::string("config field 'hybrid_override_pattern' holds '") + ch +
                                          "'; allowed: M (Mamba-2), * (attention), - (MLP), E (MoE)");
      }
    }
  }
  if (static_cast<int64_t>(types.size()) > kMaxLayers)
    return Status::invalid_argument("config field 'hybrid_override_pattern' has more than " + std::to_string(kMaxLayers) +
                                    " layers");
  if (doc.contains("num_hidden_layers") && doc["num_hidden_layers"].is_number_integer() &&
      doc["num_hidden_layers"].get<int64_t>() != static_cast<int64_t>(types.size()))
    return Status::invalid_argument("config fields 'num_hidden_layers' (" + doc["num_hidden_layers"].dump() +
                                    ") and 'hybrid_override_pattern' (" + std::to_string(types.size()) +
                                    " layers) disagree");
  c.num_layers = static_cast<int64_t>(types.size());
  d.layer_mixer.assign(c.num_layers, Mixer::kNone);
  d.layer_moe.assign(c.num_layers, false);
  for (int64_t i = 0; i < c.num_layers; ++i) {
    const std::string& t = types[i];
    if (t == "mamba" || t == "linear_attention") d.layer_mixer[i] = Mixer::kMamba2;
    else if (t == "attention" || t == "full_attention") d.layer_mixer[i] = Mixer::kAttention;
    else if (t == "moe") d.layer_moe[i] = true;
    else if (t != "mlp")
      return Status::invalid_argument("config field 'layers_block_type' holds \"" + t +
                                      "\"; allowed: mamba, attention, mlp, moe");
  }
  return Status::ok();
}

// layer_types as transformers writes it; `allowed` lists the names this family accepts.
Status read_layer_types(const nlohmann::json& doc, const ModelConfig& c, const std::vector<std::string>& allowed,
                        std::vector<std::string>& out) {
  const auto& lt = doc["layer_types"];
  if (!lt.is_array()) return Status::invalid_argument("config field 'layer_types' must be a list of strings");
  if (static_cast<int64_t>(lt.size()) != c.num_layers) return wrong_count("layer_types", lt.size(), c.num_layers);
  std::string names;
  for (const auto& a : allowed) names += (names.empty() ? "\"" : ", \"") + a + "\"";
  for (const auto& t : lt) {
    const bool ok = t.is_string() && std::find(allowed.begin(), allowed.end(), t.get<std::string>()) != allowed.end();
    if (!ok) return Status::invalid_argument("config field 'layer_types' holds " + t.dump() + "; allowed: " + names);
    out.push_back(t.get<std::string>());
  }
  return Status::ok();
}

// Llama 4: no_rope_layers (1 = rotary, 0 = NoPE; default every fourth layer NoPE); the
// rotary layers attend within chunks, the NoPE ones to everything.
Status parse_llama4_layers(const nlohmann::json& doc, ModelConfig& c) {
  DecoderConfig& d = c.decoder;
  IRENE_ASSIGN_OR_RETURN(d.attention_chunk_size, count_field(doc, "attention_chunk_size", 8192));
  IRENE_ASSIGN_OR_RETURN(int64_t interval, int_field(doc, {"no_rope_layer_interval"}, 4, false, kMaxLayers));
  std::vector<bool> rope(c.num_layers);
  const auto& nr = doc.contains("no_rope_layers") ? doc["no_rope_layers"] : nlohmann::json();
  if (nr.is_array() && !nr.empty()) {
    if (static_cast<int64_t>(nr.size()) != c.num_layers) return wrong_count("no_rope_layers", nr.size(), c.num_layers);
    for (int64_t i = 0; i < c.num_layers; ++i) {
      if (!nr[i].is_number_integer() || (nr[i] != 0 && nr[i] != 1))
        return Status::invalid_argument("config field 'no_rope_layers' holds " + nr[i].dump() + "; allowed: 0, 1");
      rope[i] = nr[i] == 1;
    }
  } else {
    for (int64_t i = 0; i < c.num_layers; ++i) rope[i] = (i + 1) % interval != 0;
  }
  for (int64_t i = 0; i < c.num_layers; ++i) {
    d.layer_nope[i] = !rope[i];
    d.layer_chunked[i] = rope[i] && d.attention_chunk_size > 0;
  }
  return Status::ok();
}

}  // namespace

// Reads which mixer each layer has and which keys its attention sees.
Status parse_layer_types(const nlohmann::json& doc, ModelConfig& c, int64_t default_window) {
  DecoderConfig& d = c.decoder;
  const std::string& t = c.model_type;
  if (t == "nemotron_h") IRENE_RETURN_IF_ERROR(parse_hybrid_pattern(doc, c));
  const size_t n = static_cast<size_t>(c.num_layers);
  if (t != "nemotron_h") d.layer_mixer.assign(n, Mixer::kAttention);
  if (t == "deepseek_v3" || t == "deepseek_v32" || t == "glm_moe_dsa") d.layer_mixer.assign(n, Mixer::kLatentAttention);
  d.layer_sliding.assign(n, false);
  d.layer_chunked.assign(n, false);
  d.layer_nope.assign(n, t == "nemotron_h");  // Nemotron-H's attention layers have no positional encoding
  if (doc.contains("sliding_window") && doc["sliding_window"].is_null()) {
    d.sliding_window = 0;  // null: no sliding window
  } else {
    IRENE_ASSIGN_OR_RETURN(d.sliding_window, count_field(doc, "sliding_window", default_window));
  }
  const bool qwen_hybrid = t == "qwen3_next" || t == "qwen3_5_text" || t == "qwen3_5_moe_text";
  const bool has_layer_types = doc.contains("layer_types") && !doc["layer_types"].is_null();
  if (t == "llama4_text") {
    IRENE_RETURN_IF_ERROR(parse_llama4_layers(doc, c));
  } else if (qwen_hybrid) {
    std::vector<std::string> types;
    if (has_layer_types) {
      IRENE_RETURN_IF_ERROR(read_layer_types(doc, c, {"full_attention", "linear_attention"}, types));
    } else {
      IRENE_ASSIGN_OR_RETURN(int64_t interval, int_field(doc, {"full_attention_interval"}, 4, false, kMaxLayers));
      for (size_t i = 0; i < n; ++i)
        types.emplace_back((i + 1) % interval == 0 ? "full_attention" : "linear_attention");
    }
    for (size_t i = 0; i < n; ++i) d.layer_mixer[i] = types[i] == "full_attention" ? Mixer::kAttention : Mixer::kGatedDeltaNet;
  } else if (has_layer_types && t != "nemotron_h") {
    std::vector<std::string> types;
    IRENE_RETURN_IF_ERROR(read_layer_types(doc, c, {"full_attention", "sliding_attention"}, types));
    for (size_t i = 0; i < n; ++i) d.layer_sliding[i] = types[i] == "sliding_attention";
  } else if (t == "gemma2") {
    for (size_t i = 0; i < n; ++i) d.layer_sliding[i] = i % 2 == 0;  // even layers slide
  } else if (t == "gpt_oss") {
    for (size_t i = 0; i < n; ++i) d.layer_sliding[i] = i % 2 == 0;  // GptOssConfig: even layers slide
  } else if (t == "gemma3_text" || t == "gemma4_text") {
    // Every sliding_window_pattern-th layer attends globally (Gemma3TextConfig's default 6).
    IRENE_ASSIGN_OR_RETURN(int64_t pattern, int_field(doc, {"sliding_window_pattern"}, 6, false, kMaxLayers));
    for (size_t i = 0; i < n; ++i) d.layer_sliding[i] = (i + 1) % pattern != 0;
  } else if (t == "qwen2" || t == "qwen3" || t == "qwen3_moe") {
    IRENE_ASSIGN_OR_RETURN(bool use, bool_field(doc, "use_sliding_window", false));
    IRENE_ASSIGN_OR_RETURN(int64_t from, count_field(doc, "max_window_layers", 28));
    for (size_t i = 0; i < n; ++i) d.layer_sliding[i] = use && static_cast<int64_t>(i) >= from;
  } else if (t != "nemotron_h" && !d.layer_is(0, Mixer::kLatentAttention)) {
    for (size_t i = 0; i < n; ++i) d.layer_sliding[i] = d.sliding_window > 0;
  }
  if (t == "gemma4_text" && n > 0) d.layer_sliding[n - 1] = false;  // Gemma4TextConfig forces the last layer global
  bool any = false;
  for (bool s : d.layer_sliding) any = any || s;
  if (any && d.sliding_window == 0)
    return Status::invalid_argument("config: layers use sliding-window attention but 'sliding_window' is null");
  if (!any) d.sliding_window = 0;
  return Status::ok();
}

}  // namespace irene::models
