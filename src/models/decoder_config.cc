// config.json of the decoder LLM families, read with Hugging Face's defaults per family
// (transformers' LlamaConfig, MistralConfig, Qwen2Config, Qwen3Config, Gemma2Config,
// Phi3Config, Starcoder2Config, MixtralConfig, Qwen3MoeConfig, GptOssConfig,
// Llama4TextConfig, Gemma3TextConfig, Gemma4TextConfig, DeepseekV3Config,
// DeepseekV32Config, GlmMoeDsaConfig, NemotronHConfig, Qwen3NextConfig, Qwen3_5TextConfig,
// Qwen3_5MoeTextConfig; and Phi3SmallConfig of microsoft/Phi-3-small's
// configuration_phi3_small.py, whose keys differ: ff_intermediate_size,
// layer_norm_epsilon, rope_embedding_base, mup_*). The layer pattern, the experts, the
// other mixers, rotary embeddings and quantisation have files of their own
// (layer_types_config.cc, experts_config.cc, mixer_config.cc, rope_config.cc, quantization.cc).
#include "models/config.h"
#include "models/config_fields.h"
#include "models/decoder_config_parts.h"

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
  const char* eps_key = "rms_norm_eps";
  const char* act_key = "hidden_act";
};

// kv_heads / head_dim 0: derived as Hugging Face does (= heads, hidden / heads).
constexpr FamilyDefaults kDefaults[] = {
    {"llama", 32000, 4096, 11008, 32, 32, 0, 0, 2048, 1e-6, 10000.0, "silu", false, 0},
    {"mistral", 32000, 4096, 14336, 32, 32, 8, 0, 4096 * 32, 1e-6, 10000.0, "silu", false, 4096},
    {"qwen2", 151936, 4096, 22016, 32, 32, 32, 0, 32768, 1e-6, 10000.0, "silu", false, 0},
    {"qwen3", 151936, 4096, 22016, 32, 32, 32, 128, 32768, 1e-6, 10000.0, "silu", false, 0},
    {"gemma2", 256000, 2304, 9216, 26, 8, 4, 256, 8192, 1e-6, 10000.0, "gelu_pytorch_tanh", true, 4096,
     "rms_norm_eps", "hidden_activation"},
    {"phi3", 32064, 3072, 8192, 32, 32, 0, 0, 4096, 1e-5, 10000.0, "silu", false, 0},
    {"starcoder2", 49152, 3072, 12288, 30, 24, 2, 0, 4096, 1e-5, 10000.0, "gelu_pytorch_tanh", true, 0, "norm_epsilon"},
    {"mixtral", 32000, 4096, 14336, 32, 32, 8, 0, 4096 * 32, 1e-5, 1e6, "silu", false, 0},
    {"qwen3_moe", 151936, 2048, 6144, 24, 32, 4, 0, 32768, 1e-6, 10000.0, "silu", false, 0},
    // tie_word_embeddings: Phi3SmallConfig leaves it to PretrainedConfig's default (true).
    {"phi3small", 100352, 4096, 14336, 32, 32, 8, 0, 8192, 1e-5, 1e6, "gegelu", true, 0, "layer_norm_epsilon"},
    {"gpt_oss", 201088, 2880, 2880, 36, 64, 8, 64, 131072, 1e-5, 150000.0, "silu", false, 128},
    {"llama4_text", 202048, 5120, 8192, 48, 40, 8, 128, 131072, 1e-5, 500000.0, "silu", false, 0},
    {"gemma3_text", 262208, 2304, 9216, 26, 8, 4, 256, 131072, 1e-6, 1e6, "gelu_pytorch_tanh", true, 4096,
     "rms_norm_eps", "hidden_activation"},
    {"gemma4_text", 262144, 2304, 9216, 30, 8, 4, 256, 131072, 1e-6, 1e6, "gelu_pytorch_tanh", true, 512,
     "rms_norm_eps", "hidden_activation"},
    {"deepseek_v3", 129280, 7168, 18432, 61, 128, 0, 0, 4096, 1e-6, 10000.0, "silu", false, 0},
    {"deepseek_v32", 129280, 7168, 18432, 61, 128, 0, 0, 163840, 1e-6, 10000.0, "silu", false, 0},
    {"glm_moe_dsa", 154880, 6144, 12288, 78, 64, 0, 0, 202752, 1e-5, 1e6, "silu", false, 0},
    {"nemotron_h", 131072, 4096, 21504, 52, 32, 8, 128, 4096, 1e-5, 10000.0, "relu2", false, 0, "layer_norm_epsilon",
     "mlp_hidden_act"},
    {"qwen3_next", 151936, 2048, 5632, 48, 16, 2, 256, 32768, 1e-6, 10000.0, "silu", false, 0},
    {"qwen3_5_text", 248320, 4096, 12288, 32, 16, 4, 256, 32768, 1e-6, 10000.0, "silu", false, 0},
    {"qwen3_5_moe_text", 248320, 2048, 512, 40, 16, 2, 256, 32768, 1e-6, 10000.0, "silu", false, 0},
};

