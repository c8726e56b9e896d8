// The lowering of traced steps to an engine's kernels, on tiny configs whose kernels can
// be counted by hand.
#include "engines/lowering.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "models/zoo.h"

namespace irene::engines {
namespace {

// 2 layers, hidden 32, 4 heads of 8 (2 key/value heads), MLP 48, vocabulary 64.
nlohmann::json tiny_llama() {
  return {{"model_type", "llama"},       {"vocab_size", 64},         {"hidden_size", 32},
          {"intermediate_size", 48},     {"num_hidden_layers", 2},   {"num_attention_heads", 4},
          {"num_key_value_heads", 2},    {"max_position_embeddings", 128}, {"torch_dtype", "bfloat16"}};
}

tree::Tree decode_step(const nlohmann::json& config, int64_t batch, bool compact = false) {
  const models::ModelConfig c = models::parse_config(config, "tiny").value();
  models::RunOptions o{batch, 10, /*shapes_only=*/true};
  o.new_tokens = 4;
  o.decode_step = 2;
  o.compact_layers = compact;
  return models::trace_model(c, o).value();
}

std::vector<std::string> names_in(const LoweredStep& s, const std::string& scope_prefix) {
  std::vector<std::string> out;
  for (const auto& k : s.kernels)
    if (k.scope.rfind(scope_prefix, 0) == 0) out.push_back(k.name);
  return out;
}

TEST(LoweringTest, EagerRunsEveryAtenOpThatMovesBytes) {
  const tree::Tree t = decode_step(tiny_llama(), 3);
  const LoweredStep s = lower(t, Kernels::kEager);
  int ops = 0;
  for (const auto& n : t.nodes)
    if (n.kind == tree::NodeKind::kMath && (n.flops > 0 || n.mem_bytes > 0)) ++ops;
  EXPECT_EQ(s.kernel_count(), ops);
  EXPECT_EQ(s.layers, 2);
}

// A decoder layer as vLLM runs it: one GEMM for q/k/v, the rotary embedding and cache
// write, the attention, o_proj, residual add + RMSNorm, one GEMM for gate/up, SiLU-and-mul,
// down_proj, and the next residual add + RMSNorm: 9 kernels; the model adds the embedding
// (fused with the first norm), lm_head and the last norm.
TEST(LoweringTest, FusedRunsNineKernelsALlamaLayer) {
  const tree::Tree t = decode_step(tiny_llama(), 3);
  const LoweredStep s = lower(t, Kernels::kFused);
  const std::vector<std::string> layer = names_in(s, "model.layers.0");
  ASSERT_EQ(layer.size(), 9u) << ::testing::PrintToString(layer);
  EXPECT_EQ(layer[0], "qkv_proj");
  EXPECT_EQ(layer[2], "attention");
  EXPECT_EQ(layer[3], "o_proj");
  EXPECT_EQ(layer[5], "gate_up_proj");
  EXPECT_EQ(layer[7], "down_proj");
  EXPECT_EQ(layer[8], "add+input_layernorm");  // the next layer's norm, with this one's residual add
  // Kernels in all: 9 a layer, the embedding with the first norm, lm_head (the last
  // layer's add fuses with the final norm).
  EXPECT_EQ(s.kernel_count(), 2 * 9 + 2);
  // The packed GEMM: q (32 -> 32), k and v (32 -> 16 each), 3 rows, bf16 weights read once.
  const auto& qkv = *std::find_if(s.kernels.begin(), s.kernels.end(), [](const EngineKernel& k) {
    return k.name == "qkv_proj" && k.scope == "model.layers.0.self_attn";
  });
  EXPECT_EQ(qkv.flops, 2.0 * 3 * 32 * (32 + 16 + 16));
  EXPECT_EQ(qkv.weight_bytes, 2.0 * 32 * (32 + 16 + 16));
  EXPECT_EQ(qkv.activation_bytes, 2.0 * 3 * (32 + 32 + 16 + 16));  // the input once, three outputs
  EXPECT_EQ(qkv.nodes.size(), 3u);
  // Every math node that moves bytes is covered once (the rotary table aside).
  std::vector<int> covered(t.nodes.size(), 0);
  for (const auto& k : s.kernels)
    for (int i : k.nodes) ++covered[static_cast<size_t>(i)];
  for (size_t i = 0; i < t.nodes.size(); ++i) EXPECT_LE(covered[i], 1) << t.nodes[i].path;
}

TEST(LoweringTest, ACompactTraceCountsItsIdenticalLayers) {
  const LoweredStep whole = lower(decode_step(tiny_llama(), 3), Kernels::kFused);
  const LoweredStep compact = lower(decode_step(tiny_llama(), 3, true), Kernels::kFused);
  EXPECT_EQ(whole.kernel_count(), compact.kernel_count());
  EXPECT_LT(compact.kernels.size(), whole.kernels.size());
  EXPECT_EQ(compact.layers, whole.layers);
  double flops_whole = 0, flops_compact = 0;
  for (const auto& k : whole.kernels) flops_whole += k.count * k.flops;
  for (const auto& k : compact.kernels) flops_compact += k.count * k.flops;
  EXPECT_DOUBLE_EQ(flops_whole, flops_compact);
}

TEST(LoweringTest, DistinctExpertsFollowTheUniformRoutingFormula) {
  EXPECT_DOUBLE_EQ(distinct_experts(1, 128), 1);
  EXPECT_NEAR(distinct_experts(2, 4), 4 * (1 - 0.75 * 0.75), 1e-12);
  EXPECT_NEAR(distinct_experts(64 * 8, 128), 128 * (1 - std::pow(127.0 / 128, 512)), 1e-9);
  EXPECT_GT(distinct_experts(4096, 128), 127.99);
  EXPECT_EQ(distinct_experts(0, 128), 0);
}

// Qwen3-MoE's experts run one by one in transformers (each with its own projections);
// the fused MoE runs them as two grouped GEMMs whatever their number, reading each
// touched expert once.
TEST(LoweringTest, EagerExpertsBecomeOneFusedMoe) {
  nlohmann::json j = tiny_llama();
  j.update({{"model_type", "qwen3_moe"}, {"num_experts", 8}, {"num_experts_per_tok", 2}, {"moe_intermediate_size", 16},
            {"head_dim", 8}, {"decoder_sparse_step", 1}, {"norm_topk_prob", true}});
  const tree::Tree t = decode_step(j, 3);
  const LoweredStep s = lower(t, Kernels::kFused);
  const auto w13 = std::find_if(s.kernels.begin(), s.kernels.end(), [](const EngineKernel& k) {
    return k.name == "fused_moe.w13" && k.scope == "model.layers.0.mlp.experts";
  });
  ASSERT_NE(w13, s.kernels.end()) << ::testing::PrintToString(names_in(s, "model.layers.0"));
  EXPECT_EQ(w13->num_experts, 8);
  EXPECT_EQ(w13->routed_rows, 3 * 2);
  // gate and up of one expert: 2 x 32 x 16 bf16 values.
  EXPECT_DOUBLE_EQ(w13->expert_bytes, 2.0 * 2 * 32 * 16);
  EXPECT_DOUBLE_EQ(w13->flops, 2.0 * 3 * 2 * 32 * 2 * 16);  // rows x in x (gate + up) x 2
  EXPECT_NEAR(w13->bytes() - w13->activation_bytes, distinct_experts(6, 8) * w13->expert_bytes, 1e-6);
  const std::vector<std::string> moe = names_in(s, "model.layers.0.mlp.experts");
  EXPECT_EQ(std::count(moe.begin(), moe.end(), "fused_moe.w2"), 1);
  EXPECT_LE(moe.size(), 5u);
}

TEST(LoweringTest, GroupedExpertsKeepTheirRoutedRowsAndBytes) {
  nlohmann::json j = tiny_llama();
  j.update({{"model_type", "gpt_oss"}, {"intermediate_size", 16}, {"num_local_experts", 4},
            {"num_experts_per_tok", 2}, {"head_dim", 8}, {"sliding_window", 3},
            {"layer_types", {"sliding_attention", "full_attention"}}});
  const LoweredStep s = lower(decode_step(j, 5), Kernels::kFused);
  const auto w2 = std::find_if(s.kernels.begin(), s.kernels.end(),
                               [](const EngineKernel& k) { return k.name == "fused_moe.w2"; });
  ASSERT_NE(w2, s.kernels.end());
  EXPECT_EQ(w2->num_experts, 4);
  EXPECT_EQ(w2->routed_rows, 10);
  // gpt-oss's down projection: [16 -> 32], bf16 (its bias is added by the next op; the
  // trace's bytes are whole numbers, hence the tolerance).
  EXPECT_NEAR(w2->expert_bytes, 2.0 * 16 * 32, 0.5);
}

// MXFP4 experts are unpacked inside the GEMM where they are read (W4A16); the layers the
// checkpoint keeps in bf16, and FP8 weights (on their tensor cores), are not.
TEST(LoweringTest, PackedExpertsAreUnpackedByTheirGemms) {
  nlohmann::json j = tiny_llama();
  j.update({{"model_type", "gpt_oss"}, {"intermediate_size", 16}, {"num_local_experts", 4},
            {"num_experts_per_tok", 2}, {"head_dim", 8}, {"sliding_window", 3},
            {"layer_types", {"sliding_attention", "full_attention"}}});
  auto unpacking = [](const LoweredStep& s) {
    std::set<std::string> out;
    for (const EngineKernel& k : s.kernels)
      if (k.dequantises) out.insert(k.name);
    return out;
  };
  EXPECT_TRUE(unpacking(lower(decode_step(j, 5), Kernels::kFused)).empty());  // bf16 experts
  j["quantization_config"] = {{"quant_method", "mxfp4"},
                              {"modules_to_not_convert", {"model.layers.*.self_attn", "model.layers.*.mlp.router",
                                                          "model.embed_tokens", "lm_head"}}};
  EXPECT_EQ(unpacking(lower(decode_step(j, 5), Kernels::kFused)), (std::set<std::string>{"fused_moe.w13", "fused_moe.w2"}));
  nlohmann::json fp8 = tiny_llama();
  fp8["quantization_config"] = {{"quant_method", "fp8"}, {"weight_block_size", {8, 8}}};
  EXPECT_TRUE(unpacking(lower(decode_step(fp8, 5), Kernels::kFused)).empty());
}

// DeepSeek's router reads its weight in float32 each step (transformers casts it); an
// engine holds the weight as it computes, so the cast is no kernel: the router's bytes
// grow with the tokens, not with the experts' count times the hidden size.
TEST(LoweringTest, ARoutersWeightCastIsNoKernel) {
  nlohmann::json j = tiny_llama();
  j.update({{"model_type", "deepseek_v3"}, {"n_routed_experts", 64}, {"num_experts_per_tok", 2},
            {"moe_intermediate_size", 16}, {"n_shared_experts", 1}, {"first_k_dense_replace", 1},
            {"kv_lora_rank", 16}, {"q_lora_rank", 24}, {"qk_rope_head_dim", 4}, {"qk_nope_head_dim", 8},
            {"v_head_dim", 8}, {"n_group", 1}, {"topk_group", 1}, {"routed_scaling_factor", 1.0},
            {"topk_method", "noaux_tc"}, {"scoring_func", "sigmoid"}, {"norm_topk_prob", true}});
  const tree::Tree step = decode_step(j, 1);
  bool cast_traced = false;
  for (const tree::Node& n : step.nodes)
    if (n.cls == "aten::_to_copy" && n.shapes.find("[64,32]") != std::string::npos) cast_traced = true;
  ASSERT_TRUE(cast_traced) << "the tiny DeepSeek router no longer casts its weight; the test needs another";
  const LoweredStep s = lower(step, Kernels::kFused);
  for (const EngineKernel& k : s.kernels)
    if (k.op_class == predict::OpClass::kElementwise)
      EXPECT_LT(k.activation_bytes, 64 * 32 * 4) << k.scope << " " << k.name;
}

// A decode batch with prefill tokens beside it: one launch per kernel, the weights read
// once, the work of both.
TEST(LoweringTest, AMixedIterationReadsTheWeightsOnce) {
  const LoweredStep decode = lower(decode_step(tiny_llama(), 3, true), Kernels::kFused);
  const models::ModelConfig c = models::parse_config(tiny_llama(), "tiny").value();
  models::RunOptions o{1, 20, true};
  o.new_tokens = 1;
  o.prefill_only = true;
  o.compact_layers = true;
  const LoweredStep prefill = lower(models::trace_model(c, o).value(), Kernels::kFused);
  const std::vector<PairedKernel> paired = pair_up(decode, prefill);
  double decode_launches = 0, prefill_only = 0;
  for (const auto& p : paired) {
    decode_launches += p.a.count;
    if (p.a.count == 0) prefill_only += p.b.count;
    if (p.a.name == "gate_up_proj" && p.a.scope == "model.layers.0.mlp") {
      // One launch, the same weights for both: the decode batch's 3 rows and the prompt's 20.
      EXPECT_EQ(p.a.weight_bytes, p.b.weight_bytes);
      EXPECT_DOUBLE_EQ(p.a.flops, 2.0 * 3 * 32 * 96);
      EXPECT_DOUBLE_EQ(p.b.flops, 2.0 * 20 * 32 * 96);
    }
  }
  EXPECT_EQ(decode_launches, decode.kernel_count());
  EXPECT_LE(prefill_only, 3);  // what a prefill alone runs (its masks)
}

}  // namespace
}  // namespace irene::engines
