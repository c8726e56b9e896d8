// The advisor against a brute force over the same setups, each built and checked from
// scratch; what does not fit or misses the objectives kept out; the answers when nothing
// meets them or nothing fits.
#include "advisor/advisor.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "advisor/explain.h"
#include "engines/engine.h"
#include "models/zoo.h"
#include "serving/memory.h"

namespace irene::advisor {
namespace {

const std::vector<serving::ServingPredictor>& shipped() { return serving::shipped_serving_predictors(); }

// A search over H100s alone: up to `max_gpus` of them, these running batches.
Request on_h100s(int max_gpus, std::vector<int64_t> batches) {
  Request r;
  r.machines = {"h100-sxm5-80gb"};
  r.max_gpus = max_gpus;
  r.batches = std::move(batches);
  return r;
}

TEST(AdvisorTest, ThePickIsTheLeastEnergyOfABruteForceOverTheSameSetups) {
  const models::ModelConfig c = models::bundled_config("meta-llama/Llama-3.1-8B").value();
  Request r;
  r.machines = {"h100-sxm5-80gb", "a100-sxm4-40gb"};
  r.max_gpus = 2;
  r.batches = {1, 16, 128, 1024};
  r.slo.itl_s = 0.030;
  const Advice a = advise(c, r, shipped()).value();
  ASSERT_TRUE(a.best);

  // Every setup, built and checked on its own: the machine's default engine, the weight
  // formats it computes natively, 1 and 2 GPUs as tensor, data or pipeline parallel, each
  // batch and the largest the memory holds.
  double least = INFINITY;
  std::string least_setup;
  int64_t fitting = 0;
  for (const std::string& id : r.machines) {
    const machines::MachineSpec m = machines::find_machine(id).value();
    const std::string engine = engines::engine_catalogue().back().id;  // the advisor's default, on every machine
    const serving::MachinePredictor p = serving::predictor_for(m, shipped(), nullptr, engine).value();
    std::vector<std::string> formats{""};
    if (m.peak_flops.count("fp8")) formats.push_back("fp8");
    for (const std::string& q : formats)
      for (int gpus : {1, 2})
        for (int layout = 0; layout < 2 * gpus; ++layout) {
          // Engines with chunked prefill split GPUs into data-parallel replicas or pipeline
          // stages, vLLM 0.5 into pipeline stages.
          const int split = layout / 2 + 1;
          const bool stages = layout % 2 == 1;
          const bool v1 = engines::find_engine(engine).value().chunked_prefill;
          if (gpus % split || (stages && split == 1) || (!v1 && !stages && split > 1)) continue;
          serving::ServingConfig s{1, r.prompt_len, r.output_len, gpus, stages ? split : 1, ""};
          s.engine = engine;
          s.quantization = q;
          s.data_parallel = stages ? 1 : split;
          const serving::MemoryFit fit = serving::memory_fit(c, s, m).value();
          std::set<int64_t> batches(r.batches.begin(), r.batches.end());
          if (fit.max_batch >= 1 && fit.max_batch < 1024) batches.insert(fit.max_batch);
          for (int64_t b : batches) {
            if (b > fit.max_batch || b < s.pipeline_parallel) continue;
            s.batch_size = b;
            const serving::ServingEstimate e =
                serving::ServingWorkload::build(c, s).value().estimate(m, p.params).value();
            ++fitting;
            if (e.itl_median_s.value_or(e.tpot_s) > *r.slo.itl_s) continue;
            if (e.energy_per_output_token_j < least) {
              least = e.energy_per_output_token_j;
              least_setup = id + "/" + q + "/" + std::to_string(gpus) + "/dp" + std::to_string(s.data_parallel) + "/pp" +
                            std::to_string(s.pipeline_parallel) + "/" + std::to_string(b);
            }
          }
        }
  }
  const Candidate& best = a.candidates[*a.best];
  EXPECT_NEAR(best.estimate.energy_per_output_token_j, least, 1e-9 * least);
  EXPECT_EQ(best.machine_id + "/" + best.quantization + "/" + std::to_string(best.num_gpus) + "/dp" +
                std::to_string(best.data_parallel) + "/pp" + std::to_string(best.pipeline_parallel) + "/" +
                std::to_string(best.batch),
            least_setup);
  EXPECT_EQ(a.fitting, fitting);
  EXPECT_GT(a.searched, a.fitting);  // 1,024 running requests do not fit a 40 GB A100 beside the weights

  // The runner-up is another setup and no better; the reason names both figures.
  ASSERT_TRUE(a.runner_up);
  EXPECT_FALSE(a.candidates[*a.runner_up].same_setup(best));
  EXPECT_GE(a.candidates[*a.runner_up].estimate.energy_per_output_token_j, best.estimate.energy_per_output_token_j);
  EXPECT_NE(a.why.find("less energy per output token"), std::string::npos) << a.why;

  // The frontiers: energy falls strictly as ITL grows, and as throughput per GPU falls;
  // the best meeting the objective is on or above the ITL frontier.
  for (size_t i = 1; i < a.frontier_itl.size(); ++i) {
    const Candidate& prev = a.candidates[a.frontier_itl[i - 1]];
    const Candidate& cur = a.candidates[a.frontier_itl[i]];
    EXPECT_GE(cur.itl_s(), prev.itl_s());
    EXPECT_LT(cur.estimate.energy_per_output_token_j, prev.estimate.energy_per_output_token_j);
  }
  for (size_t i = 1; i < a.frontier_throughput.size(); ++i)
    EXPECT_LT(a.candidates[a.frontier_throughput[i]].estimate.energy_per_output_token_j,
              a.candidates[a.frontier_throughput[i - 1]].estimate.energy_per_output_token_j);
  for (const Candidate& x : a.candidates) {
    bool dominated = false;
    for (size_t f : a.frontier_itl) {
      const Candidate& y = a.candidates[f];
      dominated |= y.itl_s() <= x.itl_s() && y.estimate.energy_per_output_token_j <= x.estimate.energy_per_output_token_j;
    }
    EXPECT_TRUE(dominated) << x.describe();
  }
}

TEST(AdvisorTest, SetupsThatDoNotFitOrMissTheObjectiveAreKeptOut) {
  const models::ModelConfig c = models::bundled_config("meta-llama/Llama-3.1-70B").value();
  Request r;
  r.machines = {"h100-sxm5-80gb"};
  r.max_gpus = 4;
  r.slo.itl_s = 0.040;
  const Advice a = advise(c, r, shipped()).value();
  ASSERT_TRUE(a.best);
  const machines::MachineSpec h100 = machines::find_machine("h100-sxm5-80gb").value();
  for (const Candidate& x : a.candidates) {
    // 141 GB of BF16 weights do not fit one 80 GB GPU.
    EXPECT_FALSE(x.num_gpus == 1 && x.quantization.empty()) << x.describe();
    serving::ServingConfig s = serving_config(x, r);
    EXPECT_LE(x.batch, serving::memory_fit(c, s, h100).value().max_batch) << x.describe();
    EXPECT_EQ(x.meets_slo, x.itl_s() <= 0.040) << x.describe();
  }
  EXPECT_LE(a.candidates[*a.best].itl_s(), 0.040);
}

// Cached prompts (a shared system prompt) are prefilled in part: every setup applies the
// share its engine can, and the pick costs less than without.
TEST(AdvisorTest, APromptCachedShareReachesEverySetup) {
  const models::ModelConfig c = models::bundled_config("meta-llama/Llama-3.1-8B").value();
  Request r = on_h100s(1, {16, 64, 256});
  const Advice plain = advise(c, r, shipped()).value();
  r.prompt_cached_share = 0.6;
  const Advice cached = advise(c, r, shipped()).value();
  ASSERT_TRUE(plain.best && cached.best);
  for (const Candidate& x : cached.candidates) EXPECT_EQ(x.estimate.prompt_cached_share, 0.6) << x.describe();
  EXPECT_LT(cached.candidates[*cached.best].estimate.energy_per_output_token_j,
            plain.candidates[*plain.best].estimate.energy_per_output_token_j);
  EXPECT_EQ(to_json(cached, r)["request"]["prompt_cached_share"], 0.6);
  r.prompt_cached_share = 1;
  auto refused = advise(c, r, shipped());
  ASSERT_FALSE(refused.is_ok());
  EXPECT_NE(refused.status().message().find("from 0 to below 1"), std::string::npos);
}

TEST(AdvisorTest, AnImpossibleObjectiveGetsTheClosestMissAndNothingFitsSaysWhatItNeeds) {
  const models::ModelConfig c = models::bundled_config("meta-llama/Llama-3.1-8B").value();
  Request r = on_h100s(2, {1, 8, 64});
  r.slo.itl_s = 1e-4;  // 0.1 ms a token: no GPU reads 16 GB of weights that fast
  const Advice a = advise(c, r, shipped()).value();
  EXPECT_FALSE(a.best);
  EXPECT_EQ(a.meeting, 0);
  ASSERT_TRUE(a.closest_miss);
  const Candidate& miss = a.candidates[*a.closest_miss];
  EXPECT_GT(miss.slo_ratio, 1);
  for (const Candidate& x : a.candidates) EXPECT_GE(x.slo_ratio, miss.slo_ratio);
  const nlohmann::json doc = to_json(a, r);
  EXPECT_TRUE(doc["best"].is_null());
  EXPECT_TRUE(doc["closest_miss"].is_object());

  const models::ModelConfig big = models::bundled_config("meta-llama/Llama-3.1-405B").value();
  Request one;
  one.machines = {"rtx-4090"};
  one.max_gpus = 2;
  const Advice none = advise(big, one, shipped()).value();
  EXPECT_EQ(none.fitting, 0);
  EXPECT_FALSE(none.best || none.closest_miss);
  EXPECT_NE(none.needs.find("GPUs"), std::string::npos) << none.needs;
}

TEST(AdvisorTest, GpusTheEngineDoesNotRunOnAreLeftOutSayingWhy) {
  const models::ModelConfig c = models::bundled_config("Qwen/Qwen2.5-0.5B").value();
  Request r;
  r.machines = {"gtx-1080-ti"};
  const Advice a = advise(c, r, shipped()).value();
  EXPECT_EQ(a.searched, 0);
  ASSERT_EQ(a.excluded.size(), 1u);
  EXPECT_NE(a.excluded[0].find("compute capability"), std::string::npos) << a.excluded[0];
  Request bad;
  bad.machines = {"no-such-gpu"};
  EXPECT_FALSE(advise(c, bad, shipped()).is_ok());
  bad.machines = {};
  bad.max_gpus = 0;
  EXPECT_FALSE(advise(c, bad, shipped()).is_ok());
}

TEST(AdvisorTest, ThePicksExplanationIsTheServingAnswerOfThatSetup) {
  const models::ModelConfig c = models::bundled_config("Qwen/Qwen3-30B-A3B").value();
  Request r;
  r.machines = {"h100-sxm5-80gb"};
  r.max_gpus = 2;
  r.batches = {16, 256};
  const Advice a = advise(c, r, shipped()).value();
  ASSERT_TRUE(a.best);
  const Candidate& best = a.candidates[*a.best];
  const Explanation x = explain(c, best, r, shipped()).value();
  EXPECT_NEAR(x.answer.estimate.energy_per_output_token_j, best.estimate.energy_per_output_token_j,
              1e-6 * best.estimate.energy_per_output_token_j);
  ASSERT_EQ(x.top_nodes.size(), 5u);
  double shares = 0;
  for (size_t i = 0; i < x.top_nodes.size(); ++i) {
    if (i) {
      EXPECT_GE(x.top_nodes[i - 1].energy_j, x.top_nodes[i].energy_j);
    }
    EXPECT_EQ(x.top_nodes[i].path.find("layers.0."), std::string::npos);  // summed over the layers
    shares += x.top_nodes[i].share;
  }
  EXPECT_GT(shares, 0.3);
  EXPECT_LE(shares, 1.0 + 1e-9);
  EXPECT_NE(x.time_split.find("decode kernels"), std::string::npos);
}

// gpt-oss runs its experts as grouped products straight under the experts module: they
// are among the costliest nodes, not left out for having no ML children.
TEST(AdvisorTest, GroupedExpertsAreAmongTheCostliestNodes) {
  const models::ModelConfig c = models::bundled_config("openai/gpt-oss-120b").value();
  Request r;
  r.machines = {"h100-sxm5-80gb"};
  r.max_gpus = 1;
  r.batches = {256};
  const Advice a = advise(c, r, shipped()).value();
  ASSERT_TRUE(a.best);
  const Explanation x = explain(c, a.candidates[*a.best], r, shipped()).value();
  bool experts = false;
  double shares = 0;
  for (const NodeShare& n : x.top_nodes) {
    experts = experts || n.path == "model.layers.*.mlp.experts";
    shares += n.share;
  }
  EXPECT_TRUE(experts);
  EXPECT_GT(shares, 0.5);
  EXPECT_LE(shares, 1.0 + 1e-9);
}

TEST(AdvisorTest, TasksAndTheBatchGrid) {
  EXPECT_EQ(find_task("chat").value().prompt_len, 634);
  EXPECT_FALSE(find_task("poetry").is_ok());
  const std::vector<int64_t> b = default_batches();
  EXPECT_EQ(b.front(), 1);
  EXPECT_EQ(b.back(), 4096);
  for (size_t i = 1; i < b.size(); ++i) EXPECT_LT(b[i - 1], b[i]);
  const Footprint f = per_million_tokens(0.36);  // 0.36 J a token: 0.1 kWh a million
  EXPECT_NEAR(f.kwh, 0.1, 1e-12);
  EXPECT_NEAR(f.cost_usd, 0.015, 1e-12);
  EXPECT_NEAR(f.co2_g, 47.5, 1e-9);
}

}  // namespace
}  // namespace irene::advisor
