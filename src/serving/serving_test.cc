#include "serving/serving.h"

#include <gtest/gtest.h>

#include "models/zoo.h"

namespace irene::serving {
namespace {

models::ModelConfig llama8b() { return models::bundled_config("meta-llama/Llama-3.1-8B").value(); }
machines::MachineSpec h100() { return machines::find_machine("h100-sxm5-80gb").value(); }

TEST(ServingTest, TheSteadyStateFiguresAreConsistent) {
  auto w = ServingWorkload::build(llama8b(), {64, 128, 256, 1, ""}).value();
  const ServingEstimate e = w.estimate(h100(), predict::RooflineParams{}).value();
  EXPECT_GT(e.tpot_s, 0);
  EXPECT_NEAR(e.throughput_tokens_per_s, 64 / e.tpot_s, 1e-9 * e.throughput_tokens_per_s);
  EXPECT_NEAR(e.power_w, e.energy_per_output_token_j * e.throughput_tokens_per_s, 1e-9 * e.power_w);
  EXPECT_NEAR(e.energy_per_request_j, 256 * e.energy_per_output_token_j, 1e-9 * e.energy_per_request_j);
  EXPECT_GT(e.prefill_share, 0);
  EXPECT_LT(e.prefill_share, 0.5);
  const auto& m = h100();
  EXPECT_GE(e.power_w, *m.idle_power_w);
  EXPECT_LE(e.power_w, *m.tdp_w);
  // Where the energy goes: the step's tree, with energies on its nodes.
  tree::Tree t = w.step_tree(m, predict::RooflineParams{}).value();
  EXPECT_TRUE(t.root().energy_j.has_value());
  EXPECT_GT(*t.nodes[t.find("lm_head", "Linear")].energy_j, 0);
}

TEST(ServingTest, LargerBatchesShareTheWeightsStreamed) {
  double previous = 1e9;
  for (int64_t b : {1, 8, 64, 512}) {
    auto w = ServingWorkload::build(llama8b(), {b, 128, 256, 1, ""}).value();
    const double e = w.estimate(h100(), predict::RooflineParams{}).value().energy_per_output_token_j;
    EXPECT_LT(e, previous) << "batch " << b;
    previous = e;
  }
}

TEST(ServingTest, TensorParallelismAndBadRequests) {
  auto c = models::bundled_config("meta-llama/Llama-3.1-70B").value();
  auto one = ServingWorkload::build(c, {32, 128, 256, 1, ""}).value().estimate(h100(), {}).value();
  auto four = ServingWorkload::build(c, {32, 128, 256, 4, ""}).value().estimate(h100(), {}).value();
  EXPECT_LT(four.tpot_s, one.tpot_s);
  EXPECT_GT(four.power_w, one.power_w);  // four GPUs draw their power together
  EXPECT_FALSE(ServingWorkload::build(c, {5000, 128, 256, 1, ""}).is_ok());
  auto bert = ServingWorkload::build(models::bundled_config("bert-base-uncased").value(), {8, 128, 16, 1, ""});
  ASSERT_FALSE(bert.is_ok());
  EXPECT_NE(bert.status().message().find("decoder LLM families"), std::string::npos);
}

}  // namespace
}  // namespace irene::serving
