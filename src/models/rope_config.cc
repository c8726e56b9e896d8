// Rotary embeddings as config.json describes them: rope_theta with rope_scaling
// (transformers v4), rope_parameters (v5: one object, or one per layer type as Gemma
// writes it), partial_rotary_factor, Gemma 3's rope_local_base_freq. Which stretching
// rules exist and what each key means follow transformers' modeling_rope_utils.py.
#include <cmath>

#include "models/config.h"
#include "models/config_fields.h"

namespace irene::models {

namespace {

constexpr const char* kRopeTypes = "default, linear, llama3, yarn, longrope, dynamic, proportional";

Result<std::vector<double>> factor_list(const nlohmann::json& rs, const char* key) {
  if (!rs.contains(key) || !rs[key].is_array() || rs[key].empty())
    return Status::invalid_argument(std::string("config field 'rope_scaling.") + key + "' must be a list of numbers");
  std::vector<double> out;
  for (const auto& v : rs[key]) {
    if (!v.is_number() || !(v.get<double>() > 0) || !std::isfinite(v.get<double>()))
      return Status::invalid_argument(std::string("config field 'rope_scaling.") + key + "' holds " + v.dump() +
                                      "; allowed: positive numbers");
    out.push_back(v.get<double>());
  }
  return out;
}

// One rope_scaling object (or a v5 rope_parameters object, which holds the same keys
// beside rope_theta). `top` is the whole config: some keys live there
// (original_max_position_embeddings for Phi-3's longrope).
Status parse_scaling(const nlohmann::json& rs, const nlohmann::json& top, const ModelConfig& c, RopeScaling& r) {
  // transformers reads "rope_type", and "type" from older configs.
  IRENE_ASSIGN_OR_RETURN(std::string type, string_field(rs, "type", "default"));
  IRENE_ASSIGN_OR_RETURN(type, string_field(rs, "rope_type", type));
  if (type != "default" && type != "linear" && type != "llama3" && type != "yarn" && type != "longrope" &&
      type != "dynamic" && type != "proportional")
    return Status::unsupported("config field 'rope_scaling' has type '" + type + "'; supported rope_scaling types: " +
                               kRopeTypes);
  r = RopeScaling{};
  r.type = type;
  if (type == "default") return Status::ok();
  IRENE_ASSIGN_OR_RETURN(int64_t top_original, int_field(top, {"original_max_position_embeddings"}, 0, false));
  const int64_t original_default = top_original > 0 ? top_original : c.max_positions;
  IRENE_ASSIGN_OR_RETURN(r.original_max_position_embeddings,
                         int_field(rs, {"original_max_position_embeddings"},
                                   type == "llama3" ? 8192 : original_default, false));
  // yarn, longrope and dynamic may leave the factor to the ratio of the two lengths.
  const double ratio = static_cast<double>(c.max_positions) / static_cast<double>(r.original_max_position_embeddings);
  const bool factor_optional = type == "yarn" || type == "longrope" || type == "proportional";
  IRENE_ASSIGN_OR_RETURN(r.factor, float_field(rs, "factor", factor_optional ? (type == "proportional" ? 1.0 : ratio) : 0));
  if (r.factor <= 0) return Status::invalid_argument("config field 'rope_scaling.factor' is missing");
  if (type == "llama3") {
    IRENE_ASSIGN_OR_RETURN(r.low_freq_factor, float_field(rs, "low_freq_factor", 1.0));
    IRENE_ASSIGN_OR_RETURN(r.high_freq_factor, float_field(rs, "high_freq_factor", 4.0));
    if (r.high_freq_factor < r.low_freq_factor)
      return Status::invalid_argument("config field 'rope_scaling': high_freq_factor must not be below low_freq_factor");
  }
  if (type == "yarn") {
    IRENE_ASSIGN_OR_RETURN(r.beta_fast, float_field(rs, "beta_fast", 32));
    IRENE_ASSIGN_OR_RETURN(r.beta_slow, float_field(rs, "beta_slow", 1));
    IRENE_ASSIGN_OR_RETURN(r.mscale, optional_float_field(rs, "mscale", 0));
    IRENE_ASSIGN_OR_RETURN(r.mscale_all_dim, optional_float_field(rs, "mscale_all_dim", 0));
    IRENE_ASSIGN_OR_RETURN(r.truncate, bool_field(rs, "truncate", true));
  }
  if (type == "yarn" || type == "longrope") {
    IRENE_ASSIGN_OR_RETURN(r.attention_factor, optional_float_field(rs, "attention_factor", 0));
  }
  if (type == "longrope") {
    IRENE_ASSIGN_OR_RETURN(r.short_factor, factor_list(rs, "short_factor"));
    IRENE_ASSIGN_OR_RETURN(r.long_factor, factor_list(rs, "long_factor"));
    if (r.short_factor.size() != r.long_factor.size())
      return Status::invalid_argument("config field 'rope_scaling': short_factor and long_factor differ in length");
  }
  return Status::ok();
}

// A rope_parameters object of transformers v5: rope_theta and partial_rotary_factor
// beside the scaling keys.
Status parse_parameters(const nlohmann::json& p, const nlohmann::json& top, const ModelConfig& c, Rope& rope) {
  if (!p.is_object()) return Status::invalid_argument("config field 'rope_parameters' must be an object, got " + p.dump());
  IRENE_ASSIGN_OR_RETURN(rope.theta, float_field(p, "rope_theta", rope.theta));
  IRENE_ASSIGN_OR_RETURN(rope.partial_rotary_factor, float_field(p, "partial_rotary_factor", rope.partial_rotary_factor));
  return parse_scaling(p, top, c, rope.scaling);
}

}  // namespace

// Reads the rotary embedding of the decoder families into c.decoder.rope (and
// rope_sliding where sliding layers have their own). `default_theta` is the family's.
Status parse_rope(const nlohmann::json& doc, ModelConfig& c, double default_theta, const char* theta_key) {
  DecoderConfig& d = c.decoder;
  d.rope = Rope{};
  IRENE_ASSIGN_OR_RETURN(d.rope.theta, float_field(doc, theta_key, default_theta));
  IRENE_ASSIGN_OR_RETURN(d.rope.partial_rotary_factor, float_field(doc, "partial_rotary_factor", 1.0));
  if (doc.contains("rope_scaling") && !doc["rope_scaling"].is_null()) {
    if (!doc["rope_scaling"].is_object())
      return Status::invalid_argument("config field 'rope_scaling' must be an object or null, got " + doc["rope_scaling"].dump());
    IRENE_RETURN_IF_ERROR(parse_scaling(doc["rope_scaling"], doc, c, d.rope.scaling));
  }
  // Gemma 3 (v4 form): the sliding layers rotate with their own, unscaled base.
  if (c.model_type == "gemma3_text") {
    Rope local;
    IRENE_ASSIGN_OR_RETURN(local.theta, float_field(doc, "rope_local_base_freq", 10000.0));
    d.rope_sliding = local;
  }
  if (c.model_type == "gemma4_text") {  // Gemma4TextConfig's default rope_parameters
    d.rope = Rope{.theta = 1e6, .scaling = RopeScaling{.type = "proportional"}, .partial_rotary_factor = 0.25};
    d.rope_sliding = Rope{.theta = 10000.0};
  }
  if (!doc.contains("rope_parameters") || doc["rope_parameters"].is_null()) return Status::ok();
  const nlohmann::json& p = doc["rope_parameters"];
  if (p.is_object() && (p.contains("full_attention") || p.contains("sliding_attention"))) {
    // One object per layer type (Gemma 3 and 4 in transformers v5).
    if (p.contains("full_attention")) IRENE_RETURN_IF_ERROR(parse_parameters(p["full_attention"], doc, c, d.rope));
    if (p.contains("sliding_attention")) {
      Rope local = d.rope_sliding.value_or(Rope{.theta = 10000.0});
      local.partial_rotary_factor = 1.0;
      IRENE_RETURN_IF_ERROR(parse_parameters(p["sliding_attention"], doc, c, local));
      d.rope_sliding = local;
    }
    return Status::ok();
  }
  return parse_parameters(p, doc, c, d.rope);
}

}  // namespace irene::models
