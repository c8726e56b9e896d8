// The families of 2025-26 on tiny random configs: module paths and classes as
// transformers names them, decoding over the cache or the recurrent state against a plain
// forward pass, shapes-only traces against real runs, the cache and state sizes, and the
// configs' rules and errors.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>
#include <set>

#include "models/decoder.h"
#include "models/zoo.h"

namespace irene::models {
namespace {

using tree::NodeKind;

nlohmann::json base(const std::string& type) {
  return {{"model_type", type},        {"vocab_size", 64},         {"hidden_size", 32},
          {"intermediate_size", 48},   {"num_hidden_layers", 2},   {"num_attention_heads", 4},
          {"num_key_value_heads", 2},  {"head_dim", 8},            {"max_position_embeddings", 128},
          {"torch_dtype", "float32"}};
}

// A tiny config of each new family (the multimodal ones wrapped as their checkpoints are).
nlohmann::json tiny(const std::string& family) {
  if (family == "gpt_oss") {
    nlohmann::json j = base("gpt_oss");
    j.update({{"intermediate_size", 16}, {"num_local_experts", 4}, {"num_experts_per_tok", 2}, {"sliding_window", 3},
              {"layer_types", {"sliding_attention", "full_attention"}},
              {"rope_scaling", {{"rope_type", "yarn"}, {"factor", 4.0}, {"original_max_position_embeddings", 32},
                                {"beta_fast", 32.0}, {"beta_slow", 1.0}, {"truncate", false}}}});
    return j;
  }
  if (family == "llama4") {
    nlohmann::json text = base("llama4_text");
    text.update({{"intermediate_size", 16}, {"intermediate_size_mlp", 24}, {"num_hidden_layers", 4},
                 {"num_local_experts", 4}, {"num_experts_per_tok", 1}, {"interleave_moe_layer_step", 2},
                 {"attention_chunk_size", 3}, {"floor_scale", 2},
                 {"rope_scaling", {{"rope_type", "llama3"}, {"factor", 8.0}, {"low_freq_factor", 1.0},
                                   {"high_freq_factor", 4.0}, {"original_max_position_embeddings", 16}}}});
    return {{"model_type", "llama4"}, {"text_config", text}, {"torch_dtype", "float32"}};
  }
  if (family == "gemma3") {
    nlohmann::json j = base("gemma3_text");
    j.update({{"num_hidden_layers", 3}, {"query_pre_attn_scalar", 8}, {"sliding_window", 3},
              {"sliding_window_pattern", 3}, {"rope_scaling", {{"rope_type", "linear"}, {"factor", 2.0}}}});
    return {{"model_type", "gemma3"}, {"text_config", j}};
  }
  if (family == "gemma4") {
    nlohmann::json j = base("gemma4_text");
    j.update({{"num_hidden_layers", 3}, {"intermediate_size", 24}, {"global_head_dim", 16},
              {"num_global_key_value_heads", 1}, {"attention_k_eq_v", true}, {"sliding_window", 3},
              {"layer_types", {"sliding_attention", "sliding_attention", "full_attention"}},
              {"enable_moe_block", true}, {"num_experts", 4}, {"top_k_experts", 2}, {"moe_intermediate_size", 8},
              {"final_logit_softcapping", 30.0}, {"hidden_size_per_layer_input", 0},
              {"rope_parameters", {{"full_attention", {{"rope_type", "proportional"}, {"partial_rotary_factor", 0.25},
                                                       {"rope_theta", 1e6}}},
                                   {"sliding_attention", {{"rope_type", "default"}, {"rope_theta", 1e4}}}}}});
    j.erase("torch_dtype");
    j["dtype"] = "float32";
    return {{"model_type", "gemma4"}, {"text_config", j}, {"tie_word_embeddings", true}};
  }
  if (family == "deepseek_v3" || family == "deepseek_v32" || family == "glm_moe_dsa") {
    nlohmann::json j = base(family);
    j.erase("head_dim");
    j.erase("num_key_value_heads");
    j.update({{"num_hidden_layers", 3}, {"moe_intermediate_size", 8}, {"q_lora_rank", 16}, {"kv_lora_rank", 8},
              {"qk_nope_head_dim", 8}, {"qk_rope_head_dim", 4}, {"v_head_dim", 6}, {"n_routed_experts", 8},
              {"num_experts_per_tok", 2}, {"n_shared_experts", 1}, {"first_k_dense_replace", 1},
              {"routed_scaling_factor", 2.5}, {"num_nextn_predict_layers", 1}});
    if (family == "glm_moe_dsa") {
      j.update({{"n_group", 1}, {"topk_group", 1}, {"rope_parameters", {{"rope_theta", 1e6}, {"rope_type", "default"}}}});
    } else {
      j.update({{"n_group", 4}, {"topk_group", 2},
                {"rope_scaling", {{"type", "yarn"}, {"factor", 4.0}, {"beta_fast", 32}, {"beta_slow", 1},
                                  {"mscale", 1.0}, {"mscale_all_dim", 1.0}, {"original_max_position_embeddings", 32}}}});
    }
    if (family != "deepseek_v3") j.update({{"index_n_heads", 2}, {"index_head_dim", 8}, {"index_topk", 3}});
    return j;
  }
  if (family == "nemotron_h") {
    nlohmann::json j = base("nemotron_h");
    j.erase("num_hidden_layers");
    j.update({{"hybrid_override_pattern", "M*-ME"}, {"mamba_num_heads", 4}, {"mamba_head_dim", 8}, {"n_groups", 2},
              {"ssm_state_size", 4}, {"conv_kernel", 4}, {"chunk_size", 4}, {"n_routed_experts", 4},
              {"num_experts_per_tok", 2}, {"moe_intermediate_size", 8}, {"moe_shared_expert_intermediate_size", 16},
              {"moe_latent_size", 16}, {"routed_scaling_factor", 2.5},
              {"time_step_limit", {0.0, std::numeric_limits<double>::infinity()}}});
    return j;
  }
  if (family == "qwen3_next") {
    nlohmann::json j = base("qwen3_next");
    j.update({{"num_hidden_layers", 4}, {"partial_rotary_factor", 0.5}, {"linear_num_key_heads", 2},
              {"linear_num_value_heads", 4}, {"linear_key_head_dim", 8}, {"linear_value_head_dim", 8},
              {"num_experts", 4}, {"num_experts_per_tok", 2}, {"moe_intermediate_size", 8},
              {"shared_expert_intermediate_size", 16}, {"mlp_only_layers", {1}}});
    return j;
  }
  if (family == "qwen3_5" || family == "qwen3_5_moe") {
    const bool moe = family == "qwen3_5_moe";
    nlohmann::json j = base(moe ? "qwen3_5_moe_text" : "qwen3_5_text");
    j.update({{"num_hidden_layers", 4}, {"linear_num_key_heads", 2}, {"linear_num_value_heads", 4},
              {"linear_key_head_dim", 8}, {"linear_value_head_dim", 8},
              {"layer_types", {"linear_attention", "linear_attention", "linear_attention", "full_attention"}},
              {"rope_parameters", {{"rope_type", "default"}, {"rope_theta", 1e7}, {"partial_rotary_factor", 0.25},
                                   {"mrope_section", {1, 1, 0}}, {"mrope_interleaved", true}}}});
    if (moe) j.update({{"num_experts", 4}, {"num_experts_per_tok", 2}, {"moe_intermediate_size", 8},
                       {"shared_expert_intermediate_size", 16}});
    return {{"model_type", family}, {"text_config", j}, {"tie_word_embeddings", false}};
  }
  ADD_FAILURE() << "no tiny config for " << family;
  return {};
}

const std::vector<std::string> kFamilies = {"gpt_oss",     "llama4",     "gemma3",     "gemma4",
                                            "deepseek_v3", "deepseek_v32", "glm_moe_dsa", "nemotron_h",
                                            "qwen3_next",  "qwen3_5",    "qwen3_5_moe"};

ModelConfig config_of(const nlohmann::json& j, const std::string& name = "tiny") {
  auto c = parse_config(j, name);
  EXPECT_TRUE(c.is_ok()) << name << ": " << c.status().to_string();
  return c.is_ok() ? *c : ModelConfig{};
}

std::map<std::string, std::string> modules_of(const ModelConfig& c) {
  auto t = trace_model(c, {1, 4, /*shapes_only=*/true});
  EXPECT_TRUE(t.is_ok()) << t.status().to_string();
  std::map<std::string, std::string> out;
  if (!t.is_ok()) return out;
  for (const auto& n : t->nodes)
    if (n.kind != NodeKind::kMath) out[n.path] = n.cls;
  return out;
}

TEST(Families2026Test, EachFamilyUsesTransformersPathsAndClasses) {
  const std::map<std::string, std::map<std::string, std::string>> expected = {
      {"gpt_oss",
       {{"", "GptOssForCausalLM"},
        {"model", "GptOssModel"},
        {"model.layers.0.self_attn", "GptOssAttention"},
        {"model.layers.0.self_attn.q_proj", "Linear"},
        {"model.layers.1.mlp", "GptOssMLP"},
        {"model.layers.1.mlp.router", "GptOssTopKRouter"},
        {"model.layers.1.mlp.experts", "GptOssExperts"},
        {"model.layers.1.input_layernorm", "GptOssRMSNorm"},
        {"model.rotary_emb", "GptOssRotaryEmbedding"},
        {"lm_head", "Linear"}}},
      {"llama4",
       {{"", "Llama4ForCausalLM"},
        {"model", "Llama4TextModel"},
        {"model.layers.0.self_attn", "Llama4TextAttention"},
        {"model.layers.0.self_attn.qk_norm", "Llama4TextL2Norm"},
        {"model.layers.0.feed_forward", "Llama4TextMLP"},
        {"model.layers.0.feed_forward.activation_fn", "SiLU"},
        {"model.layers.1.feed_forward", "Llama4TextMoe"},
        {"model.layers.1.feed_forward.experts", "Llama4TextExperts"},
        {"model.layers.1.feed_forward.experts.act_fn", "SiLU"},
        {"model.layers.1.feed_forward.router", "Llama4Router"},
        {"model.layers.1.feed_forward.shared_expert", "Llama4TextMLP"},
        {"model.layers.1.input_layernorm", "Llama4TextRMSNorm"}}},
      {"gemma3",
       {{"", "Gemma3ForCausalLM"},
        {"model", "Gemma3TextModel"},
        {"model.embed_tokens", "Gemma3TextScaledWordEmbedding"},
        {"model.layers.2.self_attn", "Gemma3Attention"},
        {"model.layers.2.self_attn.q_norm", "Gemma3RMSNorm"},
        {"model.layers.2.pre_feedforward_layernorm", "Gemma3RMSNorm"},
        {"model.layers.2.mlp.act_fn", "GELUTanh"},
        {"model.rotary_emb", "Gemma3RotaryEmbedding"}}},
      {"gemma4",
       {{"", "Gemma4ForCausalLM"},
        {"model", "Gemma4TextModel"},
        {"model.embed_tokens", "Gemma4TextScaledWordEmbedding"},
        {"model.layers.2", "Gemma4TextDecoderLayer"},
        {"model.layers.2.self_attn", "Gemma4TextAttention"},
        {"model.layers.2.self_attn.v_norm", "Gemma4RMSNorm"},
        {"model.layers.0.self_attn.v_proj", "Linear"},
        {"model.layers.2.router", "Gemma4TextRouter"},
        {"model.layers.2.router.proj", "Linear"},
        {"model.layers.2.experts", "Gemma4TextExperts"},
        {"model.layers.2.post_feedforward_layernorm_2", "Gemma4RMSNorm"},
        {"model.rotary_emb", "Gemma4TextRotaryEmbedding"}}},
      {"deepseek_v3",
       {{"", "DeepseekV3ForCausalLM"},
        {"model.layers.0.self_attn", "DeepseekV3Attention"},
        {"model.layers.0.self_attn.q_a_proj", "Linear"},
        {"model.layers.0.self_attn.q_a_layernorm", "DeepseekV3RMSNorm"},
        {"model.layers.0.self_attn.kv_a_proj_with_mqa", "Linear"},
        {"model.layers.0.self_attn.kv_b_proj", "Linear"},
        {"model.layers.0.mlp", "DeepseekV3MLP"},
        {"model.layers.1.mlp", "DeepseekV3MoE"},
        {"model.layers.1.mlp.gate", "DeepseekV3TopkRouter"},
        {"model.layers.1.mlp.experts", "DeepseekV3NaiveMoe"},
        {"model.layers.1.mlp.shared_experts", "DeepseekV3MLP"}}},
      {"deepseek_v32",
       {{"", "DeepseekV32ForCausalLM"},
        {"model.layers.1.self_attn.indexer", "DeepseekV32Indexer"},
        {"model.layers.1.self_attn.indexer.wq_b", "Linear"},
        {"model.layers.1.self_attn.indexer.k_norm", "LayerNorm"},
        {"model.layers.1.self_attn.indexer.weights_proj", "Linear"}}},
      {"glm_moe_dsa", {{"", "GlmMoeDsaForCausalLM"}, {"model.layers.2.self_attn.indexer", "GlmMoeDsaIndexer"}}},
      {"nemotron_h",
       {{"", "NemotronHForCausalLM"},
        {"model", "NemotronHModel"},
        {"model.embeddings", "Embedding"},
        {"model.layers.0", "NemotronHBlock"},
        {"model.layers.0.norm", "NemotronHRMSNorm"},
        {"model.layers.0.mixer", "NemotronHMamba2Mixer"},
        {"model.layers.0.mixer.conv1d", "Conv1d"},
        {"model.layers.0.mixer.in_proj", "Linear"},
        {"model.layers.0.mixer.norm", "Zamba2RMSNormGated"},
        {"model.layers.1.mixer", "NemotronHAttention"},
        {"model.layers.2.mixer", "NemotronHMLP"},
        {"model.layers.2.mixer.act_fn", "ReLUSquaredActivation"},
        {"model.layers.4.mixer", "NemotronHMoE"},
        {"model.layers.4.mixer.gate", "NemotronHTopkRouter"},
        {"model.layers.4.mixer.experts", "NemotronHExperts"},
        {"model.layers.4.mixer.fc1_latent_proj", "Linear"},
        {"model.norm_f", "NemotronHRMSNorm"}}},
      {"qwen3_next",
       {{"", "Qwen3NextForCausalLM"},
        {"model.layers.0.linear_attn", "Qwen3NextGatedDeltaNet"},
        {"model.layers.0.linear_attn.in_proj_qkvz", "Linear"},
        {"model.layers.0.linear_attn.in_proj_ba", "Linear"},
        {"model.layers.0.linear_attn.conv1d", "Conv1d"},
        {"model.layers.0.linear_attn.norm", "Qwen3NextRMSNormGated"},
        {"model.layers.3.self_attn", "Qwen3NextAttention"},
        {"model.layers.3.self_attn.q_norm", "Qwen3NextRMSNorm"},
        {"model.layers.0.mlp", "Qwen3NextSparseMoeBlock"},
        {"model.layers.0.mlp.shared_expert_gate", "Linear"},
        {"model.layers.1.mlp", "Qwen3NextMLP"}}},
      {"qwen3_5",
       {{"", "Qwen3_5ForCausalLM"},
        {"model", "Qwen3_5TextModel"},
        {"model.layers.0.linear_attn.in_proj_qkv", "Linear"},
        {"model.layers.0.linear_attn.in_proj_a", "Linear"},
        {"model.layers.3.self_attn", "Qwen3_5Attention"},
        {"model.layers.3.mlp", "Qwen3_5MLP"}}},
      {"qwen3_5_moe",
       {{"", "Qwen3_5MoeForCausalLM"},
        {"model.layers.0.mlp", "Qwen3_5MoeSparseMoeBlock"},
        {"model.layers.0.mlp.experts", "Qwen3_5MoeExperts"}}},
  };
  for (const auto& [family, paths] : expected) {
    const auto found = modules_of(config_of(tiny(family), family));
    for (const auto& [path, cls] : paths) {
      auto it = found.find(path);
      ASSERT_NE(it, found.end()) << family << ": no node '" << path << "'";
      EXPECT_EQ(it->second, cls) << family << ": " << path;
    }
  }
  // Gemma 4's global layers reuse the keys' projection as values; Llama 4's NoPE layers have no qk_norm.
  const auto gemma4 = modules_of(config_of(tiny("gemma4")));
  EXPECT_EQ(gemma4.count("model.layers.2.self_attn.v_proj"), 0u);
  const auto llama4 = modules_of(config_of(tiny("llama4")));
  EXPECT_EQ(llama4.count("model.layers.3.self_attn.qk_norm"), 0u);
}

std::shared_ptr<CausalLM> build_real(const ModelConfig& c, uint64_t seed) {
  torch::manual_seed(seed);
  auto lm = make_causal_lm(c, Init{at::TensorOptions()});
  assign_paths(*lm);
  // Larger weights than Hugging Face's init, so that norms' gains, biases, sinks and the
  // routers' choices all matter.
  for (auto& p : lm->parameters()) p.data().normal_(0, 0.3);
  return lm;
}

// Decoding step by step over the cache (or the recurrent state) must give the logits a
// plain forward pass over the whole sequence gives at the same positions: chunked and
// sliding spans, NoPE temperature, sinks, latent attention absorbed at decode and
// decompressed at prefill, the sparse indexer's picks, Mamba-2's and DeltaNet's states.
TEST(Families2026Test, DecodingOverTheCacheOrStateMatchesAPlainForwardPass) {
  for (const std::string& family : kFamilies) {
    for (bool eager : {false, true}) {
      const ModelConfig c = config_of(tiny(family), family);
      auto lm = build_real(c, 11);
      c10::InferenceMode guard;
      lm->plain_options.eager = eager;
      torch::manual_seed(5);
      const at::Tensor ids = at::randint(64, {2, 7}, at::kLong);
      const at::Tensor full = lm->forward(ids);
      KvCache cache = lm->new_cache(2, 7, at::TensorOptions());
      StepOptions o{.eager = eager};
      at::Tensor prefill = lm->step(ids.slice(1, 0, 4), cache, o);
      EXPECT_TRUE(at::allclose(prefill, full.slice(1, 0, 4), 1e-4, 1e-4))
          << family << ": prefill differs by " << (prefill - full.slice(1, 0, 4)).abs().max().item<double>();
      for (int64_t p = 4; p < 7; ++p) {
        at::Tensor logits = lm->step(ids.slice(1, p, p + 1), cache, o);
        EXPECT_TRUE(at::allclose(logits.squeeze(1), full.select(1, p), 1e-4, 1e-4))
            << family << (eager ? " eager" : " sdpa") << " at position " << p << ": max difference "
            << (logits.squeeze(1) - full.select(1, p)).abs().max().item<double>();
      }
    }
  }
}

// Real runs follow their routers; shapes-only runs spread routed rows evenly. Without
// experts the two must give the same tree, node for node.
TEST(Families2026Test, ShapesOnlyTracesEqualRealRunsWithoutExperts) {
  std::vector<nlohmann::json> dense = {tiny("gemma3"), tiny("qwen3_5")};
  nlohmann::json nemotron = tiny("nemotron_h");
  nemotron["hybrid_override_pattern"] = "M*-M*";
  dense.push_back(nemotron);
  nlohmann::json gemma4 = tiny("gemma4");
  gemma4["text_config"]["enable_moe_block"] = false;
  dense.push_back(gemma4);
  nlohmann::json deepseek = tiny("deepseek_v32");
  deepseek["first_k_dense_replace"] = 3;
  dense.push_back(deepseek);
  for (const auto& j : dense) {
    const ModelConfig c = config_of(j);
    for (int64_t new_tokens : {0, 3}) {
      RunOptions real{2, 4};
      real.new_tokens = new_tokens;
      RunOptions meta = real;
      meta.shapes_only = true;
      meta.dtype = "float32";
      auto a = trace_model(c, real), b = trace_model(c, meta);
      ASSERT_TRUE(a.is_ok() && b.is_ok()) << c.model_type << ": " << a.status().to_string() << b.status().to_string();
      ASSERT_EQ(a->nodes.size(), b->nodes.size()) << c.model_type;
      for (size_t i = 0; i < a->nodes.size(); ++i) {
        const tree::Node &x = a->nodes[i], &y = b->nodes[i];
        ASSERT_EQ(x.path, y.path) << c.model_type << " node " << i;
        EXPECT_EQ(x.cls, y.cls) << x.path;
        EXPECT_EQ(x.flops, y.flops) << c.model_type << " " << x.path << " " << x.cls;
        EXPECT_EQ(x.mem_bytes, y.mem_bytes) << c.model_type << " " << x.path << " " << x.cls;
        EXPECT_EQ(x.shapes, y.shapes) << x.path;
      }
    }
  }
}

// Parameter counts of the bundled configs against published figures (sources in
// docs/bundled-configs.md). irene counts as transformers v5's num_parameters(): every
// parameter once, buffers (DeepSeek's e_score_correction_bias, Gemma 4's layer_scalar)
// not, the language model alone for multimodal checkpoints, the multi-token-prediction
// layers apart. Active: all but the routed experts a token is not sent to, embeddings
// and lm_head included.
TEST(Families2026Test, ParameterCountsAgreeWithThePublishedFigures) {
  struct Count {
    const char* name;
    int64_t total, active;
  };
  // Published as exact integers.
  const Count exact[] = {
      // gpt-oss model card (arXiv 2508.10925), Table 1: totals; its active counts exclude the
      // input embedding (3,608,307,264 and 5,132,849,472), ours add vocab x hidden.
      {"openai/gpt-oss-20b", 20914757184, 3608307264 + 201088LL * 2880},
      {"openai/gpt-oss-120b", 116829156672, 5132849472 + 201088LL * 2880},
      // The Hub's total (and a test's active count) of Qwen3-Coder-Next, of the same dimensions.
      {"Qwen/Qwen3-Next-80B-A3B-Instruct", 79674391296, 3874929408},
      // keras-hub's gemma3_{12b,27b}_text presets count a vocabulary of 262,144; the Hub's
      // configs have 262,208 (64 rows more).
      {"google/gemma-3-12b-it", 11765788416 + 64LL * 3840, 11765788416 + 64LL * 3840},
      {"google/gemma-3-27b-it", 27009002240 + 64LL * 5376, 27009002240 + 64LL * 5376},
      // NVIDIA-Nemotron-Nano-12B-v2-Base model card: 12.31B (and the arithmetic to the digit).
      {"nvidia/NVIDIA-Nemotron-Nano-12B-v2", 12310001152, 12310001152},
  };
  for (const auto& e : exact) {
    auto c = bundled_config(e.name);
    ASSERT_TRUE(c.is_ok()) << e.name << ": " << c.status().to_string();
    auto s = summarize(*c).value();
    EXPECT_EQ(s.parameters, e.total) << e.name;
    EXPECT_EQ(s.active_parameters, e.active) << e.name;
  }
  // Published rounded ("671B total, 37B activated"): within half a unit of the last
  // digit. DeepSeek's and Moonshot's activated counts leave out the input embedding (as
  // gpt-oss's card says its own do); Google's and NVIDIA's include it.
  struct Rounded {
    const char* name;
    double total, total_unit, active, active_unit;
    bool active_without_embedding;
  };
  const Rounded rounded[] = {
      {"deepseek-ai/DeepSeek-V3", 671e9, 1e9, 37e9, 1e9, true},       // DeepSeek-V3 README: 671B / 37B
      {"deepseek-ai/DeepSeek-V3.1", 671e9, 1e9, 37e9, 1e9, true},     // model card
      {"deepseek-ai/DeepSeek-R1-0528", 671e9, 1e9, 37e9, 1e9, true},  // model card
      {"moonshotai/Kimi-K2-Instruct", 1e12, 0.1e12, 32e9, 1e9, true}, // model card: "1T", "32B activated"
      {"zai-org/GLM-5", 744e9, 1e9, 41e9, 2e9, true},                 // tech report: 744B total, 40B activated
      {"google/gemma-4-26B-A4B", 25.2e9, 0.1e9, 3.8e9, 0.1e9, false}, // model card: 25.2B total, 3.8B active
      {"nvidia/NVIDIA-Nemotron-3-Nano-30B-A3B-BF16", 31.6e9, 0.1e9, 3.6e9, 0.1e9, false},  // 3.6B incl. embeddings
      {"nvidia/NVIDIA-Nemotron-Nano-9B-v2", 8.89e9, 0.01e9, 8.89e9, 0.01e9, false},        // "8.89 billion"
      {"nvidia/Nemotron-H-56B-Base-8K", 56e9, 1e9, 56e9, 1e9, false},
      {"meta-llama/Llama-4-Maverick-17B-128E-Instruct", 400e9, 2e9, 17e9, 1e9, false},     // 400B / 17B, round figures
  };
  for (const auto& r : rounded) {
    auto c = bundled_config(r.name);
    ASSERT_TRUE(c.is_ok()) << r.name << ": " << c.status().to_string();
    auto s = summarize(*c).value();
    const double embedding = static_cast<double>(c->vocab_size) * static_cast<double>(c->hidden_size);
    EXPECT_NEAR(static_cast<double>(s.parameters), r.total, r.total_unit / 2) << r.name;
    EXPECT_NEAR(static_cast<double>(s.active_parameters) - (r.active_without_embedding ? embedding : 0), r.active,
                r.active_unit / 2)
        << r.name;
  }
  // DeepSeek's multi-token-prediction layer: README_WEIGHTS' "11.5B unique" (its decoder
  // layer), plus eh_proj [hidden, 2 hidden] and three norms.
  auto v3 = summarize(bundled_config("deepseek-ai/DeepSeek-V3").value()).value();
  EXPECT_EQ(v3.mtp_layers, 1);
  ASSERT_TRUE(v3.mtp_parameters.has_value());
  EXPECT_NEAR(static_cast<double>(*v3.mtp_parameters - 2 * 7168LL * 7168 - 3 * 7168), 11.5e9, 0.05e9);
  // Multimodal checkpoints: the language model alone.
  auto scout = summarize(bundled_config("meta-llama/Llama-4-Scout-17B-16E-Instruct").value()).value();
  EXPECT_EQ(scout.model_type, "llama4");
  EXPECT_EQ(scout.family, "Llama 4");
}

// Hand-computed figures of one decode step (batch 2, after 5 positions) for a tiny
// hybrid: the Mamba-2 scan reads and writes its state once, the DeltaNet rule likewise,
// the latent attention reads the latent cache of 8 + 4 values per position.
TEST(Families2026Test, DecodeStepFiguresOfTheNewMixers) {
  auto step = [](const nlohmann::json& j) {
    RunOptions o{2, 5, /*shapes_only=*/true};
    o.new_tokens = 3;
    o.decode_step = 0;
    o.dtype = "float32";
    return trace_model(config_of(j), o).value();
  };
  auto node = [](const tree::Tree& t, const std::string& cls) -> const tree::Node& {
    for (const auto& n : t.nodes)
      if (n.cls == cls) return n;
    ADD_FAILURE() << "no " << cls;
    static tree::Node none;
    return none;
  };
  {  // Mamba-2: heads 4 x head_dim 8 x state 4, groups 2
    const tree::Tree t = step(tiny("nemotron_h"));
    const tree::Node& scan = node(t, "irene::selective_state_update");
    const int64_t b = 2, heads = 4, p = 8, n = 4, g = 2;
    EXPECT_EQ(scan.flops, b * heads * p * (5 * n + 2));
    const int64_t state = b * heads * p * n * 4;
    const int64_t io = 4 * (b * heads * p * 2 + b * heads + 2 * b * g * n);  // x and y, dt, B and C
    EXPECT_EQ(scan.mem_bytes, io + 2 * state);
    const tree::Node& conv = node(t, "aten::conv1d");
    const int64_t channels = heads * p + 2 * g * n, k = 4;
    EXPECT_EQ(conv.flops, 2 * b * channels * k + b * channels);
    ASSERT_TRUE(t.generation.has_value());
    // One Mamba-2 layer's state (conv: channels x 3 at float32, SSM: 4 x 8 x 4 at float32)
    // plus the attention layer's keys and values at 5 + 3 positions.
    EXPECT_EQ(t.generation->state_bytes, b * (channels * 3 * 4 + heads * p * n * 4) * 2);  // layers 0 and 3 are Mamba-2
    EXPECT_EQ(t.generation->kv_cache_bytes, t.generation->state_bytes + b * 2 * 2 * 8 * 8 * 4);
  }
  {  // gated DeltaNet: 4 value heads of 8 x 8
    const tree::Tree t = step(tiny("qwen3_next"));
    const tree::Node& rule = node(t, "irene::recurrent_gated_delta_rule");
    const int64_t b = 2, heads = 4, dk = 8, dv = 8;
    EXPECT_EQ(rule.flops, 7 * b * heads * dk * dv + b * heads * 6 * dk);
    EXPECT_EQ(rule.mem_bytes, 4 * (b * heads * (2 * dk + 2 * dv + 2)) + 2 * b * heads * dk * dv * 4);
  }
  {  // latent attention: 4 heads, latent 8 + rope 4, 6 keys; absorbed at decode
    const tree::Tree t = step(tiny("deepseek_v3"));
    const tree::Node& mla = node(t, "irene::mla_attention");
    const int64_t b = 2, heads = 4, r = 8, rope = 4, keys = 6;
    EXPECT_EQ(mla.flops, b * heads * keys * (2 * (r + rope) + 2 * r + 7));
    EXPECT_EQ(mla.mem_bytes, 4 * (b * heads * (r + rope) + b * keys * (r + rope) + b * heads * r));
    ASSERT_TRUE(t.generation.has_value());
    EXPECT_EQ(t.generation->kv_cache_bytes, 3 * b * 8 * (r + rope) * 4);  // three layers, 8 positions
    EXPECT_EQ(t.generation->state_bytes, 0);
  }
}

// Quantised checkpoints keep their FLOPs; their layers' bytes are the stored values and
// scales, and each node says how its weights are stored.
TEST(Families2026Test, QuantisedWeightsCountTheirStoredBytes) {
  nlohmann::json j = tiny("deepseek_v3");
  RunOptions o{1, 4, /*shapes_only=*/true};
  o.dtype = "bfloat16";
  const tree::Tree plain = trace_model(config_of(j), o).value();
  j["quantization_config"] = {{"quant_method", "fp8"}, {"fmt", "e4m3"}, {"weight_block_size", {4, 4}}};
  const tree::Tree fp8 = trace_model(config_of(j), o).value();
  const int i = plain.find("model.layers.0.self_attn.q_b_proj", "Linear");
  ASSERT_GE(i, 0);
  EXPECT_EQ(fp8.nodes[i].flops, plain.nodes[i].flops);
  // q_b_proj [4 x 12, 16]: 768 values at 1 byte instead of 2, and (48/4) x (16/4) float32 scales.
  EXPECT_EQ(plain.nodes[i].mem_bytes - fp8.nodes[i].mem_bytes, 768 * 2 - (768 + 12 * 4 * 4));
  EXPECT_EQ(fp8.nodes[i].weight_dtype, "fp8_e4m3 (4x4 blocks)");
  EXPECT_EQ(plain.nodes[i].weight_dtype, "bfloat16");
  // lm_head stays as it is (transformers' FP8 quantizer leaves the output layer), so do the norms.
  const int head = fp8.find("lm_head", "Linear");
  EXPECT_EQ(fp8.nodes[head].weight_dtype, "bfloat16");
  const int experts = fp8.find("model.layers.1.mlp.experts", "DeepseekV3NaiveMoe");
  ASSERT_GE(experts, 0);
  EXPECT_EQ(fp8.nodes[experts].weight_dtype, "fp8_e4m3 (4x4 blocks)");
  EXPECT_LT(fp8.nodes[experts].mem_bytes, plain.nodes[experts].mem_bytes);
}

}  // namespace
}  // namespace irene::models
