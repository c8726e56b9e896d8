// quantization_config as the checkpoints of 2025-26 write it, read into one
// Quantization: which modules are stored in which format. The formats and what each
// stores beside its values (from the formats' own descriptions):
//  - fp8 (transformers' fine-grained FP8; DeepSeek, Qwen3-FP8, GLM-5-FP8): e4m3 values, one
//    float32 scale per weight_block_size block (128 x 128);
//  - mxfp4 (gpt-oss; OCP Microscaling): e2m1 values, one 8-bit power-of-two scale per 32
//    values along the input; only the experts;
//  - modelopt (NVIDIA ModelOpt; config.json or hf_quant_config.json): NVFP4 is e2m1 values
//    with one e4m3 scale per 16 values along the input plus float32 global scales per
//    tensor; FP8 is e4m3 with per-tensor scales;
//  - compressed-tensors: config_groups of num_bits/type/group_size (Kimi K2.5's int4 with
//    one bfloat16 scale per 32 values, Kimi K3's mxfp4);
//  - fbgemm_fp8 (Llama 4 Maverick FP8): e4m3 with one float32 scale per output row.
// No libtorch here.
#include <fnmatch.h>

#include <cmath>
#include <regex>

#include "models/config.h"
#include "models/config_fields.h"

namespace irene::models {

namespace {

WeightFormat fp8_blocks(int64_t rows, int64_t cols) {
  return WeightFormat{.dtype = "fp8_e4m3", .bits = 8, .block_rows = rows, .block_cols = cols, .scale_bits = 32};
}
WeightFormat fp8_per_tensor() { return WeightFormat{.dtype = "fp8_e4m3", .bits = 8, .tensor_scale_bytes = 4}; }
WeightFormat fp8_per_row() {
  return WeightFormat{.dtype = "fp8_e4m3", .bits = 8, .block_rows = 1, .block_cols = -1, .scale_bits = 32};
}
WeightFormat mxfp4() { return WeightFormat{.dtype = "mxfp4", .bits = 4, .block_cols = 32, .scale_bits = 8}; }
// NVFP4: per 16 values an e4m3 scale; per tensor the float32 weight_scale_2 and input_scale.
WeightFormat nvfp4(int64_t group) {
  return WeightFormat{.dtype = "nvfp4", .bits = 4, .block_cols = group, .scale_bits = 8, .tensor_scale_bytes = 8};
}

Status bad(const std::string& what) {
  return Status::invalid_argument("config field 'quantization_config': " + what);
}

Result<std::vector<std::string>> name_list(const nlohmann::json& q, const char* key) {
  std::vector<std::string> out;
  if (!q.contains(key) || q[key].is_null()) return out;
  if (!q[key].is_array()) return bad(std::string("'") + key + "' must be a list of module names");
  for (const auto& v : q[key]) {
    if (!v.is_string()) return bad(std::string("'") + key + "' holds " + v.dump() + "; allowed: module names");
    out.push_back(v.get<std::string>());
  }
  return out;
}

// The weights' format of a compressed-tensors / ModelOpt config_groups entry.
Result<WeightFormat> group_format(const nlohmann::json& weights) {
  if (!weights.is_object()) return bad("a config group's 'weights' must be an object");
  IRENE_ASSIGN_OR_RETURN(int64_t bits, int_field(weights, {"num_bits"}, 0, true, 32));
  IRENE_ASSIGN_OR_RETURN(std::string type, string_field(weights, "type", "int"));
  int64_t group = 0;
  if (weights.contains("group_size") && !weights["group_size"].is_null()) {
    IRENE_ASSIGN_OR_RETURN(group, int_field(weights, {"group_size"}, 0, false));
  }
  if (type == "float" && bits == 8) return fp8_per_tensor();
  if (type == "float" && bits == 4) return nvfp4(group > 0 ? group : 16);
  if (type == "int" && (bits == 4 || bits == 8))
    return WeightFormat{.dtype = "int" + std::to_string(bits), .bits = static_cast<double>(bits),
                        .block_cols = group, .scale_bits = 16, .tensor_scale_bytes = group > 0 ? 0.0 : 2.0};
  return Status::unsupported("config field 'quantization_config': weights of " + std::to_string(bits) + "-bit " +
                             type + "; supported: 8-bit float, 4-bit float, 4- and 8-bit int");
}

// compressed-tensors and ModelOpt's config_groups: each a format for every Linear
// ("targets": ["Linear"] or none) or for the layers it names.
Status read_config_groups(const nlohmann::json& q, Quantization& out) {
  const auto& groups = q["config_groups"];
  if (!groups.is_object() || groups.empty()) return bad("'config_groups' must be a non-empty object");
  for (const auto& [name, g] : groups.items()) {
    if (!g.is_object() || !g.contains("weights")) return bad("config group '" + name + "' has no 'weights'");
    Quantization::Group group;
    IRENE_ASSIGN_OR_RETURN(group.format, group_format(g["weights"]));
    if (g.contains("targets") && g["targets"].is_array())
      for (const auto& t : g["targets"])
        if (t.is_string() && t.get<std::string>() != "Linear") group.targets.push_back(t.get<std::string>());
    out.groups.push_back(std::move(group));
  }
  return Status::ok();
}

// ModelOpt's quant_algo names (hf_quant_config.json, or quantization_config with
// quant_method modelopt).
Result<WeightFormat> modelopt_format(const std::string& algo, int64_t group) {
  if (algo == "NVFP4" || algo == "MIXED_PRECISION") return nvfp4(group > 0 ? group : 16);
  if (algo == "FP8") return fp8_per_tensor();
  if (algo == "FP8_PB_WO" || algo == "FP8_BLOCK") return fp8_blocks(128, 128);
  return Status::unsupported("config field 'quantization_config': quant_algo '" + algo +
                             "'; supported: NVFP4, FP8, FP8_PB_WO, MIXED_PRECISION");
}

Result<std::string> kv_cache_format(const nlohmann::json& q) {
  for (const char* key : {"kv_cache_scheme", "kv_cache_quant_algo"}) {
    if (!q.contains(key) || q[key].is_null()) continue;
    const auto& v = q[key];
    if (v.is_string() && v.get<std::string>() == "FP8") return std::string("fp8_e4m3");
    if (v.is_object() && v.value("num_bits", 0) == 8 && v.value("type", "") == "float") return std::string("fp8_e4m3");
  }
  return std::string();
}

// Component-wise containment: "mlp.gate" is in "model.layers.0.mlp.gate" but not in
// "model.layers.0.mlp.gate_proj".
bool contains_components(const std::string& path, const std::string& name) {
  const std::string p = "." + path + ".", n = "." + name + ".";
  return p.find(n) != std::string::npos;
}

// The checkpoint's names of a multimodal wrapper's language model ("model.language_model.",
// "language_model.model.") are irene's "model." (it builds the text model alone).
std::string text_model_path(const std::string& name) {
  for (const char* prefix : {"model.language_model.", "language_model.model."})
    if (name.rfind(prefix, 0) == 0) return "model." + name.substr(std::string(prefix).size());
  if (name.rfind("language_model.", 0) == 0) return name.substr(15);  // language_model.lm_head
  return name;
}

bool matches(const std::string& path, const std::string& raw_pattern) {
  if (raw_pattern.rfind("re:", 0) == 0) {
    try {
      return std::regex_search(path, std::regex(raw_pattern.substr(3)));
    } catch (const std::regex_error&) {
      return false;  // checked when the config was read
    }
  }
  const std::string pattern = text_model_path(raw_pattern);
  if (pattern.find_first_of("*?[") != std::string::npos) {
    // fnmatch over the whole path, or over a prefix of whole components ("model.layers.*.self_attn"
    // names every module below each layer's self_attn).
    if (fnmatch(pattern.c_str(), path.c_str(), 0) == 0) return true;
    for (size_t dot = path.find('.'); dot != std::string::npos; dot = path.find('.', dot + 1))
      if (fnmatch(pattern.c_str(), path.substr(0, dot).c_str(), 0) == 0) return true;
    return false;
  }
  return contains_components(path, pattern);
}

}  // namespace

double WeightFormat::bytes(int64_t rows, int64_t cols, int64_t count) const {
  if (!quantized()) return 0;
  const double values = static_cast<double>(rows) * static_cast<double>(cols);
  double scales = 0;
  if (block_cols < 0) {
    scales = static_cast<double>(rows);  // one per output row
  } else if (block_cols > 0) {
    scales = std::ceil(static_cast<double>(rows) / static_cast<double>(block_rows)) *
             std::ceil(static_cast<double>(cols) / static_cast<double>(block_cols));
  }
  return static_cast<double>(count) * (values * bits / 8 + scales * scale_bits / 8 + tensor_scale_bytes);
}

std::string WeightFormat::describe() const {
  if (!quantized()) return dtype;
  if (block_cols < 0) return dtype + " (a scale per row)";
  if (block_cols == 0) return dtype + " (a scale per tensor)";
  if (block_rows > 1) return dtype + " (" + std::to_string(block_rows) + "x" + std::to_string(block_cols) + " blocks)";
  return dtype + " (groups of " + std::to_string(block_cols) + ")";
}

WeightFormat Quantization::format_of(const std::string& path, bool expert) const {
  if (method.empty() || (experts_only && !expert)) return {};
  for (const auto& e : excluded)
    if (matches(path, e)) return {};
  for (const auto& g : groups)
    for (const auto& t : g.targets)
      if (matches(path, t)) return g.format;
  for (const auto& g : groups)
    if (g.targets.empty()) return g.format;
  return {};
}

// Reads quantization_config into c.decoder.quantization.
Status parse_quantization(const nlohmann::json& doc, ModelConfig& c) {
  Quantization& out = c.decoder.quantization;
  out = Quantization{};
  if (!doc.contains("quantization_config") || doc["quantization_config"].is_null()) return Status::ok();
  const nlohmann::json& q = doc["quantization_config"];
  if (!q.is_object()) return bad("must be an object, got " + q.dump());
  // hf_quant_config.json nests everything under "quantization" with a "producer".
  const nlohmann::json& body = q.contains("quantization") && q["quantization"].is_object() ? q["quantization"] : q;
  std::string method;
  if (body.contains("quant_method")) {
    IRENE_ASSIGN_OR_RETURN(method, string_field(body, "quant_method", ""));
  }
  if (method.empty() && (body.contains("quant_algo") || q.contains("producer"))) method = "modelopt";
  out.method = method;
  IRENE_ASSIGN_OR_RETURN(out.kv_cache_dtype, kv_cache_format(body));
  IRENE_ASSIGN_OR_RETURN(std::vector<std::string> not_converted, name_list(body, "modules_to_not_convert"));
  IRENE_ASSIGN_OR_RETURN(std::vector<std::string> ignore, name_list(body, "ignore"));
  IRENE_ASSIGN_OR_RETURN(std::vector<std::string> exclude, name_list(body, "exclude_modules"));
  for (auto* list : {&not_converted, &ignore, &exclude}) out.excluded.insert(out.excluded.end(), list->begin(), list->end());
  for (const auto& e : out.excluded) {
    if (e.rfind("re:", 0) != 0) continue;
    try {
      std::regex check(e.substr(3));
    } catch (const std::regex_error&) {
      return bad("the pattern '" + e + "' is not a valid regular expression");
    }
  }
  // Never quantised: embeddings are no Linear layers.
  out.excluded.push_back("embed_tokens");
  out.excluded.push_back("embeddings");

  auto single = [&](WeightFormat f) { out.groups.push_back(Quantization::Group{std::move(f), {}}); };
  if (method == "fp8" || method == "mxfp4" || method == "fbgemm_fp8")
    out.excluded.push_back("lm_head");  // transformers' quantizers keep the output layer as it is
  if (method == "fp8") {
    std::vector<int64_t> block = {128, 128};
    if (body.contains("weight_block_size") && !body["weight_block_size"].is_null()) {
      const auto& b = body["weight_block_size"];
      if (!b.is_array() || b.size() != 2 || !b[0].is_number_integer() || !b[1].is_number_integer() ||
          b[0].get<int64_t>() <= 0 || b[1].get<int64_t>() <= 0)
        return bad("'weight_block_size' must be two positive integers");
      block = {b[0].get<int64_t>(), b[1].get<int64_t>()};
    }
    single(fp8_blocks(block[0], block[1]));
    return Status::ok();
  }
  if (method == "mxfp4") {
    single(mxfp4());
    out.experts_only = true;  // transformers' Mxfp4 quantizer replaces the experts alone
    return Status::ok();
  }
  if (method == "fbgemm_fp8") {
    single(fp8_per_row());
    return Status::ok();
  }
  if (method == "compressed-tensors") {
    IRENE_ASSIGN_OR_RETURN(std::string format, string_field(body, "format", ""));
    if (!body.contains("config_groups")) return bad("compressed-tensors needs 'config_groups'");
    IRENE_RETURN_IF_ERROR(read_config_groups(body, out));
    if (format == "mxfp4-pack-quantized")
      for (auto& g : out.groups) g.format = mxfp4();
    return Status::ok();
  }
  if (method == "modelopt") {
    IRENE_ASSIGN_OR_RETURN(std::string algo, string_field(body, "quant_algo", ""));
    IRENE_ASSIGN_OR_RETURN(int64_t group, int_field(body, {"group_size"}, 16, false));
    if (body.contains("config_groups")) {
      IRENE_RETURN_IF_ERROR(read_config_groups(body, out));
    } else {
      if (algo.empty()) return bad("ModelOpt's config needs 'quant_algo'");
      IRENE_ASSIGN_OR_RETURN(WeightFormat f, modelopt_format(algo, group));
      single(f);
    }
    return Status::ok();
  }
  return Status::unsupported("config field 'quantization_config' has quant_method '" + method +
                             "'; supported: fp8, mxfp4, modelopt (NVFP4, FP8), compressed-tensors, fbgemm_fp8");
}

Status override_quantization(ModelConfig& c, const std::string& method, const std::string& kv_cache_dtype) {
  Quantization& q = c.decoder.quantization;
  auto stored_as = [&](const char* dtype) {
    for (const auto& g : q.groups)
      if (g.format.dtype.rfind(dtype, 0) == 0) return true;
    return false;
  };
  const std::string kept_kv = q.kv_cache_dtype;
  auto online = [&](WeightFormat f, bool experts_only) {
    q = Quantization{};
    q.method = "online";
    q.groups.push_back(Quantization::Group{std::move(f), {}});
    q.experts_only = experts_only;
    q.excluded = {"lm_head", "embed_tokens", "embeddings"};
    q.kv_cache_dtype = kept_kv;
  };
  if (method.empty()) {
  } else if (method == "none") {
    q = Quantization{};
  } else if (method == "fp8") {
    if (!stored_as("fp8")) online(fp8_per_tensor(), false);
  } else if (method == "mxfp4") {
    if (!c.decoder.num_experts)
      return Status::invalid_argument("quantization mxfp4 stores the routed experts alone (vLLM's Mxfp4 method); " +
                                      c.name + " has none: use fp8, nvfp4 or none");
    if (!stored_as("mxfp4")) online(mxfp4(), true);
  } else if (method == "nvfp4") {
    if (!stored_as("nvfp4")) online(nvfp4(16), false);
  } else {
    return Status::invalid_argument("quantization '" + method + "' is not one irene models; allowed: none, fp8, mxfp4, nvfp4");
  }
  if (kv_cache_dtype.empty() || kv_cache_dtype == "auto") return Status::ok();
  if (kv_cache_dtype == "fp8" || kv_cache_dtype == "fp8_e4m3") {
    q.kv_cache_dtype = "fp8_e4m3";
  } else if (kv_cache_dtype == "fp8_e5m2") {
    q.kv_cache_dtype = "fp8_e5m2";
  } else {
    return Status::invalid_argument("kv cache dtype '" + kv_cache_dtype + "' is not one irene models; allowed: auto, fp8, fp8_e4m3, fp8_e5m2");
  }
  return Status::ok();
}

}  // namespace irene::models
