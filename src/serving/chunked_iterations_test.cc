// Chunked prefill's steady state: the prefill tokens of an iteration against a small
// simulated schedule, and the iterations' costs on a machine.
#include "serving/chunked_iterations.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "models/zoo.h"
#include "serving/serving.h"

namespace irene::serving {
namespace {

// A small engine simulated request by request: B running, each with an exponential
// output length of mean N (at least one token); a finished request's slot takes a prompt
// of exponential length of mean P, whose tokens ride in the next iteration (the budget
// is never short here). The prefill tokens of each iteration, over many iterations.
std::vector<double> simulated_prefill_tokens(int batch, double mean_output, double mean_prompt, int iterations) {
  std::mt19937_64 rng(7);
  std::exponential_distribution<double> output(1 / mean_output), prompt(1 / mean_prompt);
  std::vector<double> left(static_cast<size_t>(batch));
  // Start with requests spread over their lives (the steady state's ages).
  std::uniform_real_distribution<double> u(0, 1);
  for (double& l : left) l = std::max(1.0, std::ceil(output(rng) * u(rng)));
  std::vector<double> out;
  double waiting = 0;  // prefill tokens of the prompts admitted after the last iteration
  for (int it = 0; it < iterations; ++it) {
    out.push_back(waiting);
    waiting = 0;
    for (double& l : left)
      if (--l <= 0) {  // finished: a new prompt takes its slot
        waiting += std::max(1.0, std::round(prompt(rng)));
        l = std::max(1.0, std::ceil(output(rng)));
      }
  }
  return out;
}

// The H100 and the V1 parameters these tests cost iterations with: a kernel gap and the
// engine's fixed time per iteration.
machines::MachineSpec h100_spec() { return machines::find_machine("h100-sxm5-80gb").value(); }
predict::RooflineParams v1_params(double step_overhead_s) {
  predict::RooflineParams p;
  p.kernel_gap_s = 2e-6;
  p.step_overhead_s = step_overhead_s;
  return p;
}

double empirical_quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(std::min<double>(v.size() - 1, std::floor(q * v.size())))];
}

TEST(ChunkedIterationsTest, PrefillTokensFollowASimulatedSchedule) {
  for (const auto& [batch, output, prompt] : {std::tuple{64, 400.0, 634.0}, std::tuple{512, 400.0, 634.0},
                                              std::tuple{256, 2000.0, 300.0}}) {
    const std::vector<double> sim = simulated_prefill_tokens(batch, output, prompt, 200000);
    const PrefillTokens law(batch / output, prompt, 1e9);
    double mean = 0;
    for (double x : sim) mean += x / sim.size();
    double law_mean = 0;
    for (int i = 0; i < 4000; ++i) law_mean += law.quantile((i + 0.5) / 4000) / 4000;
    EXPECT_NEAR(law_mean, mean, 0.05 * mean) << batch << " running";
    for (double q : {0.5, 0.9, 0.99}) {
      const double s = empirical_quantile(sim, q), l = law.quantile(q);
      if (s == 0) {
        EXPECT_EQ(l, 0) << batch << " running, quantile " << q;
      } else {
        EXPECT_NEAR(l, s, 0.1 * s + 10) << batch << " running, quantile " << q;
      }
    }
  }
}

TEST(ChunkedIterationsTest, PrefillTokensAreCappedAtTheBudgetLeft) {
  const PrefillTokens law(3.0, 634, 1000);
  EXPECT_DOUBLE_EQ(law.cdf(-1), 0);
  EXPECT_NEAR(law.cdf(0), std::exp(-3.0), 1e-12);
  EXPECT_DOUBLE_EQ(law.cdf(1000), 1);
  EXPECT_DOUBLE_EQ(law.quantile(0.999), 1000);
  // The cdf rises with the tokens.
  double last = 0;
  for (double x = 0; x < 1000; x += 50) {
    EXPECT_GE(law.cdf(x), last);
    last = law.cdf(x);
  }
}

