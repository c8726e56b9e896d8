// The mixture-of-experts keys of each family's config.json: how many experts, how many a
// token goes to, their width, the shared expert, and which layers route. Each family
// spells them its own way (num_local_experts, num_experts, n_routed_experts; top_k_experts;
// n_shared_experts x moe_intermediate_size or shared_expert_intermediate_size). No libtorch here.
#include "models/config.h"
#include "models/config_fields.h"

namespace irene::models {

namespace {

Result<std::vector<bool>> layer_index_set(const nlohmann::json& doc, const char* key, int64_t layers) {
  std::vector<bool> set(layers, false);
  if (!doc.contains(key) || doc[key].is_null()) return set;
  const auto& m = doc[key];
  if (!m.is_array()) return Status::invalid_argument(std::string("config field '") + key + "' must be a list of layer indices");
  for (const auto& i : m) {
    if (!i.is_number_integer() || i.get<int64_t>() < 0 || i.get<int64_t>() >= layers)
      return Status::invalid_argument(std::string("config field '") + key + "' holds " + i.dump() +
                                      "; allowed: layer indices from 0 to " + std::to_string(layers - 1));
    set[i.get<int64_t>()] = true;
  }
  return set;
}

// DeepSeek's routing keys (deepseek_v3, deepseek_v32, glm_moe_dsa, nemotron_h): routed
// experts of moe_intermediate_size, shared ones, sigmoid scores picked in groups.
Status parse_deepseek_routing(const nlohmann::json& doc, ModelConfig& c, int64_t experts, int64_t top_k,
                              int64_t width, double scaling) {
  DecoderConfig& d = c.decoder;
  IRENE_ASSIGN_OR_RETURN(d.num_experts, int_field(doc, {"n_routed_experts", "num_local_experts"}, experts, false, kMaxExperts));
  IRENE_ASSIGN_OR_RETURN(d.num_experts_per_tok, int_field(doc, {"num_experts_per_tok"}, top_k, false, kMaxExperts));
  IRENE_ASSIGN_OR_RETURN(d.moe_intermediate_size, int_field(doc, {"moe_intermediate_size"}, width, false, kMaxWidth));
  IRENE_ASSIGN_OR_RETURN(d.norm_topk_prob, bool_field(doc, "norm_topk_prob", true));
  IRENE_ASSIGN_OR_RETURN(d.routed_scaling_factor, float_field(doc, "routed_scaling_factor", scaling));
  IRENE_ASSIGN_OR_RETURN(d.n_group, int_field(doc, {"n_group"}, 1, false, kMaxExperts));
  IRENE_ASSIGN_OR_RETURN(d.topk_group, int_field(doc, {"topk_group"}, 1, false, kMaxExperts));
  if (d.num_experts % d.n_group != 0)
    return Status::invalid_argument("config: n_routed_experts (" + std::to_string(d.num_experts) +
                                    ") must be a multiple of n_group (" + std::to_string(d.n_group) + ")");
  if (d.topk_group > d.n_group)
    return Status::invalid_argument("config: topk_group (" + std::to_string(d.topk_group) + ") exceeds n_group (" +
                                    std::to_string(d.n_group) + ")");
  if (d.n_group > 1 && d.num_experts_per_tok > d.topk_group * (d.num_experts / d.n_group))
    return Status::invalid_argument("config: num_experts_per_tok exceeds the experts of topk_group groups");
  return Status::ok();
}

}  // namespace

Status parse_experts(const nlohmann::json& doc, ModelConfig& c) {
  DecoderConfig& d = c.decoder;
  const std::string& t = c.model_type;
  const int64_t n = c.num_layers;
  if (d.layer_moe.size() != static_cast<size_t>(n)) d.layer_moe.assign(n, false);  // nemotron_h set it from its pattern
  if (t == "mixtral") {
    IRENE_ASSIGN_OR_RETURN(d.num_experts, int_field(doc, {"num_local_experts"}, 8, false, kMaxExperts));
    IRENE_ASSIGN_OR_RETURN(d.num_experts_per_tok, int_field(doc, {"num_experts_per_tok"}, 2, false, kMaxExperts));
    d.moe_intermediate_size = c.intermediate_size;
    d.norm_topk_prob = true;
    d.layer_moe.assign(n, true);
  } else if (t == "qwen3_moe" || t == "qwen3_next") {
    const bool next = t == "qwen3_next";
    IRENE_ASSIGN_OR_RETURN(d.num_experts, count_field(doc, "num_experts", next ? 512 : 128, kMaxExperts));
    IRENE_ASSIGN_OR_RETURN(d.num_experts_per_tok, int_field(doc, {"num_experts_per_tok"}, next ? 10 : 8, false, kMaxExperts));
    IRENE_ASSIGN_OR_RETURN(d.moe_intermediate_size, int_field(doc, {"moe_intermediate_size"}, next ? 512 : 768, false, kMaxWidth));
    IRENE_ASSIGN_OR_RETURN(d.norm_topk_prob, bool_field(doc, "norm_topk_prob", next));
    if (next) {
      IRENE_ASSIGN_OR_RETURN(d.shared_expert_intermediate_size, int_field(doc, {"shared_expert_intermediate_size"}, 512, false, kMaxWidth));
    }
    IRENE_ASSIGN_OR_RETURN(int64_t step, int_field(doc, {"decoder_sparse_step"}, 1, false, kMaxLayers));
    IRENE_ASSIGN_OR_RETURN(std::vector<bool> dense_only, layer_index_set(doc, "mlp_only_layers", n));
    for (int64_t i = 0; i < n; ++i) d.layer_moe[i] = !dense_only[i] && d.num_experts > 0 && (i + 1) % step == 0;
  } else if (t == "qwen3_5_moe_text") {  // every layer routes; the shared expert is gated
    IRENE_ASSIGN_OR_RETURN(d.num_experts, int_field(doc, {"num_experts"}, 256, false, kMaxExperts));
    IRENE_ASSIGN_OR_RETURN(d.num_experts_per_tok, int_field(doc, {"num_experts_per_tok"}, 8, false, kMaxExperts));
    IRENE_ASSIGN_OR_RETURN(d.moe_intermediate_size, int_field(doc, {"moe_intermediate_size"}, 512, false, kMaxWidth));
    IRENE_ASSIGN_OR_RETURN(d.shared_expert_intermediate_size,
                           int_field(doc, {"shared_expert_intermediate_size"}, 512, false, kMaxWidth));
    d.norm_topk_prob = true;
    d.layer_moe.assign(n, true);
  } else if (t == "gpt_oss") {  // every layer routes, top-k then softmax over the chosen
    IRENE_ASSIGN_OR_RETURN(d.num_experts, int_field(doc, {"num_local_experts", "num_experts"}, 128, false, kMaxExperts));
    IRENE_ASSIGN_OR_RETURN(d.num_experts_per_tok, int_field(doc, {"num_experts_per_tok"}, 4, false, kMaxExperts));
    d.moe_intermediate_size = c.intermediate_size;
    d.layer_moe.assign(n, true);
  } else if (t == "llama4_text") {
    IRENE_ASSIGN_OR_RETURN(d.num_experts, int_field(doc, {"num_local_experts"}, 16, false, kMaxExperts));
    IRENE_ASSIGN_OR_RETURN(d.num_experts_per_tok, int_field(doc, {"num_experts_per_tok"}, 1, false, kMaxExperts));
    d.moe_intermediate_size = c.intermediate_size;
    d.shared_expert_intermediate_size = c.intermediate_size;  // one shared expert as wide as a routed one
    IRENE_ASSIGN_OR_RETURN(d.dense_intermediate_size, int_field(doc, {"intermediate_size_mlp"}, 16384, false, kMaxWidth));
    if (doc.contains("moe_layers") && doc["moe_layers"].is_array() && !doc["moe_layers"].empty()) {
      IRENE_ASSIGN_OR_RETURN(d.layer_moe, layer_index_set(doc, "moe_layers", n));
    } else {
      IRENE_ASSIGN_OR_RETURN(int64_t step, int_field(doc, {"interleave_moe_layer_step"}, 1, false, kMaxLayers));
      for (int64_t i = 0; i < n; ++i) d.layer_moe[i] = (i + 1) % step == 0;  // range(step - 1, L, step)
    }
  } else if (t == "gemma4_text") {
    IRENE_ASSIGN_OR_RETURN(bool moe, bool_field(doc, "enable_moe_block", false));
    if (moe) {
      IRENE_ASSIGN_OR_RETURN(d.num_experts, int_field(doc, {"num_experts"}, 0, true, kMaxExperts));
      IRENE_ASSIGN_OR_RETURN(d.num_experts_per_tok, int_field(doc, {"top_k_experts"}, 0, true, kMaxExperts));
      IRENE_ASSIGN_OR_RETURN(d.moe_intermediate_size, int_field(doc, {"moe_intermediate_size"}, 0, true, kMaxWidth));
      d.norm_topk_prob = true;
      d.layer_moe.assign(n, true);
    }
  } else if (t == "deepseek_v3" || t == "deepseek_v32" || t == "glm_moe_dsa") {
    IRENE_RETURN_IF_ERROR(parse_deepseek_routing(doc, c, 256, 8, 2048, 2.5));
    IRENE_ASSIGN_OR_RETURN(int64_t shared, count_field(doc, "n_shared_experts", 1, kMaxExperts));
    d.shared_expert_intermediate_size = shared * d.moe_intermediate_size;
    IRENE_ASSIGN_OR_RETURN(int64_t dense, count_field(doc, "first_k_dense_replace", 3, kMaxLayers));
    IRENE_ASSIGN_OR_RETURN(int64_t freq, int_field(doc, {"moe_layer_freq"}, 1, false, kMaxLayers));
    for (int64_t i = 0; i < n; ++i) d.layer_moe[i] = i >= dense && i % freq == 0;
    if (doc.contains("mlp_layer_types") && doc["mlp_layer_types"].is_array()) {  // GLM-5.1 spells it out
      const auto& m = doc["mlp_layer_types"];
      if (static_cast<int64_t>(m.size()) != n)
        return Status::invalid_argument("config field 'mlp_layer_types' must hold num_hidden_layers (" +
                                        std::to_string(n) + ") entries");
      for (int64_t i = 0; i < n; ++i) {
        if (m[i] != "dense" && m[i] != "sparse")
          return Status::invalid_argument("config field 'mlp_layer_types' holds " + m[i].dump() +
                                          "; allowed: \"dense\", \"sparse\"");
        d.layer_moe[i] = m[i] == "sparse";
      }
    }
  } else if (t == "nemotron_h") {
    IRENE_RETURN_IF_ERROR(parse_deepseek_routing(doc, c, 8, 2, 7688, 1.0));
    IRENE_ASSIGN_OR_RETURN(d.shared_expert_intermediate_size,
                           int_field(doc, {"moe_shared_expert_intermediate_size"}, 7688, false, kMaxWidth));
    if (doc.contains("moe_latent_size") && !doc["moe_latent_size"].is_null()) {
      IRENE_ASSIGN_OR_RETURN(d.moe_latent_size, int_field(doc, {"moe_latent_size"}, 0, false, kMaxWidth));
    }
    bool any = false;
    for (bool m : d.layer_moe) any = any || m;
    if (!any) d.num_experts = d.num_experts_per_tok = d.moe_intermediate_size = d.shared_expert_intermediate_size = 0;
  }
  if (d.num_experts > 0 && d.num_experts_per_tok > d.num_experts)
    return Status::invalid_argument("config: num_experts_per_tok (" + std::to_string(d.num_experts_per_tok) +
                                    ") exceeds the number of experts (" + std::to_string(d.num_experts) + ")");
  return Status::ok();
}

}  // namespace irene::models