const FamilyDefaults* defaults_of(const std::string& type) {
  for (const auto& d : kDefaults)
    if (type == d.model_type) return &d;
  return nullptr;
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


// The keys a few families add to their layers (Gemma's scales and soft-capping, gpt-oss's
// SwiGLU clamp, Llama 4's NoPE temperature and qk norm).
Status parse_family_extras(const nlohmann::json& doc, ModelConfig& c) {
  DecoderConfig& d = c.decoder;
  const std::string& t = c.model_type;
  if (t == "gemma2") {
    IRENE_ASSIGN_OR_RETURN(d.query_pre_attn_scalar, float_field(doc, "query_pre_attn_scalar", 256));
    IRENE_ASSIGN_OR_RETURN(d.attn_logit_softcapping, optional_float_field(doc, "attn_logit_softcapping", 50.0));
    IRENE_ASSIGN_OR_RETURN(d.final_logit_softcapping, optional_float_field(doc, "final_logit_softcapping", 30.0));
  }
  if (t == "gemma3_text") {  // Gemma3TextConfig: no soft-capping unless asked; the attention's is never applied
    IRENE_ASSIGN_OR_RETURN(d.query_pre_attn_scalar, float_field(doc, "query_pre_attn_scalar", 256));
    IRENE_ASSIGN_OR_RETURN(d.final_logit_softcapping, optional_float_field(doc, "final_logit_softcapping", 0));
  }
  if (t == "gemma4_text") {
    IRENE_ASSIGN_OR_RETURN(d.final_logit_softcapping, optional_float_field(doc, "final_logit_softcapping", 0));
    IRENE_ASSIGN_OR_RETURN(d.global_head_dim, int_field(doc, {"global_head_dim"}, 512, false, kMaxWidth));
    IRENE_ASSIGN_OR_RETURN(d.attention_k_eq_v, bool_field(doc, "attention_k_eq_v", false));
    IRENE_ASSIGN_OR_RETURN(d.num_global_kv_heads,
                           int_field(doc, {"num_global_key_value_heads"}, d.num_kv_heads, false, kMaxHeads));
    if (!d.attention_k_eq_v) d.num_global_kv_heads = d.num_kv_heads;
    if (c.num_heads % d.num_global_kv_heads != 0)
      return Status::invalid_argument("config: num_attention_heads must be a multiple of num_global_key_value_heads");
    // Per-layer embeddings and key/value sharing (Gemma 4's small models) are not built.
    IRENE_ASSIGN_OR_RETURN(int64_t ple, count_field(doc, "hidden_size_per_layer_input", 0, kMaxWidth));
    if (ple > 0)
      return Status::unsupported("config field 'hidden_size_per_layer_input' is " + std::to_string(ple) +
                                 "; irene builds Gemma 4 without per-layer embeddings (supported: 0)");
    IRENE_ASSIGN_OR_RETURN(int64_t shared, count_field(doc, "num_kv_shared_layers", 0, kMaxLayers));
    if (shared > 0)
      return Status::unsupported("config field 'num_kv_shared_layers' is " + std::to_string(shared) +
                                 "; irene builds Gemma 4 without shared key/value layers (supported: 0)");
  }
  if (t == "gpt_oss") {
    IRENE_ASSIGN_OR_RETURN(d.swiglu_limit, float_field(doc, "swiglu_limit", 7.0));
  }
  if (t == "llama4_text") {
    IRENE_ASSIGN_OR_RETURN(d.use_qk_norm, bool_field(doc, "use_qk_norm", true));
    // attn_temperature_tuning: a bool, or (Llama4TextConfig's first release) a truthy number.
    d.attn_temperature_tuning = true;
    if (doc.contains("attn_temperature_tuning") && !doc["attn_temperature_tuning"].is_null()) {
      const auto& v = doc["attn_temperature_tuning"];
      if (!v.is_boolean() && !v.is_number())
        return Status::invalid_argument("config field 'attn_temperature_tuning' must be true or false, got " + v.dump());
      d.attn_temperature_tuning = v.is_boolean() ? v.get<bool>() : v.get<double>() != 0;
    }
    IRENE_ASSIGN_OR_RETURN(d.floor_scale, float_field(doc, "floor_scale", 8192));
    IRENE_ASSIGN_OR_RETURN(d.attn_scale, float_field(doc, "attn_scale", 0.1));
  }
  // Multi-token-prediction layers, which the checkpoints hold and transformers drops.
  IRENE_ASSIGN_OR_RETURN(d.mtp_layers, count_field(doc, t.rfind("qwen3_5", 0) == 0 ? "mtp_num_hidden_layers"
                                                                                   : "num_nextn_predict_layers",
                                                   0, kMaxLayers));
  return Status::ok();
}

// Which projections carry biases, per family.
Status parse_biases(const nlohmann::json& doc, ModelConfig& c) {
  DecoderConfig& d = c.decoder;
  const std::string& t = c.model_type;
  if (t == "qwen2") {
    d.attention_bias = true;  // q/k/v always
  } else if (t == "starcoder2") {
    IRENE_ASSIGN_OR_RETURN(bool use_bias, bool_field(doc, "use_bias", true));
    d.attention_bias = d.o_proj_bias = d.mlp_bias = use_bias;
    d.norm_has_bias = true;
  } else if (t == "gpt_oss") {
    d.attention_bias = d.o_proj_bias = true;  // GptOssConfig forces them
  } else if (t == "phi3" || t == "mistral" || t == "mixtral" || t == "phi3small" || t == "llama4_text" ||
             t == "nemotron_h") {
    // no attention biases (Llama4TextConfig and NemotronH's attention ignore the key)
  } else {
    IRENE_ASSIGN_OR_RETURN(d.attention_bias, bool_field(doc, "attention_bias", false));
    d.o_proj_bias = d.attention_bias;
  }
  if (t == "llama" || t == "nemotron_h") {
    IRENE_ASSIGN_OR_RETURN(d.mlp_bias, bool_field(doc, "mlp_bias", false));
  }
  return Status::ok();
}

}  // namespace