// The iterations of a real model: a prompt beside the decode batch costs more, the
// median and p90 of the inter-token latency sit between the decode-only iteration and
// the slowest, and the figures hang together.
TEST(ChunkedIterationsTest, TheSteadyStateOfVllmV1HangsTogether) {
  const models::ModelConfig c = models::bundled_config("meta-llama/Llama-3.1-8B").value();
  ServingConfig s{128, 634, 400, 1, 1, ""};
  s.engine = "vllm-0.11.1";
  const ServingWorkload w = ServingWorkload::build(c, s).value();
  const machines::MachineSpec h100 = machines::find_machine("h100-sxm5-80gb").value();
  predict::RooflineParams p;
  p.kernel_gap_s = 2e-6;
  p.kernel_overhead_s = 5e-6;
  p.step_overhead_s = 2e-3;
  p.per_sequence_overhead_s = 2e-6;
  const ServingEstimate e = w.estimate(h100, p).value();
  ASSERT_TRUE(e.itl_median_s && e.itl_p90_s && e.ttft_s);
  EXPECT_EQ(e.engine, "vllm-0.11.1");
  // 128 / 400 prompts an iteration: most iterations carry none, so the median is a
  // decode-only iteration; the 90th percentile carries a prompt.
  EXPECT_NEAR(*e.itl_median_s, e.time_split.decode_kernels_s + e.time_split.sampler_s + e.time_split.decode_engine_s,
              1e-12);
  EXPECT_GT(*e.itl_p90_s, *e.itl_median_s);
  EXPECT_GT(e.tpot_s, *e.itl_median_s);  // the mean iteration, prompts included
  EXPECT_NEAR(e.throughput_tokens_per_s, 128 / e.tpot_s, 1e-9 * e.throughput_tokens_per_s);
  EXPECT_NEAR(e.power_w, e.energy_per_output_token_j * e.throughput_tokens_per_s, 1e-9 * e.power_w);
  EXPECT_GT(e.prefill_share, 0);
  EXPECT_LT(e.prefill_share, 0.5);
  EXPECT_GT(*e.ttft_s, *e.itl_median_s);
  // Fused kernels: far fewer launches than transformers' ops, so at one running request
  // the same model is faster under V1 than as vLLM 0.5 ran it on the same parameters.
  ServingConfig one = s;
  one.batch_size = 1;
  ServingConfig old = one;
  old.engine = "vllm-0.5.4";
  const double v1 = *ServingWorkload::build(c, one).value().estimate(h100, p).value().itl_median_s;
  const double v0 = ServingWorkload::build(c, old).value().estimate(h100, p).value().tpot_s;
  EXPECT_LT(v1, v0);
}

