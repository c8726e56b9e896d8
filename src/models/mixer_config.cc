// The keys of the token mixers that are not plain attention: DeepSeek's latent attention
// and the sparse-attention indexer (deepseek_v3, deepseek_v32, glm_moe_dsa), Nemotron-H's
// Mamba-2 mixers, Qwen3-Next's and Qwen3.5's gated DeltaNet. Defaults are those of
// transformers' configuration classes. No libtorch here.
#include <algorithm>
#include <cmath>
#include <limits>

#include "models/config.h"
#include "models/config_fields.h"

namespace irene::models {

namespace {

Status parse_latent_attention(const nlohmann::json& doc, ModelConfig& c) {
  LatentAttentionConfig& m = c.decoder.mla;
  const bool glm = c.model_type == "glm_moe_dsa";
  if (doc.contains("q_lora_rank") && doc["q_lora_rank"].is_null()) {
    if (c.model_type != "deepseek_v3")
      return Status::invalid_argument("config field 'q_lora_rank' must be a positive integer for " + c.model_type);
    m.q_lora_rank = 0;  // DeepSeek-V2-Lite style: a plain q_proj
  } else {
    IRENE_ASSIGN_OR_RETURN(m.q_lora_rank, int_field(doc, {"q_lora_rank"}, glm ? 2048 : 1536, false, kMaxWidth));
  }
  IRENE_ASSIGN_OR_RETURN(m.kv_lora_rank, int_field(doc, {"kv_lora_rank"}, 512, false, kMaxWidth));
  IRENE_ASSIGN_OR_RETURN(m.qk_nope_head_dim, int_field(doc, {"qk_nope_head_dim"}, glm ? 192 : 128, false, kMaxWidth));
  IRENE_ASSIGN_OR_RETURN(m.qk_rope_head_dim, int_field(doc, {"qk_rope_head_dim"}, 64, false, kMaxWidth));
  IRENE_ASSIGN_OR_RETURN(m.v_head_dim, int_field(doc, {"v_head_dim"}, glm ? 256 : 128, false, kMaxWidth));
  if (m.qk_rope_head_dim % 2 != 0)
    return Status::invalid_argument("config: qk_rope_head_dim must be even for rotary embeddings");
  IRENE_ASSIGN_OR_RETURN(m.rope_interleave, bool_field(doc, "rope_interleave", true));
  if (c.model_type == "deepseek_v32" || glm) {
    IRENE_ASSIGN_OR_RETURN(m.index_n_heads, int_field(doc, {"index_n_heads"}, glm ? 32 : 64, false, kMaxHeads));
    IRENE_ASSIGN_OR_RETURN(m.index_head_dim, int_field(doc, {"index_head_dim"}, 128, false, kMaxWidth));
    IRENE_ASSIGN_OR_RETURN(m.index_topk, int_field(doc, {"index_topk"}, 2048, false));
    if (m.index_head_dim < m.qk_rope_head_dim)
      return Status::invalid_argument("config: index_head_dim must hold the qk_rope_head_dim rotary dimensions");
    // DeepSeek-V3.2's indexer rotates half and half; GLM-5's pairs (indexer_rope_interleave).
    IRENE_ASSIGN_OR_RETURN(m.indexer_rope_interleave, bool_field(doc, "indexer_rope_interleave", glm));
  }
  // MLA's attention heads all read one latent: num_key_value_heads only sets HF's groups.
  c.decoder.num_kv_heads = c.num_heads;
  c.decoder.head_dim = m.qk_rope_head_dim;  // transformers builds the rotary tables over the rope part
  return Status::ok();
}

Status parse_mamba2(const nlohmann::json& doc, ModelConfig& c) {
  Mamba2Config& m = c.decoder.mamba;
  IRENE_ASSIGN_OR_RETURN(m.num_heads, int_field(doc, {"mamba_num_heads"}, 128, false, kMaxHeads * 8));
  IRENE_ASSIGN_OR_RETURN(m.head_dim, int_field(doc, {"mamba_head_dim"}, 64, false, kMaxWidth));
  IRENE_ASSIGN_OR_RETURN(m.n_groups, int_field(doc, {"n_groups", "mamba_n_groups"}, 8, false, kMaxHeads));
  IRENE_ASSIGN_OR_RETURN(m.state_size, int_field(doc, {"ssm_state_size"}, 128, false, kMaxWidth));
  IRENE_ASSIGN_OR_RETURN(m.conv_kernel, int_field(doc, {"conv_kernel", "mamba_d_conv"}, 4, false, 64));
  IRENE_ASSIGN_OR_RETURN(m.chunk_size, int_field(doc, {"chunk_size", "mamba_chunk_size"}, 128, false, 1 << 16));
  IRENE_ASSIGN_OR_RETURN(m.conv_bias, bool_field(doc, "use_conv_bias", true));
  IRENE_ASSIGN_OR_RETURN(m.proj_bias, bool_field(doc, "use_bias", false));  // HF's mixer reads use_bias, not mamba_proj_bias
  IRENE_ASSIGN_OR_RETURN(m.state_dtype, string_field(doc, "mamba_ssm_cache_dtype", "float32"));
  if (m.state_dtype != "float32" && m.state_dtype != "bfloat16" && m.state_dtype != "float16")
    return Status::invalid_argument("config field 'mamba_ssm_cache_dtype' is '" + m.state_dtype +
                                    "'; allowed: float32, bfloat16, float16");
  if (m.num_heads % m.n_groups != 0)
    return Status::invalid_argument("config: mamba_num_heads (" + std::to_string(m.num_heads) +
                                    ") must be a multiple of n_groups (" + std::to_string(m.n_groups) + ")");
  if (m.intermediate() > 4 * kMaxWidth)
    return Status::invalid_argument("config: mamba_num_heads x mamba_head_dim exceeds " + std::to_string(4 * kMaxWidth));
  // time_step_limit: [min, max]; Python writes the unbounded max as Infinity.
  m.time_step_min = 0;
  m.time_step_max = std::numeric_limits<double>::infinity();
  const char* key = doc.contains("time_step_limit") ? "time_step_limit" : "mamba_dt_limit";
  if (doc.contains(key) && !doc[key].is_null()) {
    const auto& l = doc[key];
    if (!l.is_array() || l.size() != 2 || !l[0].is_number() || !l[1].is_number() || std::isnan(l[0].get<double>()) ||
        std::isnan(l[1].get<double>()) || l[0].get<double>() < 0 || l[1].get<double>() < l[0].get<double>())
      return Status::invalid_argument(std::string("config field '") + key +
                                      "' must be [min, max] with 0 <= min <= max (max may be Infinity)");
    m.time_step_min = l[0].get<double>();
    m.time_step_max = l[1].get<double>();
  }
  return Status::ok();
}

Status parse_gated_deltanet(const nlohmann::json& doc, ModelConfig& c) {
  GatedDeltaNetConfig& g = c.decoder.deltanet;
  IRENE_ASSIGN_OR_RETURN(g.num_k_heads, int_field(doc, {"linear_num_key_heads"}, 16, false, kMaxHeads));
  IRENE_ASSIGN_OR_RETURN(g.num_v_heads, int_field(doc, {"linear_num_value_heads"}, 32, false, kMaxHeads));
  IRENE_ASSIGN_OR_RETURN(g.k_head_dim, int_field(doc, {"linear_key_head_dim"}, 128, false, kMaxWidth));
  IRENE_ASSIGN_OR_RETURN(g.v_head_dim, int_field(doc, {"linear_value_head_dim"}, 128, false, kMaxWidth));
  IRENE_ASSIGN_OR_RETURN(g.conv_kernel, int_field(doc, {"linear_conv_kernel_dim"}, 4, false, 64));
  if (g.num_v_heads % g.num_k_heads != 0)
    return Status::invalid_argument("config: linear_num_value_heads (" + std::to_string(g.num_v_heads) +
                                    ") must be a multiple of linear_num_key_heads (" + std::to_string(g.num_k_heads) + ")");
  return Status::ok();
}

bool any_of(const std::vector<Mixer>& v, Mixer m) { return std::find(v.begin(), v.end(), m) != v.end(); }

}  // namespace

Status parse_mixers(const nlohmann::json& doc, ModelConfig& c) {
  const auto& mixers = c.decoder.layer_mixer;
  if (any_of(mixers, Mixer::kLatentAttention)) IRENE_RETURN_IF_ERROR(parse_latent_attention(doc, c));
  if (any_of(mixers, Mixer::kMamba2)) IRENE_RETURN_IF_ERROR(parse_mamba2(doc, c));
  if (any_of(mixers, Mixer::kGatedDeltaNet)) IRENE_RETURN_IF_ERROR(parse_gated_deltanet(doc, c));
  return Status::ok();
}

}  // namespace irene::models
