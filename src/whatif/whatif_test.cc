// Side by side: FP8 against BF16 weights, an edited config, fewer layers, expert against
// tensor parallelism; the differences land on the nodes that changed, and bad changes
// are refused naming what is allowed.
#include "whatif/whatif.h"

#include <gtest/gtest.h>

#include <cmath>

#include "models/zoo.h"

namespace irene::whatif {
namespace {

Side llama(int64_t batch = 64) {
  Side s{models::bundled_config("meta-llama/Llama-3.1-8B").value(), machines::find_machine("h100-sxm5-80gb").value(),
         serving::ServingConfig{batch, 634, 700, 1, 1, ""}};
  s.serving.engine = "vllm-0.11.1";
  return s;
}

const std::vector<serving::ServingPredictor>& shipped() { return serving::shipped_serving_predictors(); }

const NodeDiff* find(const NodeDiff& d, const std::string& path) {
  if (d.path == path) return &d;
  for (const NodeDiff& c : d.children)
    if (const NodeDiff* f = find(c, path)) return f;
  return nullptr;
}

TEST(WhatIfTest, Fp8WeightsShrinkTheProjectionsAndTheTreeAddsUpToEachStep) {
  const Comparison c = compare(llama(), {{"quantization", "fp8"}}, shipped()).value();
  EXPECT_NEAR(c.root.a_j, c.a.step->root().energy_j.value() / 64, 1e-12);
  EXPECT_NEAR(c.root.b_j, c.b.step->root().energy_j.value() / 64, 1e-12);
  EXPECT_LT(c.root.b_j, c.root.a_j);
  const NodeDiff* down = find(c.root, "model.layers.0.mlp.down_proj");
  ASSERT_NE(down, nullptr);
  EXPECT_LT(down->delta(), 0);
  // Largest first, at every level.
  for (size_t i = 1; i < c.root.children.size(); ++i)
    EXPECT_GE(std::abs(c.root.children[i - 1].delta()), std::abs(c.root.children[i].delta()));
  ASSERT_FALSE(c.by_kind.empty());
  EXPECT_EQ(c.by_kind.front().cls, "Linear");  // the weights streamed: the projections change most
  EXPECT_LT(c.by_kind.front().b_j, c.by_kind.front().a_j);
  const nlohmann::json j = to_json(c, 2);
  EXPECT_EQ(j["changes"]["quantization"], "fp8");
  EXPECT_TRUE(j["tree"]["children"].is_array());
}

TEST(WhatIfTest, AnEditedConfigChangesItsNodesAndFewerLayersLeaveNodesOnOneSide) {
  const Comparison gqa = compare(llama(), {{"config.num_key_value_heads", "2"}}, shipped()).value();
  const NodeDiff* k = find(gqa.root, "model.layers.0.self_attn.k_proj");
  ASSERT_NE(k, nullptr);
  EXPECT_LT(k->delta(), 0);  // 2 KV heads rather than 8: a quarter of the projection
  EXPECT_LT(gqa.b.estimate.energy_per_output_token_j, gqa.a.estimate.energy_per_output_token_j);
  EXPECT_TRUE(gqa.notes.empty());
  // A key the config lacks is set but said: the family may not read it.
  const Comparison misspelt = compare(llama(), {{"config.num_key_value_head", "2"}}, shipped()).value();
  ASSERT_EQ(misspelt.notes.size(), 1u);
  EXPECT_NE(misspelt.notes[0].find("num_key_value_head' was not in the config"), std::string::npos);
  EXPECT_DOUBLE_EQ(misspelt.root.a_j, misspelt.root.b_j);

  const Comparison half = compare(llama(), {{"config.num_hidden_layers", "16"}}, shipped()).value();
  const NodeDiff* gone = find(half.root, "model.layers.20");
  ASSERT_NE(gone, nullptr);
  EXPECT_TRUE(gone->in_a);
  EXPECT_FALSE(gone->in_b);
  EXPECT_EQ(gone->b_j, 0);
  EXPECT_LT(half.root.b_j, 0.7 * half.root.a_j);
}

TEST(WhatIfTest, ExpertParallelismAgainstTensorParallelismOnAnotherMachine) {
  Side a{models::bundled_config("Qwen/Qwen3-30B-A3B").value(), machines::find_machine("h100-sxm5-80gb").value(),
         serving::ServingConfig{256, 634, 700, 8, 1, ""}};
  a.serving.engine = "vllm-0.11.1";
  const Comparison c = compare(a, {{"expert_parallel", "true"}, {"data_parallel", "8"}, {"machine", "b200"}}, shipped()).value();
  EXPECT_EQ(c.b.served.data_parallel, 8);
  EXPECT_TRUE(c.b.served.expert_parallel);
  EXPECT_EQ(c.b.doc["machine"], "b200");
  EXPECT_NE(c.root.a_j, c.root.b_j);
}

TEST(WhatIfTest, EagerAttentionMaterialisesTheScoresUnderAnEngineOfTransformersOps) {
  Side a = llama(32);
  a.machine = machines::find_machine("a100-sxm4-40gb").value();
  a.serving.engine = "vllm-0.5.4";
  const Comparison c = compare(a, {{"attention", "eager"}}, shipped()).value();
  EXPECT_GT(c.root.b_j, c.root.a_j);  // the scores written and read back
  const NodeDiff* attn = find(c.root, "model.layers.0.self_attn");
  ASSERT_NE(attn, nullptr);
  bool only_a = false, only_b = false;
  for (const NodeDiff& n : attn->children) {
    only_a |= n.in_a && !n.in_b;  // the fused SDPA node
    only_b |= n.in_b && !n.in_a;  // MatMul, Softmax
  }
  EXPECT_TRUE(only_a && only_b);
  // An engine with its own attention kernel refuses it, saying so.
  auto v1 = compare(llama(), {{"attention", "eager"}}, shipped());
  ASSERT_FALSE(v1.is_ok());
  EXPECT_NE(v1.status().message().find("runs its own attention kernel"), std::string::npos);
}

// A prompt half cached (a shared system prompt): B prefills half of each prompt.
TEST(WhatIfTest, ACachedShareOfThePromptsPrefillsLess) {
  const Comparison c = compare(llama(), {{"prompt_cached_share", "0.5"}}, shipped()).value();
  EXPECT_EQ(c.a.estimate.prompt_cached_share, 0);
  EXPECT_EQ(c.b.estimate.prompt_cached_share, 0.5);
  EXPECT_LT(c.b.estimate.energy_per_output_token_j, c.a.estimate.energy_per_output_token_j);
  EXPECT_LT(c.b.estimate.time_split.prefill_s, c.a.estimate.time_split.prefill_s);
  for (const char* bad : {"1", "-0.1", "half"}) {
    auto r = compare(llama(), {{"prompt_cached_share", bad}}, shipped());
    ASSERT_FALSE(r.is_ok()) << bad;
    EXPECT_NE(r.status().message().find("from 0 to below 1"), std::string::npos) << r.status().message();
  }
}

TEST(WhatIfTest, BadChangesAreRefusedNamingWhatIsAllowed) {
  auto unknown = compare(llama(), {{"colour", "blue"}}, shipped());
  ASSERT_FALSE(unknown.is_ok());
  EXPECT_NE(unknown.status().message().find("allowed: machine"), std::string::npos);
  EXPECT_FALSE(compare(llama(), {{"machine", "tpu-v5"}}, shipped()).is_ok());
  EXPECT_FALSE(compare(llama(), {{"batch_size", "0"}}, shipped()).is_ok());
  EXPECT_FALSE(compare(llama(), {{"expert_parallel", "maybe"}}, shipped()).is_ok());
  EXPECT_FALSE(compare(llama(), {{"config.text_config.hidden_size", "8"}}, shipped()).is_ok());
  EXPECT_FALSE(compare(llama(), {}, shipped()).is_ok());
  EXPECT_FALSE(parse_change("fp8").is_ok());
  EXPECT_EQ(parse_change("config.hidden_act=gelu").value().second, "gelu");
}

}  // namespace
}  // namespace irene::whatif