// The sampler passes over each running request's row of logits every iteration, on the
// GPUs (a memory-bound pass, at the memory power share): B x vocabulary x per_logit_s,
// each data-parallel replica its own requests' rows; the engine's time does not move.
TEST(ChunkedIterationsTest, TheSamplerPassesOverEveryRunningRequestsLogits) {
  const models::ModelConfig c = models::bundled_config("meta-llama/Llama-3.1-8B").value();
  const machines::MachineSpec h100 = h100_spec();
  predict::RooflineParams p = v1_params(1e-3);
  p.per_sequence_overhead_s = 2e-6;
  predict::RooflineParams q = p;
  q.per_logit_s = 1e-10;
  const double vocab = static_cast<double>(c.vocab_size);
  ASSERT_EQ(vocab, 128256);
  const double streaming_w = *h100.idle_power_w + (*h100.tdp_w - *h100.idle_power_w) * p.memory_power;
  for (int replicas : {1, 2}) {
    ServingConfig s{64, 634, 400, replicas, 1, ""};
    s.engine = "vllm-0.11.1";
    s.data_parallel = replicas;
    const ServingWorkload w = ServingWorkload::build(c, s).value();
    const ServingEstimate without = w.estimate(h100, p).value(), with = w.estimate(h100, q).value();
    const double sampler_s = 1e-10 * 64 / replicas * vocab;  // 0.82 ms on one replica
    EXPECT_NEAR(with.time_split.sampler_s, sampler_s, 1e-12) << replicas;
    EXPECT_EQ(without.time_split.sampler_s, 0);
    EXPECT_DOUBLE_EQ(with.time_split.decode_kernels_s, without.time_split.decode_kernels_s);
    EXPECT_NEAR(*with.itl_median_s - *without.itl_median_s, sampler_s, 1e-12) << replicas;
    EXPECT_DOUBLE_EQ(with.time_split.decode_engine_s, without.time_split.decode_engine_s);
    EXPECT_NEAR(with.sampler_energy_j, replicas * streaming_w * sampler_s, 1e-12) << replicas;
    // Every iteration pays it, on every GPU: energy per iteration over its 64 tokens.
    EXPECT_NEAR(with.energy_per_output_token_j - without.energy_per_output_token_j,
                replicas * streaming_w * sampler_s / 64, 1e-9) << replicas;
  }
  // A model with twice the vocabulary pays twice.
  models::ModelConfig wide = c;
  wide.vocab_size *= 2;
  ServingConfig s{64, 634, 400, 1, 1, ""};
  s.engine = "vllm-0.11.1";
  const ServingWorkload narrow_w = ServingWorkload::build(c, s).value(), wide_w = ServingWorkload::build(wide, s).value();
  const double narrow = narrow_w.estimate(h100, q).value().time_split.sampler_s;
  const double doubled = wide_w.estimate(h100, q).value().time_split.sampler_s;
  EXPECT_GT(narrow, 0);
  EXPECT_NEAR(doubled, 2 * narrow, 1e-12);
}

// gpt-oss's MXFP4 experts are unpacked on the ALUs on a Hopper GPU: those GEMMs draw at
// least dequant_power of the way to the power limit; the time does not change, nor a
// model without packed weights, nor a GPU with FP4 tensor cores (Blackwell).
TEST(ChunkedIterationsTest, UnpackingPackedWeightsRaisesTheirGemmsPower) {
  predict::RooflineParams p = v1_params(1e-4), q = p;
  q.dequant_power = 0.95;
  ServingConfig s{16, 634, 400, 1, 1, ""};
  s.engine = "vllm-0.11.1";
  const ServingWorkload oss = ServingWorkload::build(models::bundled_config("openai/gpt-oss-20b").value(), s).value();
  const ServingWorkload llama =
      ServingWorkload::build(models::bundled_config("meta-llama/Llama-3.1-8B").value(), s).value();
  const machines::MachineSpec h100 = h100_spec(), b200 = machines::find_machine("b200").value();
  const ServingEstimate plain = oss.estimate(h100, p).value(), unpacked = oss.estimate(h100, q).value();
  EXPECT_DOUBLE_EQ(unpacked.tpot_s, plain.tpot_s);
  EXPECT_GT(unpacked.power_w, 1.05 * plain.power_w);
  EXPECT_LT(unpacked.power_w, *h100.tdp_w);
  EXPECT_DOUBLE_EQ(llama.estimate(h100, q).value().power_w, llama.estimate(h100, p).value().power_w);
  EXPECT_DOUBLE_EQ(oss.estimate(b200, q).value().power_w, oss.estimate(b200, p).value().power_w);
}

