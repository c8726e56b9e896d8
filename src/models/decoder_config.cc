// config.json of the decoder LLM families, read with Hugging Face's defaults per family
// (transformers v4.5x's LlamaConfig, MistralConfig, Qwen2Config, Qwen3Config,
// Gemma2Config, Phi3Config, Starcoder2Config, MixtralConfig, Qwen3MoeConfig; and
// Phi3SmallConfig of microsoft/Phi-3-small's configuration_phi3_small.py, whose keys
// differ: ff_intermediate_size, layer_norm_epsilon, rope_embedding_base, mup_*).
#include "models/config.h"
#include "models/config_fields.h"

namespace irene::models {

namespace {

// The defaults of one family's configuration class, where they differ between families.
struct FamilyDefaults {
  const char* model_type;
  int64_t vocab, hidden, intermediate, layers, heads, kv_heads, head_dim, max_positions;
  double norm_eps, rope_theta;
  const char* act;
  bool tie;
  int64_t sliding_window;  // the default when the config says nothing (0: none)
};

// kv_heads / head_dim 0: derived as Hugging Face does (= heads, hidden / heads).
constexpr FamilyDefaults kDefaults[] = {
    {"llama", 32000, 4096, 11008, 32, 32, 0, 0, 2048, 1e-6, 10000.0, "silu", false, 0},
    {"mistral", 32000, 4096, 14336, 32, 32, 8, 0, 4096 * 32, 1e-6, 10000.0, "silu", false, 4096},
    {"qwen2", 151936, 4096, 22016, 32, 32, 32, 0, 32768, 1e-6, 10000.0, "silu", false, 0},
    {"qwen3", 151936, 4096, 22016, 32, 32, 32, 128, 32768, 1e-6, 10000.0, "silu", false, 0},
    {"gemma2", 256000, 2304, 9216, 26, 8, 4, 256, 8192, 1e-6, 10000.0, "gelu_pytorch_tanh", true, 4096},
    {"phi3", 32064, 3072, 8192, 32, 32, 0, 0, 4096, 1e-5, 10000.0, "silu", false, 0},
    {"starcoder2", 49152, 3072, 12288, 30, 24, 2, 0, 4096, 1e-5, 10000.0, "gelu_pytorch_tanh", true, 0},
    {"mixtral", 32000, 4096, 14336, 32, 32, 8, 0, 4096 * 32, 1e-5, 1e6, "silu", false, 0},
    {"qwen3_moe", 151936, 2048, 6144, 24, 32, 4, 0, 32768, 1e-6, 10000.0, "silu", false, 0},
    // tie_word_embeddings: Phi3SmallConfig leaves it to PretrainedConfig's default (true).
    {"phi3small", 100352, 4096, 14336, 32, 32, 8, 0, 8192, 1e-5, 1e6, "gegelu", true, 0},
};

const FamilyDefaults* defaults_of(const std::string& type) {
  for (const auto& d : kDefaults)
    if (type == d.model_type) return &d;
  return nullptr;
}

Status parse_rope_scaling(const nlohmann::json& doc, ModelConfig& c) {
  RopeScaling& r = c.decoder.rope_scaling;
  if (!doc.contains("rope_scaling") || doc["rope_scaling"].is_null()) return Status::ok();
  const nlohmann::json& rs = doc["rope_scaling"];
  if (!rs.is_object()) return Status::invalid_argument("config field 'rope_scaling' must be an object or null, got " + rs.dump());
  // transformers reads "rope_type", and "type" from older configs.
  IRENE_ASSIGN_OR_RETURN(std::string type, string_field(rs, "type", "default"));
  IRENE_ASSIGN_OR_RETURN(type, string_field(rs, "rope_type", type));
  if (type != "default" && type != "linear" && type != "llama3")
    return Status::unsupported("config field 'rope_scaling' has type '" + type +
                               "'; supported rope_scaling types: default, linear, llama3");
  r.type = type;
  if (type == "default") return Status::ok();
  IRENE_ASSIGN_OR_RETURN(r.factor, float_field(rs, "factor", 0));
  if (r.factor <= 0) return Status::invalid_argument("config field 'rope_scaling.factor' is missing");
  if (type == "llama3") {
    IRENE_ASSIGN_OR_RETURN(r.low_freq_factor, float_field(rs, "low_freq_factor", 1.0));
    IRENE_ASSIGN_OR_RETURN(r.high_freq_factor, float_field(rs, "high_freq_factor", 4.0));
    IRENE_ASSIGN_OR_RETURN(r.original_max_position_embeddings,
                           int_field(rs, {"original_max_position_embeddings"}, 8192, false));
    if (r.high_freq_factor <= r.low_freq_factor)
      return Status::invalid_argument("config field 'rope_scaling': high_freq_factor must exceed low_freq_factor");
  }
  return Status::ok();
}

// Which layers use sliding-window attention: `layer_types` where the config lists them,
// else the family's rule.
Status parse_layer_attention(const nlohmann::json& doc, ModelConfig& c, int64_t default_window) {
  DecoderConfig& d = c.decoder;
  const std::string& t = c.model_type;
  if (doc.contains("sliding_window") && doc["sliding_window"].is_null()) {
    d.sliding_window = 0;  // null: no sliding window
  } else {
    IRENE_ASSIGN_OR_RETURN(d.sliding_window, count_field(doc, "sliding_window", default_window));
  }
  d.layer_sliding.assign(c.num_layers, false);
  if (doc.contains("layer_types") && !doc["layer_types"].is_null()) {
    const auto& lt = doc["layer_types"];
    if (!lt.is_array() || static_cast<int64_t>(lt.size()) != c.num_layers)
      return Status::invalid_argument("config field 'layer_types' must be a list of num_hidden_layers (" +
                                      std::to_string(c.num_layers) + ") strings");
    for (int64_t i = 0; i < c.num_layers; ++i) {
      if (lt[i] == "sliding_attention")
        d.layer_sliding[i] = true;
      else if (lt[i] != "full_attention")
        return Status::invalid_argument("config field 'layer_types' holds " + lt[i].dump() +
                                        "; allowed: \"full_attention\", \"sliding_attention\"");
    }
  } else if (t == "gemma2") {
    for (int64_t i = 0; i < c.num_layers; ++i) d.layer_sliding[i] = i % 2 == 0;  // even layers slide
  } else if (t == "qwen2" || t == "qwen3" || t == "qwen3_moe") {
    IRENE_ASSIGN_OR_RETURN(bool use, bool_field(doc, "use_sliding_window", false));
    IRENE_ASSIGN_OR_RETURN(int64_t from, count_field(doc, "max_window_layers", 28));
    for (int64_t i = 0; i < c.num_layers; ++i) d.layer_sliding[i] = use && i >= from;
  } else {
    for (int64_t i = 0; i < c.num_layers; ++i) d.layer_sliding[i] = d.sliding_window > 0;
  }
  bool any = false;
  for (bool s : d.layer_sliding) any = any || s;
  if (any && d.sliding_window == 0)
    return Status::invalid_argument("config: layers use sliding-window attention but 'sliding_window' is null");
  if (!any) d.sliding_window = 0;
  return Status::ok();
}

Status parse_experts(const nlohmann::json& doc, ModelConfig& c) {
  DecoderConfig& d = c.decoder;
  d.layer_moe.assign(c.num_layers, false);
  if (c.model_type == "mixtral") {
    IRENE_ASSIGN_OR_RETURN(d.num_experts, int_field(doc, {"num_local_experts"}, 8, false, kMaxExperts));
    IRENE_ASSIGN_OR_RETURN(d.num_experts_per_tok, int_field(doc, {"num_experts_per_tok"}, 2, false, kMaxExperts));
    d.moe_intermediate_size = c.intermediate_size;
    d.norm_topk_prob = true;
    d.layer_moe.assign(c.num_layers, true);
  } else if (c.model_type == "qwen3_moe") {
    IRENE_ASSIGN_OR_RETURN(d.num_experts, count_field(doc, "num_experts", 128, kMaxExperts));
    IRENE_ASSIGN_OR_RETURN(d.num_experts_per_tok, int_field(doc, {"num_experts_per_tok"}, 8, false, kMaxExperts));
    IRENE_ASSIGN_OR_RETURN(d.moe_intermediate_size, int_field(doc, {"moe_intermediate_size"}, 768, false, kMaxWidth));
    IRENE_ASSIGN_OR_RETURN(d.norm_topk_prob, bool_field(doc, "norm_topk_prob", false));
    IRENE_ASSIGN_OR_RETURN(int64_t step, int_field(doc, {"decoder_sparse_step"}, 1, false, kMaxLayers));
    std::vector<bool> dense_only(c.num_layers, false);
    if (doc.contains("mlp_only_layers") && !doc["mlp_only_layers"].is_null()) {
      const auto& m = doc["mlp_only_layers"];
      if (!m.is_array()) return Status::invalid_argument("config field 'mlp_only_layers' must be a list of layer indices");
      for (const auto& i : m) {
        if (!i.is_number_integer() || i.get<int64_t>() < 0 || i.get<int64_t>() >= c.num_layers)
          return Status::invalid_argument("config field 'mlp_only_layers' holds " + i.dump() +
                                          "; allowed: layer indices from 0 to " + std::to_string(c.num_layers - 1));
        dense_only[i.get<int64_t>()] = true;
      }
    }
    for (int64_t i = 0; i < c.num_layers; ++i)
      d.layer_moe[i] = !dense_only[i] && d.num_experts > 0 && (i + 1) % step == 0;
  }
  if (d.num_experts > 0 && d.num_experts_per_tok > d.num_experts)
    return Status::invalid_argument("config: num_experts_per_tok (" + std::to_string(d.num_experts_per_tok) +
                                    ") exceeds the number of experts (" + std::to_string(d.num_experts) + ")");
  return Status::ok();
}

// Phi3SmallConfig.intermediate_size: ff_intermediate_size (default 14336), or, where
// that is null, ff_dim_multiplier x (hidden / 3) x 2, rounded up to a multiple of 256
// when gegelu_pad_to_256; exactly one of the two may be given.
Result<int64_t> phi3small_intermediate(const nlohmann::json& doc, int64_t hidden) {
  auto given = [&](const char* key) { return doc.contains(key) && !doc[key].is_null(); };
  const bool size_given = !doc.contains("ff_intermediate_size") || given("ff_intermediate_size");
  if (size_given == given("ff_dim_multiplier"))
    return Status::invalid_argument("config: give exactly one of 'ff_intermediate_size' and 'ff_dim_multiplier'");
  if (size_given) return int_field(doc, {"ff_intermediate_size"}, 14336, false, kMaxWidth);
  IRENE_ASSIGN_OR_RETURN(int64_t multiplier, int_field(doc, {"ff_dim_multiplier"}, 0, true, kMaxWidth));
  IRENE_ASSIGN_OR_RETURN(bool pad, bool_field(doc, "gegelu_pad_to_256", true));
  int64_t size = multiplier * (hidden / 3) * 2;
  if (pad) size = (size + 255) / 256 * 256;
  if (size > kMaxWidth)
    return Status::invalid_argument("config: 'ff_dim_multiplier' gives an intermediate size over " + std::to_string(kMaxWidth));
  return size;
}

// Phi-3-small's muP multipliers, GeGELU and block-sparse attention fields. The
// block-sparse layers are checked but traced as dense causal attention (see phi3small.cc).
Status parse_phi3small(const nlohmann::json& doc, ModelConfig& c) {
  DecoderConfig& d = c.decoder;
  d.attention_bias = d.o_proj_bias = d.mlp_bias = d.norm_has_bias = true;  // nn.Linear and nn.LayerNorm defaults
  // Every published Phi-3-small config says 1.0; how another scale enters its rotary
  // embedding is not documented, so it is refused rather than guessed.
  IRENE_ASSIGN_OR_RETURN(double position_scale, float_field(doc, "rope_position_scale", 1.0));
  if (position_scale != 1.0)
    return Status::unsupported("config field 'rope_position_scale' is " + std::to_string(position_scale) +
                               "; supported: 1.0");
  IRENE_ASSIGN_OR_RETURN(bool mup, bool_field(doc, "mup_use_scaling", true));
  IRENE_ASSIGN_OR_RETURN(double attn_multiplier, float_field(doc, "mup_attn_multiplier", 1.0));
  d.attention_scale = mup ? attn_multiplier / static_cast<double>(d.head_dim) : 0;
  IRENE_ASSIGN_OR_RETURN(d.embedding_multiplier, optional_float_field(doc, "mup_embedding_multiplier", 10.0));
  IRENE_ASSIGN_OR_RETURN(d.logits_divisor, optional_float_field(doc, "mup_width_multiplier", 8.0));
  IRENE_ASSIGN_OR_RETURN(d.gegelu_limit, optional_float_field(doc, "gegelu_limit", 20.0));
  IRENE_RETURN_IF_ERROR(count_field(doc, "dense_attention_every_n_layers", 2, kMaxLayers).status());
  for (const char* key : {"blocksparse_block_size", "blocksparse_num_local_blocks", "blocksparse_vert_stride"})
    IRENE_RETURN_IF_ERROR(int_field(doc, {key}, 1, false).status());
  if (doc.contains("dummy_token_indices") && !doc["dummy_token_indices"].is_null()) {
    const auto& ids = doc["dummy_token_indices"];
    if (!ids.is_array()) return Status::invalid_argument("config field 'dummy_token_indices' must be a list of token ids");
    for (const auto& i : ids) {
      if (!i.is_number_integer() || i.get<int64_t>() < 0 || i.get<int64_t>() >= c.vocab_size)
        return Status::invalid_argument("config field 'dummy_token_indices' holds " + i.dump() +
                                        "; allowed: token ids from 0 to " + std::to_string(c.vocab_size - 1));
      d.dummy_token_indices.push_back(i.get<int64_t>());
    }
  }
  return Status::ok();
}

}  // namespace

Status parse_decoder_config(const nlohmann::json& doc, ModelConfig& c) {
  const FamilyDefaults* f = defaults_of(c.model_type);
  if (f == nullptr) return Status::unsupported("config field 'model_type' is '" + c.model_type + "'");
  DecoderConfig& d = c.decoder;
  IRENE_ASSIGN_OR_RETURN(c.vocab_size, int_field(doc, {"vocab_size"}, f->vocab, false));
  IRENE_ASSIGN_OR_RETURN(c.hidden_size, int_field(doc, {"hidden_size"}, f->hidden, false, kMaxWidth));
  const bool phi3small = c.model_type == "phi3small";
  if (phi3small) {
    IRENE_ASSIGN_OR_RETURN(c.intermediate_size, phi3small_intermediate(doc, c.hidden_size));
  } else {
    IRENE_ASSIGN_OR_RETURN(c.intermediate_size, int_field(doc, {"intermediate_size"}, f->intermediate, false, kMaxWidth));
  }
  IRENE_ASSIGN_OR_RETURN(c.num_layers, int_field(doc, {"num_hidden_layers"}, f->layers, false, kMaxLayers));
  IRENE_ASSIGN_OR_RETURN(c.num_heads, int_field(doc, {"num_attention_heads"}, f->heads, false, kMaxHeads));
  // Hugging Face: a missing num_key_value_heads means multi-head attention (= heads).
  IRENE_ASSIGN_OR_RETURN(d.num_kv_heads,
                         int_field(doc, {"num_key_value_heads"}, f->kv_heads ? f->kv_heads : c.num_heads, false, kMaxHeads));
  if (c.num_heads % d.num_kv_heads != 0)
    return Status::invalid_argument("config: num_attention_heads (" + std::to_string(c.num_heads) +
                                    ") must be a multiple of num_key_value_heads (" + std::to_string(d.num_kv_heads) + ")");
  const int64_t derived_head_dim = f->head_dim ? f->head_dim : c.hidden_size / c.num_heads;
  IRENE_ASSIGN_OR_RETURN(d.head_dim, int_field(doc, {"head_dim"}, derived_head_dim, false, kMaxWidth));
  if (d.head_dim % 2 != 0) return Status::invalid_argument("config: the head dimension must be even for rotary embeddings");
  IRENE_ASSIGN_OR_RETURN(c.max_positions, int_field(doc, {"max_position_embeddings"}, f->max_positions, false));
  c.n_ctx = c.max_positions;
  const char* eps_key = c.model_type == "starcoder2" ? "norm_epsilon" : phi3small ? "layer_norm_epsilon" : "rms_norm_eps";
  IRENE_ASSIGN_OR_RETURN(c.layer_norm_eps, float_field(doc, eps_key, f->norm_eps));
  IRENE_ASSIGN_OR_RETURN(d.rope_theta, float_field(doc, phi3small ? "rope_embedding_base" : "rope_theta", f->rope_theta));
  IRENE_RETURN_IF_ERROR(parse_rope_scaling(doc, c));
  IRENE_ASSIGN_OR_RETURN(d.tie_word_embeddings, bool_field(doc, "tie_word_embeddings", f->tie));
  IRENE_ASSIGN_OR_RETURN(d.torch_dtype, string_field(doc, "torch_dtype", "float32"));
  if (d.torch_dtype != "float32" && d.torch_dtype != "bfloat16" && d.torch_dtype != "float16")
    return Status::unsupported("config field 'torch_dtype' is '" + d.torch_dtype +
                               "'; supported: float32, bfloat16, float16");
  IRENE_ASSIGN_OR_RETURN(c.pad_token_id, count_field(doc, "pad_token_id", 0, kMaxConfigInt));

  // The activation: gemma2 reads hidden_activation, the others hidden_act.
  const char* act_key = c.model_type == "gemma2" ? "hidden_activation" : "hidden_act";
  IRENE_ASSIGN_OR_RETURN(c.activation, string_field(doc, act_key, f->act));
  if (phi3small && c.activation != "gegelu")  // Phi3SmallMLP asserts it
    return Status::unsupported("config field 'hidden_act' is '" + c.activation + "'; phi3small supports: gegelu");
  if (!phi3small && c.activation != "silu" && c.activation != "gelu_pytorch_tanh" && c.activation != "gelu" &&
      c.activation != "gelu_new")
    return Status::unsupported(std::string("config field '") + act_key + "' is '" + c.activation +
                               "'; supported: silu, gelu_pytorch_tanh, gelu, gelu_new");

  // Biases: qwen2 always has q/k/v biases; starcoder2 has them everywhere (use_bias).
  if (c.model_type == "qwen2") {
    d.attention_bias = true;
  } else if (c.model_type == "starcoder2") {
    IRENE_ASSIGN_OR_RETURN(bool use_bias, bool_field(doc, "use_bias", true));
    d.attention_bias = d.o_proj_bias = d.mlp_bias = d.norm_has_bias = use_bias;
  } else if (c.model_type != "phi3" && c.model_type != "mistral" && c.model_type != "mixtral" && !phi3small) {
    IRENE_ASSIGN_OR_RETURN(d.attention_bias, bool_field(doc, "attention_bias", false));
    d.o_proj_bias = d.attention_bias;
  }
  if (c.model_type == "llama") {
    IRENE_ASSIGN_OR_RETURN(d.mlp_bias, bool_field(doc, "mlp_bias", false));
  }
  if (c.model_type == "starcoder2") d.norm_has_bias = true;

  IRENE_RETURN_IF_ERROR(parse_layer_attention(doc, c, f->sliding_window));
  IRENE_RETURN_IF_ERROR(parse_experts(doc, c));

  if (c.model_type == "gemma2") {
    IRENE_ASSIGN_OR_RETURN(d.query_pre_attn_scalar, float_field(doc, "query_pre_attn_scalar", 256));
    IRENE_ASSIGN_OR_RETURN(d.attn_logit_softcapping, optional_float_field(doc, "attn_logit_softcapping", 50.0));
    IRENE_ASSIGN_OR_RETURN(d.final_logit_softcapping, optional_float_field(doc, "final_logit_softcapping", 30.0));
  }
  if (phi3small) IRENE_RETURN_IF_ERROR(parse_phi3small(doc, c));
  return Status::ok();
}

}  // namespace irene::models