Status parse_decoder_config(const nlohmann::json& doc, ModelConfig& c) {
  const FamilyDefaults* f = defaults_of(c.model_type);
  if (f == nullptr) return Status::unsupported("config field 'model_type' is '" + c.model_type + "'");
  DecoderConfig& d = c.decoder;
  const bool phi3small = c.model_type == "phi3small";
  IRENE_ASSIGN_OR_RETURN(c.vocab_size, int_field(doc, {"vocab_size"}, f->vocab, false));
  IRENE_ASSIGN_OR_RETURN(c.hidden_size, int_field(doc, {"hidden_size"}, f->hidden, false, kMaxWidth));
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
  // Without a head_dim of its own a head is hidden_size / num_attention_heads wide, and
  // the hidden size must split evenly (transformers refuses the model otherwise).
  const bool head_dim_given = doc.contains("head_dim") && !doc["head_dim"].is_null();
  if (!head_dim_given && f->head_dim == 0 && c.hidden_size % c.num_heads != 0)
    return Status::invalid_argument("config: hidden_size (" + std::to_string(c.hidden_size) +
                                    ") must be a multiple of num_attention_heads (" + std::to_string(c.num_heads) +
                                    ") when the config gives no head_dim");
  const int64_t derived_head_dim = f->head_dim ? f->head_dim : c.hidden_size / c.num_heads;
  IRENE_ASSIGN_OR_RETURN(d.head_dim, int_field(doc, {"head_dim"}, derived_head_dim, false, kMaxWidth));
  if (d.head_dim % 2 != 0) return Status::invalid_argument("config: the head dimension must be even for rotary embeddings");
  IRENE_ASSIGN_OR_RETURN(c.max_positions, int_field(doc, {"max_position_embeddings"}, f->max_positions, false));
  c.n_ctx = c.max_positions;
  IRENE_ASSIGN_OR_RETURN(c.layer_norm_eps, float_field(doc, f->eps_key, f->norm_eps));
  IRENE_RETURN_IF_ERROR(parse_rope(doc, c, f->rope_theta, phi3small ? "rope_embedding_base" : "rope_theta"));
  IRENE_ASSIGN_OR_RETURN(d.tie_word_embeddings, bool_field(doc, "tie_word_embeddings", f->tie));
  // transformers v5 writes "dtype" where v4 wrote "torch_dtype".
  IRENE_ASSIGN_OR_RETURN(d.torch_dtype, string_field(doc, "dtype", "float32"));
  IRENE_ASSIGN_OR_RETURN(d.torch_dtype, string_field(doc, "torch_dtype", d.torch_dtype));
  if (d.torch_dtype != "float32" && d.torch_dtype != "bfloat16" && d.torch_dtype != "float16")
    return Status::unsupported("config field 'torch_dtype' is '" + d.torch_dtype +
                               "'; supported: float32, bfloat16, float16");
  IRENE_ASSIGN_OR_RETURN(c.pad_token_id, count_field(doc, "pad_token_id", 0, kMaxConfigInt));

  IRENE_ASSIGN_OR_RETURN(c.activation, string_field(doc, f->act_key, f->act));
  if (phi3small && c.activation != "gegelu")  // Phi3SmallMLP asserts it
    return Status::unsupported("config field 'hidden_act' is '" + c.activation + "'; phi3small supports: gegelu");
  if (!phi3small && c.activation != "silu" && c.activation != "gelu_pytorch_tanh" && c.activation != "gelu" &&
      c.activation != "gelu_new" && c.activation != "relu2")
    return Status::unsupported(std::string("config field '") + f->act_key + "' is '" + c.activation +
                               "'; supported: silu, gelu_pytorch_tanh, gelu, gelu_new, relu2");

  IRENE_RETURN_IF_ERROR(parse_biases(doc, c));
  IRENE_RETURN_IF_ERROR(parse_layer_types(doc, c, f->sliding_window));
  IRENE_RETURN_IF_ERROR(parse_experts(doc, c));
  IRENE_RETURN_IF_ERROR(parse_mixers(doc, c));
  IRENE_RETURN_IF_ERROR(parse_family_extras(doc, c));
  if (phi3small) IRENE_RETURN_IF_ERROR(parse_phi3small(doc, c));
  IRENE_RETURN_IF_ERROR(parse_quantization(doc, c));
  // Rotary layers rotate an even part of each head.
  const int64_t rotated = static_cast<int64_t>(static_cast<double>(d.head_dim) * d.rope.partial_rotary_factor);
  if (d.rope.partial_rotary_factor > 1 || rotated % 2 != 0)
    return Status::invalid_argument("config field 'partial_rotary_factor' must leave an even part of head_dim (" +
                                    std::to_string(d.head_dim) + ") to rotate");
  const size_t frequencies = static_cast<size_t>(rotated / 2);
  if (!d.rope.scaling.short_factor.empty() && d.rope.scaling.short_factor.size() != frequencies)
    return Status::invalid_argument("config field 'rope_scaling.short_factor' must hold head_dim / 2 (" +
                                    std::to_string(frequencies) + ") factors");
  return Status::ok();
}

}  // namespace irene::models