// Expert parallel: each fused MoE GEMM launch pays expert_parallel_latency_s on every GPU,
// at the power of GPUs waiting on each other. Qwen3-30B-A3B: 48 MoE layers, two GEMM
// launches each (gate/up, down), so a decode iteration takes 96 of them longer; the same
// model split tensor-parallel does not change, nor one GPU.
TEST(ChunkedIterationsTest, AnExpertParallelMoeWaitsItsFixedCostAtEachLaunch) {
  const machines::MachineSpec h100 = h100_spec();
  predict::RooflineParams p = v1_params(1e-4), q = p;
  q.expert_parallel_latency_s = 50e-6;
  q.collective_wait_power = 0.5;
  p.collective_wait_power = 0.5;
  const models::ModelConfig qwen = models::bundled_config("Qwen/Qwen3-30B-A3B").value();
  ServingConfig s{32, 634, 400, 2, 1, ""};
  s.engine = "vllm-0.11.1";
  const ServingWorkload tp = ServingWorkload::build(qwen, s).value();
  s.expert_parallel = true;
  const ServingWorkload ep = ServingWorkload::build(qwen, s).value();
  const ServingEstimate before = ep.estimate(h100, p).value(), after = ep.estimate(h100, q).value();
  EXPECT_NEAR(after.time_split.decode_kernels_s - before.time_split.decode_kernels_s, 96 * 50e-6, 1e-9);
  EXPECT_NEAR(*after.itl_median_s - *before.itl_median_s, 96 * 50e-6, 1e-9);
  // Both GPUs wait through it, each at idle + half the way to the limit: an iteration (a
  // token for each of the 32 running) costs that much more.
  const double waiting_w = *h100.idle_power_w + 0.5 * (*h100.tdp_w - *h100.idle_power_w);
  const double added_j = (after.energy_per_output_token_j - before.energy_per_output_token_j) * 32;
  EXPECT_NEAR(added_j, 2 * waiting_w * 96 * 50e-6, 0.05 * 2 * waiting_w * 96 * 50e-6);
  EXPECT_DOUBLE_EQ(tp.estimate(h100, q).value().tpot_s, tp.estimate(h100, p).value().tpot_s);
  s.num_gpus = 1;
  const ServingWorkload one = ServingWorkload::build(qwen, s).value();
  EXPECT_DOUBLE_EQ(one.estimate(h100, q).value().tpot_s, one.estimate(h100, p).value().tpot_s);
}

// Prompt tokens found in the prefix cache skip the prefill: the iterations carry fewer
// prefill tokens and a new prompt's first token comes sooner, while the decode
// iterations (whose attention still reads the whole prompt) do not change. vLLM 0.11
// caches no prefixes of models with state-space layers, nor vLLM 0.5.4 by default.
TEST(ChunkedIterationsTest, CachedPromptTokensSkipThePrefill) {
  const machines::MachineSpec h100 = h100_spec();
  const predict::RooflineParams p = v1_params(1e-3);
  const models::ModelConfig llama = models::bundled_config("meta-llama/Llama-3.1-8B").value();
  ServingConfig s{128, 634, 400, 1, 1, ""};
  s.engine = "vllm-0.11.1";
  const ServingWorkload w = ServingWorkload::build(llama, s).value();
  ASSERT_TRUE(w.caches_prompts());
  const ServingEstimate whole = w.estimate(h100, p).value(), half = w.estimate(h100, p, 0.5).value();
  EXPECT_EQ(whole.prompt_cached_share, 0);
  EXPECT_EQ(half.prompt_cached_share, 0.5);
  EXPECT_DOUBLE_EQ(half.time_split.decode_kernels_s, whole.time_split.decode_kernels_s);
  EXPECT_GT(half.time_split.prefill_s, 0.2 * whole.time_split.prefill_s);
  EXPECT_LT(half.time_split.prefill_s, 0.8 * whole.time_split.prefill_s);
  EXPECT_LT(half.energy_per_output_token_j, whole.energy_per_output_token_j);
  EXPECT_LT(*half.ttft_s, *whole.ttft_s);
  // The config's share is the default.
  ServingConfig cached = s;
  cached.prompt_cached_share = 0.5;
  const ServingEstimate from_config = ServingWorkload::build(llama, cached).value().estimate(h100, p).value();
  EXPECT_DOUBLE_EQ(from_config.energy_per_output_token_j, half.energy_per_output_token_j);
  EXPECT_DOUBLE_EQ(*from_config.ttft_s, *half.ttft_s);
  // A hybrid with Mamba-2 layers: no prefix cache under vLLM 0.11.1.
  const ServingWorkload nemotron =
      ServingWorkload::build(models::bundled_config("nvidia/NVIDIA-Nemotron-Nano-9B-v2").value(), s).value();
  EXPECT_FALSE(nemotron.caches_prompts());
  const ServingEstimate n0 = nemotron.estimate(h100, p).value(), n5 = nemotron.estimate(h100, p, 0.5).value();
  EXPECT_EQ(n5.prompt_cached_share, 0);
  EXPECT_DOUBLE_EQ(n5.energy_per_output_token_j, n0.energy_per_output_token_j);
  // vLLM 0.5.4 caches none by default.
  ServingConfig old = s;
  old.engine = "vllm-0.5.4";
  EXPECT_FALSE(ServingWorkload::build(llama, old).value().caches_prompts());
  // A share of a whole prompt or more is refused, naming what is allowed.
  cached.prompt_cached_share = 1;
  auto bad = ServingWorkload::build(llama, cached);
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("from 0 to below 1"), std::string::npos) << bad.status().message();
}

