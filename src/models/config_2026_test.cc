// Config rules of the 2025-26 checkpoints: Python's non-finite numbers, rotary scaling
// (YaRN, longrope, dynamic, Gemma 4's proportional) against figures transformers' rules
// give, quantization_config's formats and module lists (fp8 blocks, MXFP4, ModelOpt's
// NVFP4 in hf_quant_config.json, compressed-tensors), wrappers' text_config, and errors
// that name the fields.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "models/config.h"
#include "models/rotary.h"
#include "models/zoo.h"

namespace irene::models {
namespace {

nlohmann::json llama(nlohmann::json extra = nlohmann::json::object()) {
  nlohmann::json j = {{"model_type", "llama"}, {"vocab_size", 64},        {"hidden_size", 32},
                      {"intermediate_size", 48}, {"num_hidden_layers", 2}, {"num_attention_heads", 4},
                      {"max_position_embeddings", 4096}};
  j.update(extra);
  return j;
}

std::string write_file(const std::string& dir, const std::string& name, const std::string& text) {
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/" + name;
  std::ofstream(path) << text;
  return path;
}

TEST(Config2026Test, PythonsInfinityIsReadAndBadNumbersNamed) {
  // Nemotron-H-56B's config holds "time_step_limit": [0.0, Infinity], as Python writes it.
  auto c = bundled_config("nvidia/Nemotron-H-56B-Base-8K");
  ASSERT_TRUE(c.is_ok()) << c.status().to_string();
  EXPECT_TRUE(std::isinf(c->decoder.mamba.time_step_max));
  const std::string dir = std::string(IRENE_BINARY_DIR) + "/config-2026";
  std::ifstream in(std::string(IRENE_SOURCE_DIR) + "/src/models/configs/nvidia--Nemotron-H-56B-Base-8K.json");
  std::stringstream text;
  text << in.rdbuf();
  auto from_file = load_config_file(write_file(dir + "/h56", "config.json", text.str()));
  ASSERT_TRUE(from_file.is_ok()) << from_file.status().to_string();
  std::string nan = text.str();
  nan.replace(nan.find("Infinity"), 8, "NaN");
  auto bad = load_config_file(write_file(dir + "/h56nan", "config.json", nan));
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("time_step_limit"), std::string::npos) << bad.status().message();
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
}

TEST(Config2026Test, AHiddenSizeTheHeadsCannotSplitIsRefusedNamingBoth) {
  auto bad = parse_config(llama({{"hidden_size", 3}, {"num_attention_heads", 9}}), "x");
  ASSERT_FALSE(bad.is_ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("hidden_size (3)"), std::string::npos) << bad.status().message();
  EXPECT_NE(bad.status().message().find("num_attention_heads (9)"), std::string::npos);
  // With a head_dim of its own a model may have heads x head_dim != hidden_size (gpt-oss, Gemma 3 27B).
  EXPECT_TRUE(parse_config(llama({{"hidden_size", 36}, {"num_attention_heads", 8}, {"head_dim", 8}}), "x").is_ok());
}

// YaRN as transformers computes it, checked on gpt-oss (truncate false: the ramp from
// 8.09 to 17.40 over 32 frequencies, attention factor 0.1 ln 32 + 1) and DeepSeek-V3
// (truncated to 10 and 23; mscale = mscale_all_dim, so cos and sin keep their size and
// the softmax scale takes mscale^2).
TEST(Config2026Test, YarnFrequenciesFollowTransformers) {
  const ModelConfig oss = bundled_config("openai/gpt-oss-20b").value();
  InverseFrequencies f = inverse_frequencies(oss.decoder.rope, oss.decoder.head_dim, 1);
  EXPECT_NEAR(f.attention_scaling, 0.1 * std::log(32.0) + 1, 1e-12);
  ASSERT_EQ(f.inv_freq.size(0), 32);
  auto base = [](double theta, int j, int d) { return std::pow(theta, -2.0 * j / d); };
  EXPECT_NEAR(f.inv_freq[8].item<double>(), base(150000, 8, 64), 1e-12);         // below the ramp: kept
  EXPECT_NEAR(f.inv_freq[18].item<double>(), base(150000, 18, 64) / 32, 1e-15);  // above it: divided
  const double ramp = (12 - 8.092779) / (17.398051 - 8.092779);
  EXPECT_NEAR(f.inv_freq[12].item<double>(), base(150000, 12, 64) * (1 - ramp) + base(150000, 12, 64) / 32 * ramp, 1e-7);

  const ModelConfig v3 = bundled_config("deepseek-ai/DeepSeek-V3").value();
  f = inverse_frequencies(v3.decoder.rope, v3.decoder.head_dim, 1);
  EXPECT_DOUBLE_EQ(f.attention_scaling, 1.0);
  EXPECT_NEAR(f.inv_freq[10].item<double>(), base(10000, 10, 64), 1e-15);
  EXPECT_NEAR(f.inv_freq[23].item<double>(), base(10000, 23, 64) / 40, 1e-15);
}

// longrope switches tables past the original length and scales cos and sin by
// sqrt(1 + ln(factor) / ln(original)); dynamic NTK grows the base with the context;
// Gemma 4's proportional rope rotates a quarter of the head with exponents over all of it.
TEST(Config2026Test, LongropeDynamicAndProportionalRopes) {
  std::vector<double> shorts(4, 1.0), longs(4, 4.0);  // head_dim 8: four frequencies
  auto c = parse_config(llama({{"max_position_embeddings", 131072}, {"original_max_position_embeddings", 4096},
                               {"rope_scaling", {{"type", "longrope"}, {"short_factor", shorts}, {"long_factor", longs}}}}),
                        "x")
               .value();
  EXPECT_EQ(c.decoder.rope.scaling.type, "longrope");
  InverseFrequencies near = inverse_frequencies(c.decoder.rope, 8, 100), far = inverse_frequencies(c.decoder.rope, 8, 5000);
  EXPECT_NEAR(near.inv_freq[1].item<double>() / far.inv_freq[1].item<double>(), 4.0, 1e-12);
  EXPECT_NEAR(near.attention_scaling, std::sqrt(1 + std::log(32.0) / std::log(4096.0)), 1e-12);
  auto wrong = parse_config(llama({{"rope_scaling", {{"type", "longrope"}, {"short_factor", {1.0}}, {"long_factor", {1.0}}}}}), "x");
  ASSERT_FALSE(wrong.is_ok());
  EXPECT_NE(wrong.status().message().find("short_factor"), std::string::npos) << wrong.status().message();

  auto dyn = parse_config(llama({{"rope_scaling", {{"rope_type", "dynamic"}, {"factor", 2.0}}}}), "x").value();
  const double within = inverse_frequencies(dyn.decoder.rope, 8, 1000).inv_freq[1].item<double>();
  const double beyond = inverse_frequencies(dyn.decoder.rope, 8, 8192).inv_freq[1].item<double>();
  EXPECT_NEAR(within, std::pow(10000.0, -2.0 / 8), 1e-15);  // up to the trained length: unchanged
  const double grown = 10000.0 * std::pow(2.0 * 8192 / 4096 - 1, 8.0 / 6);
  EXPECT_NEAR(beyond, std::pow(grown, -2.0 / 8), 1e-15);

  const ModelConfig g4 = bundled_config("google/gemma-4-26B-A4B").value();
  InverseFrequencies p = inverse_frequencies(g4.decoder.rope, g4.decoder.global_head_dim, 1);
  ASSERT_EQ(p.inv_freq.size(0), 256);  // the whole 512-wide head, 64 pairs rotating
  EXPECT_NEAR(p.inv_freq[63].item<double>(), std::pow(1e6, -126.0 / 512), 1e-15);
  EXPECT_EQ(p.inv_freq[64].item<double>(), 0.0);
  EXPECT_EQ(rotary_width(g4.decoder.rope_sliding.value(), g4.decoder.head_dim), 256);
}

TEST(Config2026Test, QuantizationFormatsAndModuleLists) {
  // gpt-oss: MXFP4 experts only, 4.25 bits a value.
  const Quantization oss = bundled_config("openai/gpt-oss-20b").value().decoder.quantization;
  EXPECT_EQ(oss.format_of("model.layers.3.mlp.experts", true).dtype, "mxfp4");
  EXPECT_FALSE(oss.format_of("model.layers.3.self_attn.q_proj", false).quantized());
  EXPECT_DOUBLE_EQ(oss.format_of("model.layers.3.mlp.experts", true).bytes(5760, 2880), 5760.0 * 2880 * 0.53125);
  // DeepSeek's fp8 blocks: one float32 scale per 128 x 128 block, ceil at the edges.
  const Quantization v3 = bundled_config("deepseek-ai/DeepSeek-V3").value().decoder.quantization;
  const WeightFormat kv_a = v3.format_of("model.layers.0.self_attn.kv_a_proj_with_mqa", false);
  EXPECT_DOUBLE_EQ(kv_a.bytes(576, 7168), 576.0 * 7168 + 5 * 56 * 4);
  EXPECT_FALSE(v3.format_of("lm_head", false).quantized());
  // compressed-tensors (Kimi K2.5): int4 in groups of 32 with bfloat16 scales, "re:" patterns.
  const Quantization k25 = bundled_config("moonshotai/Kimi-K2.5").value().decoder.quantization;
  EXPECT_EQ(k25.format_of("model.layers.5.mlp.experts", true).describe(), "int4 (groups of 32)");
  EXPECT_FALSE(k25.format_of("model.layers.5.self_attn.q_a_proj", false).quantized());
  EXPECT_FALSE(k25.format_of("model.layers.5.mlp.shared_experts.gate_proj", false).quantized());
  // ModelOpt in config.json (Gemma 4 NVFP4): the wrapper's checkpoint names ("model.language_model.")
  // match irene's text-model paths; only the experts are NVFP4, attention and the dense MLP not.
  const Quantization g4 = bundled_config("nvidia/Gemma-4-26B-A4B-NVFP4").value().decoder.quantization;
  EXPECT_FALSE(g4.format_of("model.layers.4.self_attn.q_proj", false).quantized());
  EXPECT_FALSE(g4.format_of("model.layers.4.mlp.gate_proj", false).quantized());
  EXPECT_EQ(g4.format_of("model.layers.4.experts", true).dtype, "nvfp4");
  // A plain name matches whole path components: MiniMax's "gate" is the router, not gate_proj.
  Quantization q;
  q.method = "fp8";
  q.groups = {{WeightFormat{.dtype = "fp8_e4m3", .bits = 8}, {}}};
  q.excluded = {"gate"};
  EXPECT_FALSE(q.format_of("model.layers.0.block_sparse_moe.gate", false).quantized());
  EXPECT_TRUE(q.format_of("model.layers.0.mlp.gate_proj", false).quantized());

  // ModelOpt's hf_quant_config.json beside a config.json without quantization_config.
  const std::string dir = std::string(IRENE_BINARY_DIR) + "/config-2026/nvfp4";
  nlohmann::json base = bundled_config("deepseek-ai/DeepSeek-V3.1").value().raw;
  base.erase("quantization_config");
  base.erase("_irene_source");
  const std::string path = write_file(dir, "config.json", base.dump());
  write_file(dir, "hf_quant_config.json",
             R"({"producer": {"name": "modelopt"}, "quantization": {"quant_algo": "NVFP4", "kv_cache_quant_algo": "FP8",
                "group_size": 16, "exclude_modules": ["lm_head", "model.layers.0.self_attn.q_a_proj", "model.layers.61*"]}})");
  auto c = load_config_file(path);
  ASSERT_TRUE(c.is_ok()) << c.status().to_string();
  const Quantization& n = c->decoder.quantization;
  EXPECT_EQ(n.method, "modelopt");
  EXPECT_EQ(n.kv_cache_dtype, "fp8_e4m3");
  EXPECT_FALSE(n.format_of("model.layers.0.self_attn.q_a_proj", false).quantized());
  const WeightFormat o = n.format_of("model.layers.0.self_attn.o_proj", false);
  EXPECT_EQ(o.describe(), "nvfp4 (groups of 16)");
  EXPECT_DOUBLE_EQ(o.bytes(7168, 16384), 7168.0 * 16384 * 0.5 + 7168.0 * 1024 + 8);

  auto bad = parse_config(llama({{"quantization_config", {{"quant_method", "awq"}}}}), "x");
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("quant_method 'awq'"), std::string::npos) << bad.status().message();
}

