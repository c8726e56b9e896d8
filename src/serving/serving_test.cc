#include "serving/serving.h"

#include <gtest/gtest.h>

#include "models/zoo.h"

namespace irene::serving {
namespace {

models::ModelConfig llama8b() { return models::bundled_config("meta-llama/Llama-3.1-8B").value(); }
machines::MachineSpec h100() { return machines::find_machine("h100-sxm5-80gb").value(); }

TEST(ServingTest, TheSteadyStateFiguresAreConsistent) {
  auto w = ServingWorkload::build(llama8b(), {64, 128, 256, 1, 1, ""}).value();
  const ServingEstimate e = w.estimate(h100(), predict::RooflineParams{}).value();
  EXPECT_GT(e.tpot_s, 0);
  // The time per token is a decode iteration's; the prefills between decode iterations
  // take the rest of the server's time, so fewer tokens come out than B per TPOT.
  EXPECT_LT(e.throughput_tokens_per_s, 64 / e.tpot_s);
  EXPECT_GT(e.throughput_tokens_per_s, 0.5 * 64 / e.tpot_s);
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

// The split of the server's time adds up: the decode iteration's kernels and the engine's
// time in it are the time per token; with the prefills and admission stalls after it they
// are one engine's batch over its throughput. The engine's share grows with the batch.
TEST(ServingTest, TheTimeSplitAddsUpToTheServersTime) {
  predict::RooflineParams p;
  p.step_overhead_s = 2e-3;
  p.per_sequence_overhead_s = 1e-4;
  p.admission_overhead_s = 1e-6;
  auto c = models::bundled_config("meta-llama/Llama-3.1-70B").value();
  auto engine_share = [&](int64_t batch, int gpus, int stages) {
    auto w = ServingWorkload::build(c, {batch, 128, 256, gpus, stages, ""}).value();
    const ServingEstimate e = w.estimate(h100(), p).value();
    const ServingEstimate::TimeSplit& t = e.time_split;
    EXPECT_GT(t.decode_kernels_s, 0);
    EXPECT_GT(t.prefill_s, 0);
    EXPECT_GT(t.admission_s, 0);
    EXPECT_NEAR(t.decode_kernels_s + t.sampler_s + t.decode_engine_s + t.host_wait_s, e.tpot_s, 1e-9 * e.tpot_s);
    if (stages == 1) {
      EXPECT_EQ(t.host_wait_s, 0);
    }
    const double cycle = t.total_s();
    // B / P requests per engine over its 1 / P of the throughput: B over the throughput.
    EXPECT_NEAR(cycle, static_cast<double>(batch) / e.throughput_tokens_per_s, 1e-9 * cycle)
        << batch << " running, " << stages << " stages";
    return t.decode_engine_s / cycle;
  };
  EXPECT_GT(engine_share(512, 4, 1), engine_share(32, 4, 1));
  engine_share(256, 8, 2);
}

// Decode iterations of up to 256 running requests replay a CUDA graph: their kernels cost
// the GPU's gap between kernels, whatever a launch costs the host. Larger ones launch
// kernel by kernel and last at least as long as the launches; so do the prefills. A
// predictor without a fitted gap (older files) costs every kernel its launch.
TEST(ServingTest, GraphedDecodeIterationsPayNoLaunches) {
  predict::RooflineParams cheap_launch, dear_launch, no_gap;
  cheap_launch.kernel_gap_s = dear_launch.kernel_gap_s = 2e-6;
  cheap_launch.kernel_overhead_s = 1e-6;
  dear_launch.kernel_overhead_s = 1e-3;  // the host far slower than the GPU
  no_gap.kernel_overhead_s = 1e-3;
  auto decode_kernels = [](int64_t batch, const predict::RooflineParams& p) {
    auto w = ServingWorkload::build(llama8b(), {batch, 128, 256, 1, 1, ""}).value();
    const ServingEstimate e = w.estimate(h100(), p).value();
    return std::pair{e.time_split.decode_kernels_s, e.time_split.prefill_s};
  };
  const auto [graphed_cheap, prefill_cheap] = decode_kernels(256, cheap_launch);
  const auto [graphed_dear, prefill_dear] = decode_kernels(256, dear_launch);
  EXPECT_DOUBLE_EQ(graphed_cheap, graphed_dear);
  EXPECT_GT(prefill_dear, 10 * prefill_cheap);  // prefills launch eagerly
  // 512 running: eager, about 1 ms per kernel launched (a few hundred kernels).
  const double eager_cheap = decode_kernels(512, cheap_launch).first;
  const double eager_dear = decode_kernels(512, dear_launch).first;
  EXPECT_GT(eager_dear, 100 * 1e-3);
  EXPECT_GT(eager_dear, 10 * eager_cheap);
  // Without a gap every kernel costs its launch on the GPU too, graphed or not.
  EXPECT_GT(decode_kernels(256, no_gap).first, 100 * 1e-3);
}

TEST(ServingTest, LargerBatchesShareTheWeightsStreamed) {
  double previous = 1e9;
  for (int64_t b : {1, 8, 64, 512}) {
    auto w = ServingWorkload::build(llama8b(), {b, 128, 256, 1, 1, ""}).value();
    const double e = w.estimate(h100(), predict::RooflineParams{}).value().energy_per_output_token_j;
    EXPECT_LT(e, previous) << "batch " << b;
    previous = e;
  }
}

TEST(ServingTest, TensorParallelismAndBadRequests) {
  auto c = models::bundled_config("meta-llama/Llama-3.1-70B").value();
  auto one = ServingWorkload::build(c, {32, 128, 256, 1, 1, ""}).value().estimate(h100(), {}).value();
  auto four = ServingWorkload::build(c, {32, 128, 256, 4, 1, ""}).value().estimate(h100(), {}).value();
  EXPECT_LT(four.tpot_s, one.tpot_s);
  EXPECT_GT(four.power_w, one.power_w);  // four GPUs draw their power together
  EXPECT_FALSE(ServingWorkload::build(c, {5000, 128, 256, 1, 1, ""}).is_ok());
  EXPECT_FALSE(ServingWorkload::build(c, {32, 128, 256, 4, 3, ""}).is_ok());  // 3 stages of 4 GPUs
  EXPECT_FALSE(ServingWorkload::build(c, {1, 128, 256, 2, 2, ""}).is_ok());   // a stage without a request
  auto bert = ServingWorkload::build(models::bundled_config("bert-base-uncased").value(), {8, 128, 16, 1, 1, ""});
  ASSERT_FALSE(bert.is_ok());
  EXPECT_NE(bert.status().message().find("decoder LLM families"), std::string::npos);
}

// The prompts replacing one decode iteration's finished requests are prefilled together:
// their prefill reads the weights once, so each prompt costs less when more share it.
TEST(ServingTest, PromptsPrefilledTogetherShareTheWeights) {
  auto per_prompt = [&](int64_t batch) {
    auto w = ServingWorkload::build(llama8b(), {batch, 128, 64, 1, 1, ""}).value();
    const ServingEstimate e = w.estimate(h100(), predict::RooflineParams{}).value();
    const double prompts = static_cast<double>(batch) / 64;  // per decode iteration
    return e.prefill_share * e.energy_per_output_token_j * static_cast<double>(batch) / prompts;
  };
  EXPECT_LT(per_prompt(512), 0.8 * per_prompt(64));  // 8 prompts at a time, against 1
}

// P pipeline stages run P virtual engines of B / P requests each, overlapped: the
// server's energy per token and time per token are one engine's on G / P GPUs (but for
// the fixed time of the other stages' workers), its power and throughput P times one
// engine's.
TEST(ServingTest, PipelineStagesRunAsOverlappedEngines) {
  auto c = models::bundled_config("meta-llama/Llama-3.1-70B").value();
  predict::RooflineParams p;
  p.per_sequence_overhead_s = 1e-5;
  auto piped = ServingWorkload::build(c, {128, 128, 256, 8, 2, ""}).value().estimate(h100(), p).value();
  auto engine = ServingWorkload::build(c, {64, 128, 256, 4, 1, ""}).value().estimate(h100(), p).value();
  // The kernels outlast two engines' host parts: nobody waits for the host.
  EXPECT_EQ(piped.time_split.host_wait_s, 0);
  EXPECT_NEAR(piped.energy_per_output_token_j, engine.energy_per_output_token_j, 1e-9 * engine.energy_per_output_token_j);
  EXPECT_NEAR(piped.tpot_s, engine.tpot_s, 1e-9 * engine.tpot_s);
  EXPECT_NEAR(piped.power_w, 2 * engine.power_w, 1e-9 * engine.power_w);
  EXPECT_NEAR(piped.throughput_tokens_per_s, 2 * engine.throughput_tokens_per_s, 1e-9 * engine.throughput_tokens_per_s);
  // A fixed time per worker: each of a piped engine's iterations pays it for the four
  // workers of each stage.
  p.step_overhead_s = 1e-3;
  auto piped_fixed = ServingWorkload::build(c, {128, 128, 256, 8, 2, ""}).value().estimate(h100(), p).value();
  auto engine_fixed = ServingWorkload::build(c, {64, 128, 256, 4, 1, ""}).value().estimate(h100(), p).value();
  EXPECT_NEAR(piped_fixed.time_split.decode_engine_s - engine_fixed.time_split.decode_engine_s, 4e-3, 1e-9);
  // Against eight GPUs in tensor parallel on all 128 requests: a token waits for both
  // stages, so pipelining is slower per token when the weights' streaming dominates
  // (no engine time: that grows with the workers of a tensor-parallel group).
  auto tensor = ServingWorkload::build(c, {128, 128, 256, 8, 1, ""}).value().estimate(h100(), {}).value();
  auto piped_gpu = ServingWorkload::build(c, {128, 128, 256, 8, 2, ""}).value().estimate(h100(), {}).value();
  EXPECT_GT(piped_gpu.tpot_s, tensor.tpot_s);
}

// At large batches the host's part (per running request) outlasts the kernels: the two
// engines take turns on the host, and the pipeline gives little more than one engine's
// throughput, each engine waiting while the other's iteration is prepared.
TEST(ServingTest, PipelinedEnginesShareOneHost) {
  auto c = models::bundled_config("meta-llama/Llama-3.1-70B").value();
  predict::RooflineParams p;
  p.per_sequence_overhead_s = 5e-4;
  auto piped = ServingWorkload::build(c, {2048, 128, 256, 8, 2, ""}).value().estimate(h100(), p).value();
  auto engine = ServingWorkload::build(c, {1024, 128, 256, 4, 1, ""}).value().estimate(h100(), p).value();
  const ServingEstimate::TimeSplit& t = piped.time_split;
  EXPECT_GT(t.host_wait_s, 0);
  EXPECT_NEAR(piped.tpot_s, engine.tpot_s + t.host_wait_s, 1e-9 * piped.tpot_s);
  EXPECT_GT(piped.throughput_tokens_per_s, engine.throughput_tokens_per_s);
  EXPECT_LT(piped.throughput_tokens_per_s, 1.5 * engine.throughput_tokens_per_s);
  // The round takes two host parts (each at least the engine's time and the stalls).
  EXPECT_GE(t.total_s(), 2 * (t.decode_engine_s + t.admission_s));
  // The GPUs wait longer for each token: more energy per token than one engine's.
  EXPECT_GT(piped.energy_per_output_token_j, engine.energy_per_output_token_j);
  EXPECT_NEAR(t.total_s(), 2048.0 / piped.throughput_tokens_per_s, 1e-9 * t.total_s());
}

// The engine's fixed time per iteration is per GPU worker: vLLM's driver hands each
// iteration's inputs to every worker of the tensor-parallel group, and a virtual
// engine's iteration runs through every pipeline stage in turn, so the workers of all
// stages count, not only one stage's.
TEST(ServingTest, TheEnginesFixedTimeGrowsWithTheWorkersOfEveryStage) {
  auto c = models::bundled_config("meta-llama/Llama-3.1-70B").value();
  predict::RooflineParams with;
  with.step_overhead_s = 1e-3;
  for (auto [gpus, stages] : {std::pair{1, 1}, {4, 1}, {8, 1}, {8, 2}, {16, 2}}) {
    auto w = ServingWorkload::build(c, {64, 128, 256, gpus, stages, ""}).value();
    const ServingEstimate bare = w.estimate(h100(), {}).value(), fixed = w.estimate(h100(), with).value();
    const double added = fixed.time_split.decode_engine_s - bare.time_split.decode_engine_s;
    EXPECT_NEAR(added, gpus * 1e-3, 1e-9) << gpus << " GPUs in " << stages << " stages";
  }
}

// While the GPUs wait on the engine (scheduling, the host's work), they draw their idle
// power, or more when a calibration says they stay at their active clocks.
TEST(ServingTest, WaitingOnTheEngineDrawsTheWaitPower) {
  predict::RooflineParams idle;
  idle.step_overhead_s = 0.05;  // an engine far slower than the GPU
  predict::RooflineParams busy = idle;
  busy.host_wait_power = 0.5;
  auto w = ServingWorkload::build(llama8b(), {8, 128, 256, 1, 1, ""}).value();
  const auto& m = h100();
  const double at_idle = w.estimate(m, idle).value().power_w, waiting = w.estimate(m, busy).value().power_w;
  EXPECT_LT(at_idle, *m.idle_power_w + 0.2 * (*m.tdp_w - *m.idle_power_w));
  EXPECT_GT(waiting, *m.idle_power_w + 0.4 * (*m.tdp_w - *m.idle_power_w));
}

// Each admitted prompt stalls the engine for a time that grows with the running batch
// and the model's depth: B / N prompts per decode iteration, each stalling B x layers x
// the overhead, so the share of the server's time spent decoding falls with the batch,
// as ML.ENERGY measures (thr x TPOT / B from ~0.99 at 32 running to ~0.6 at 1000).
TEST(ServingTest, AdmittedPromptsStallTheEngineMoreAtLargerBatches) {
  predict::RooflineParams stalled;
  stalled.admission_overhead_s = 3e-6;
  const auto& m = h100();
  auto decoding_share = [&](int64_t batch, const predict::RooflineParams& p) {
    auto w = ServingWorkload::build(llama8b(), {batch, 128, 256, 1, 1, ""}).value();
    const ServingEstimate e = w.estimate(m, p).value();
    return e.throughput_tokens_per_s * e.tpot_s / static_cast<double>(batch);
  };
  const double small = decoding_share(32, stalled), large = decoding_share(1024, stalled);
  EXPECT_GT(small, 0.8);
  EXPECT_LT(large, small - 0.2);
  // The stall is engine time between decode iterations: the time per token stays a
  // decode iteration's, and without it the large batch decodes most of the time.
  auto w = ServingWorkload::build(llama8b(), {1024, 128, 256, 1, 1, ""}).value();
  EXPECT_NEAR(w.estimate(m, stalled).value().tpot_s, w.estimate(m, {}).value().tpot_s, 1e-12);
  EXPECT_GT(decoding_share(1024, {}), large + 0.2);
  // The GPUs wait through it: less power than decoding without it.
  EXPECT_LT(w.estimate(m, stalled).value().power_w, w.estimate(m, {}).value().power_w);
}

// A closed run's time per output token averages its drain too: below the steady
// state's, and closer to it the more requests the run has beside its batch. Without a
// run, none is given.
TEST(ServingTest, AClosedRunsTimePerTokenCountsItsDrain) {
  predict::RooflineParams p;
  p.per_sequence_overhead_s = 2e-4;
  ServingConfig s{512, 128, 480, 1, 1, ""};
  EXPECT_FALSE(ServingWorkload::build(llama8b(), s).value().estimate(h100(), p).value().run_tpot_s.has_value());
  s.max_output_len = 1024;
  s.run_requests = 2000;
  const ServingEstimate small = ServingWorkload::build(llama8b(), s).value().estimate(h100(), p).value();
  s.run_requests = 200000;
  const ServingEstimate large = ServingWorkload::build(llama8b(), s).value().estimate(h100(), p).value();
  ASSERT_TRUE(small.run_tpot_s && large.run_tpot_s);
  EXPECT_LT(*small.run_tpot_s, *large.run_tpot_s);
  EXPECT_LT(*large.run_tpot_s, small.tpot_s);
  EXPECT_GT(*large.run_tpot_s, 0.95 * small.tpot_s);
  EXPECT_NEAR(small.tpot_s, large.tpot_s, 1e-12);  // the steady state does not depend on the run
  // A run no larger than its batch never reaches a steady state: refused.
  s.run_requests = 512;
  EXPECT_FALSE(ServingWorkload::build(llama8b(), s).is_ok());
}

}  // namespace
}  // namespace irene::serving