TEST(ChunkedIterationsTest, ABatchTheTokenBudgetCannotHoldIsRefusedNamingBoth) {
  const models::ModelConfig c = models::bundled_config("meta-llama/Llama-3.1-8B").value();
  ServingConfig s{1024, 128, 256, 1, 1, ""};
  s.engine = "vllm-0.11.1";
  s.max_num_batched_tokens = 1024;
  auto w = ServingWorkload::build(c, s);
  ASSERT_FALSE(w.is_ok());
  EXPECT_NE(w.status().message().find("max_num_batched_tokens 1024"), std::string::npos) << w.status().message();
  s.max_num_batched_tokens = 4096;
  EXPECT_TRUE(ServingWorkload::build(c, s).is_ok());
}


// Resizing a traced workload (the advisor's many batches and layouts) answers what a new
// trace at that batch and layout answers, for a dense model and an MoE under expert
// parallelism.
TEST(ChunkedIterationsTest, AResizedWorkloadAnswersAsOneBuiltAtThatShape) {
  const machines::MachineSpec h100 = h100_spec();
  const predict::RooflineParams p = v1_params(2e-3);
  for (const char* id : {"meta-llama/Llama-3.1-8B", "Qwen/Qwen3-30B-A3B"}) {
    const models::ModelConfig c = models::bundled_config(id).value();
    ServingConfig s{1, 634, 400, 1, 1, ""};
    s.engine = "vllm-0.11.1";
    const ServingWorkload small = ServingWorkload::build(c, s).value();
    ServingConfig big = s;
    big.batch_size = 384;
    big.num_gpus = 4;
    big.data_parallel = 2;
    big.expert_parallel = std::string(id).find("A3B") != std::string::npos;
    const ServingEstimate built = ServingWorkload::build(c, big).value().estimate(h100, p).value();
    const ServingEstimate resized =
        small.resized(384, 4, 2, big.expert_parallel).value().estimate(h100, p).value();
    EXPECT_NEAR(resized.energy_per_output_token_j, built.energy_per_output_token_j,
                1e-6 * built.energy_per_output_token_j) << id;
    EXPECT_NEAR(*resized.itl_median_s, *built.itl_median_s, 1e-6 * *built.itl_median_s) << id;
    EXPECT_NEAR(*resized.ttft_s, *built.ttft_s, 1e-6 * *built.ttft_s) << id;
    EXPECT_NEAR(resized.power_w, built.power_w, 1e-6 * built.power_w) << id;
  }
  // A layout the GPUs cannot split into is refused, as a build refuses it.
  ServingConfig v1{16, 634, 400, 1, 1, ""};
  v1.engine = "vllm-0.11.1";
  const ServingWorkload w = ServingWorkload::build(models::bundled_config("meta-llama/Llama-3.1-8B").value(), v1).value();
  EXPECT_FALSE(w.resized(16, 4, 3, false).is_ok());
  EXPECT_FALSE(w.resized(16, 4, 2, false, 2).is_ok());  // stages beside data-parallel attention
  // Pipeline stages, resized as built.
  ServingConfig staged = v1;
  staged.batch_size = 256;
  staged.num_gpus = 8;
  staged.pipeline_parallel = 4;
  const models::ModelConfig llama = models::bundled_config("meta-llama/Llama-3.1-8B").value();
  const ServingEstimate built = ServingWorkload::build(llama, staged).value().estimate(h100, p).value();
  const ServingEstimate resized = w.resized(256, 8, 1, false, 4).value().estimate(h100, p).value();
  EXPECT_NEAR(resized.energy_per_output_token_j, built.energy_per_output_token_j,
              1e-6 * built.energy_per_output_token_j);
  EXPECT_NEAR(*resized.itl_median_s, *built.itl_median_s, 1e-6 * *built.itl_median_s);
}