TEST(Config2026Test, WrappersAndAliasesBuildTheirLanguageModel) {
  const ModelConfig maverick = bundled_config("meta-llama/Llama-4-Maverick-17B-128E-Instruct").value();
  EXPECT_EQ(maverick.model_type, "llama4_text");
  EXPECT_EQ(maverick.decoder.declared_model_type, "llama4");
  EXPECT_EQ(maverick.decoder.torch_dtype, "bfloat16");
  // Maverick: MoE in every other layer, dense MLPs of intermediate_size_mlp between.
  EXPECT_FALSE(maverick.decoder.layer_moe[0]);
  EXPECT_TRUE(maverick.decoder.layer_moe[1]);
  EXPECT_TRUE(maverick.decoder.layer_nope[3]);
  EXPECT_TRUE(maverick.decoder.layer_chunked[0]);
  const ModelConfig kimi = bundled_config("moonshotai/Kimi-K2-Instruct").value();
  EXPECT_EQ(kimi.model_type, "deepseek_v3");
  EXPECT_EQ(kimi.family(), "DeepSeek-V3");
  // A wrapper's text_config errors say where the field is.
  nlohmann::json j = bundled_config("google/gemma-4-26B-A4B").value().raw;
  j["text_config"]["num_experts"] = "many";
  auto bad = parse_config(j, "x");
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("in text_config: config field 'num_experts'"), std::string::npos)
      << bad.status().message();
  // Nemotron-H's pattern names its layers; a config that disagrees is refused.
  nlohmann::json h = bundled_config("nvidia/NVIDIA-Nemotron-Nano-9B-v2").value().raw;
  h["num_hidden_layers"] = 55;
  bad = parse_config(h, "x");
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("hybrid_override_pattern"), std::string::npos) << bad.status().message();
  h = bundled_config("nvidia/NVIDIA-Nemotron-Nano-9B-v2").value().raw;
  h["hybrid_override_pattern"] = "M-X";
  h.erase("num_hidden_layers");
  bad = parse_config(h, "x");
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("'X'"), std::string::npos) << bad.status().message();
}

}  // namespace
}  // namespace irene::models
