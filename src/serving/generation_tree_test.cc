// A serving generation as one tree: its phases sum to the serving answer's energy for
// the batch, under each engine, with pipeline stages, for dense and MoE models.
#include "serving/generation_tree.h"

#include <gtest/gtest.h>

#include "serving/answer.h"
#include "serving/predictor.h"
#include "tree/tree_format.h"

namespace irene::serving {
namespace {

struct Case {
  std::string model, engine;
  int64_t batch;
  int gpus, stages;
  bool expert_parallel = false;
};

TEST(GenerationTreeTest, ItsPhasesSumToTheServingAnswerForTheBatch) {
  const machines::MachineSpec h100 = machines::find_machine("h100-sxm5-80gb").value();
  for (const Case& c : {Case{"meta-llama/Llama-3.1-8B", "vllm-0.11.1", 64, 1, 1},
                        Case{"openai/gpt-oss-20b", "vllm-0.11.1", 200, 1, 1},
                        Case{"openai/gpt-oss-20b", "vllm-0.11.1", 8, 1, 1},
                        Case{"Qwen/Qwen3-30B-A3B", "vllm-0.11.1", 32, 2, 1},
                        Case{"Qwen/Qwen3-30B-A3B", "vllm-0.11.1", 32, 4, 1, true},
                        Case{"meta-llama/Llama-3.1-70B", "vllm-0.11.1", 64, 4, 2},
                        Case{"meta-llama/Llama-3.1-8B", "vllm-0.5.4", 48, 1, 1},
                        Case{"meta-llama/Llama-3.1-70B", "vllm-0.5.4", 64, 4, 2}}) {
    const std::string at = c.model + " under " + c.engine;
    const models::ModelConfig config = models::bundled_config(c.model).value();
    ServingConfig s{c.batch, 500, 300, c.gpus, c.stages, ""};
    s.engine = c.engine;
    s.expert_parallel = c.expert_parallel;
    const Answer step = answer(config, h100, s, shipped_serving_predictors()).value();
    const Answer a = answer(config, h100, s, shipped_serving_predictors(), nullptr, WithTree::kGeneration).value();
    ASSERT_TRUE(a.generation.has_value()) << at;
    const tree::Tree& g = *a.generation;
    ASSERT_EQ(g.root().kind, tree::NodeKind::kGeneration) << at;
    const double total = *g.root().energy_j;
    EXPECT_NEAR(total, static_cast<double>(c.batch) * a.estimate.energy_per_request_j, 1e-9 * total) << at;
    // V1 samples on the GPUs (a phase of its own, calibrated with a time per logit);
    // vLLM 0.5.4's sampling is in the engine's time.
    const bool samples = c.engine == "vllm-0.11.1";
    ASSERT_EQ(g.root().children.size(), samples ? 4u : 3u) << at;
    const tree::Node& prefill = g.nodes[g.root().children[0]];
    const tree::Node& decode = g.nodes[g.root().children[1]];
    const tree::Node& engine = g.nodes[g.root().children.back()];
    const double sampled = samples ? *g.nodes[g.root().children[2]].energy_j : 0;
    EXPECT_EQ(prefill.path, "prefill");
    EXPECT_EQ(decode.path, "decode");
    EXPECT_EQ(engine.path, "engine");
    // V1's engine time is the host's between iterations, the GPUs waiting through it: all
    // the engine phase holds. Every kernel's energy is on its nodes, the power an MXFP4
    // GEMM draws unpacking its weights included (gpt-oss on the H100), and the
    // expert-parallel MoE's waits (Qwen3-30B-A3B on 4 GPUs holding whole experts).
    if (samples) {
      const predict::RooflineParams p = predictor_for(h100, shipped_serving_predictors(), nullptr, c.engine)->params;
      const double waiting_j = c.gpus * predict::wait_power_w(h100, p) * *engine.predicted_latency_s;
      EXPECT_NEAR(*engine.energy_j, waiting_j, 0.002 * total) << at;
      EXPECT_LT(*engine.energy_j, 0.05 * total) << at;
    }
    if (samples) {
      EXPECT_EQ(g.nodes[g.root().children[2]].path, "sample");
      EXPECT_NEAR(sampled, 300.0 * c.stages * a.estimate.sampler_energy_j, 1e-9 * total) << at;
      EXPECT_GT(sampled, 0) << at;
    }
    EXPECT_NEAR(*prefill.energy_j + *decode.energy_j + sampled + *engine.energy_j, total, 1e-9 * total) << at;
    // N steps of the step tree (of each pipelined virtual engine), the prompts' share.
    EXPECT_NEAR(*decode.energy_j, 300.0 * c.stages * *step.step->root().energy_j, 1e-9 * total) << at;
    EXPECT_NEAR(*prefill.energy_j, a.estimate.prefill_share * total, 1e-9 * total) << at;
    EXPECT_GT(*prefill.energy_j, 0) << at;
    EXPECT_GT(*engine.energy_j, 0) << at;
    EXPECT_TRUE(engine.children.empty());
    // The engine's time and the sampler are on no traced node: their counts are unknown,
    // written null, where the phases with a model below them have theirs.
    EXPECT_TRUE(engine.untraced) << at;
    EXPECT_EQ(samples, samples && g.nodes[g.root().children[2]].untraced) << at;
    EXPECT_FALSE(prefill.untraced || decode.untraced) << at;
    const nlohmann::json doc = tree::to_json(g);
    const nlohmann::json& phases = doc["root"]["children"];
    EXPECT_TRUE(phases.back()["flops"].is_null() && phases.back()["mem_bytes"].is_null()) << at;
    EXPECT_GT(phases[1]["flops"].get<int64_t>(), 0) << at;
    EXPECT_NE(tree::to_text(g, {}).find("engine : EngineTime  [phase]  (work not traced)"), std::string::npos) << at;
    // Each phase's model tree carries its phase's energy, and its nodes' shares add up.
    for (const tree::Node* phase : {&prefill, &decode}) {
      ASSERT_EQ(phase->children.size(), 1u) << at;
      const tree::Node& model = g.nodes[phase->children[0]];
      EXPECT_NEAR(*model.energy_j, *phase->energy_j, 1e-9 * total) << at << " " << phase->path;
      double children = 0;
      for (int ch : model.children) children += g.nodes[ch].energy_j.value_or(0.0);
      EXPECT_NEAR(children + model.energy_remainder_j.value_or(0.0), *model.energy_j, 1e-6 * total) << at;
    }
    // The batch's wall time: N iterations of the answer's mean one.
    EXPECT_NEAR(*g.root().predicted_latency_s, 300.0 * a.estimate.time_split.total_s(),
                1e-9 * *g.root().predicted_latency_s) << at;
    // The decode phase's work is N steps of one step's.
    EXPECT_NEAR(static_cast<double>(decode.flops), 300.0 * c.stages * static_cast<double>(step.step->root().flops),
                1e-6 * static_cast<double>(decode.flops)) << at;
  }
}

}  // namespace
}  // namespace irene::serving