// Pipeline stages under V1: P microbatches of B / P requests in flight, each through every
// layer on one stage's G / P GPUs after another. Their kernels overlap; their engine time
// does not (one engine core): while P engine times fit in an iteration, a request's token
// takes the iteration of B / P requests on G / P GPUs, and P times as many tokens come;
// beyond, the engine core sets the pace and the GPUs wait.
TEST(ChunkedIterationsTest, PipelineStagesRunMicrobatchesThatShareTheEngineCore) {
  const machines::MachineSpec h100 = h100_spec();
  const models::ModelConfig c = models::bundled_config("meta-llama/Llama-3.1-70B").value();
  predict::RooflineParams p = v1_params(1e-3);
  ServingConfig staged{256, 634, 400, 8, 2, ""};
  staged.engine = "vllm-0.11.1";
  ServingConfig one_stage{128, 634, 400, 4, 1, ""};
  one_stage.engine = "vllm-0.11.1";
  const ServingEstimate pp = ServingWorkload::build(c, staged).value().estimate(h100, p).value();
  const ServingEstimate tp = ServingWorkload::build(c, one_stage).value().estimate(h100, p).value();
  EXPECT_EQ(pp.time_split.host_wait_s, 0);
  EXPECT_NEAR(*pp.itl_median_s, *tp.itl_median_s, 1e-9 * *tp.itl_median_s);
  EXPECT_NEAR(pp.energy_per_output_token_j, tp.energy_per_output_token_j, 1e-9 * tp.energy_per_output_token_j);
  EXPECT_NEAR(pp.throughput_tokens_per_s, 2 * tp.throughput_tokens_per_s, 1e-9 * pp.throughput_tokens_per_s);
  EXPECT_NEAR(pp.power_w, 2 * tp.power_w, 1e-9 * pp.power_w);
  // An engine core slower than an iteration over P: the round takes P engine times.
  p.step_overhead_s = 0.05;
  const ServingEstimate slow = ServingWorkload::build(c, staged).value().estimate(h100, p).value();
  const ServingEstimate slow_tp = ServingWorkload::build(c, one_stage).value().estimate(h100, p).value();
  EXPECT_GT(slow.time_split.host_wait_s, 0);
  EXPECT_NEAR(slow.tpot_s, 2 * slow_tp.time_split.decode_engine_s, 0.01 * slow.tpot_s);
  EXPECT_GT(slow.energy_per_output_token_j, slow_tp.energy_per_output_token_j);
}

}  // namespace
}  // namespace irene::serving
