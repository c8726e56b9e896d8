// Serving benchmarks: one answer of `irene serving` (Llama-3.1-70B on 4 H100s, batch 64,
// 512-token prompts, 256 new tokens: both traces shapes-only, the estimate, the step's
// tree with energies) and a 20-point batch sweep (a workload and an estimate per point),
// in process, without the CLI's start-up (loading libtorch); under vLLM 0.5.4 and under
// vLLM 0.11.1, whose answer for the largest MoE irene builds (Kimi K2, 1.03 T parameters,
// on 8 H100s) is measured as well: its estimate alone, and the whole answer (memory
// check, traces, lowering, estimate, no step tree).
//   build/bench/serving_bench --benchmark_min_time=2
#include <benchmark/benchmark.h>

#include "models/zoo.h"
#include "serving/answer.h"
#include "serving/predictor.h"
#include "serving/serving.h"

namespace {

using namespace irene;

struct Setup {
  explicit Setup(const std::string& engine = "vllm-0.5.4", const std::string& model = "meta-llama/Llama-3.1-70B")
      : config(models::bundled_config(model).value()),
        predictor(serving::predictor_for(machine, serving::shipped_serving_predictors(), nullptr, engine).value()),
        engine(engine) {}
  models::ModelConfig config;
  machines::MachineSpec machine = machines::find_machine("h100-sxm5-80gb").value();
  serving::MachinePredictor predictor;
  std::string engine;
  serving::ServingConfig at(int64_t batch, int gpus) const {
    serving::ServingConfig c{batch, 512, 256, gpus, 1, ""};
    c.engine = engine;
    return c;
  }
};

void BM_ServingAnswer(benchmark::State& state) {
  Setup s(state.range(0) == 0 ? "vllm-0.5.4" : "vllm-0.11.1");
  const serving::ServingConfig c = s.at(64, 4);
  size_t nodes = 0;
  for (auto _ : state) {
    auto w = serving::ServingWorkload::build(s.config, c).value();
    auto e = w.estimate(s.machine, s.predictor.params).value();
    auto t = w.step_tree(s.machine, s.predictor.params).value();
    benchmark::DoNotOptimize(serving::serving_answer(s.config, s.machine, c, e, s.predictor));
    nodes = t.nodes.size();
  }
  state.counters["step_nodes"] = static_cast<double>(nodes);
}
// Arg 0: vLLM 0.5.4; 1: vLLM 0.11.1.
BENCHMARK(BM_ServingAnswer)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

void BM_BatchSweep20(benchmark::State& state) {
  Setup s(state.range(0) == 0 ? "vllm-0.5.4" : "vllm-0.11.1");
  for (auto _ : state) {
    for (int64_t b = 16; b <= 16 * 20; b += 16) {
      auto w = serving::ServingWorkload::build(s.config, s.at(b, 4)).value();
      benchmark::DoNotOptimize(w.estimate(s.machine, s.predictor.params).value());
    }
  }
}
BENCHMARK(BM_BatchSweep20)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

// The largest MoE on 8 GPUs under vLLM 0.11.1: the estimate of a built workload (what a
// calibration or a sweep over machines repeats), and a whole answer without the tree.
void BM_LargestMoeEstimate(benchmark::State& state) {
  Setup s("vllm-0.11.1", "moonshotai/Kimi-K2-Instruct");
  auto w = serving::ServingWorkload::build(s.config, s.at(256, 8)).value();
  for (auto _ : state) benchmark::DoNotOptimize(w.estimate(s.machine, s.predictor.params).value());
}
BENCHMARK(BM_LargestMoeEstimate)->Unit(benchmark::kMillisecond);

void BM_LargestMoeAnswer(benchmark::State& state) {
  Setup s("vllm-0.11.1", "moonshotai/Kimi-K2-Instruct");
  for (auto _ : state)
    benchmark::DoNotOptimize(serving::answer(s.config, s.machine, s.at(256, 8), serving::shipped_serving_predictors(),
                                             nullptr, serving::WithTree::kNone)
                                 .value());
}
BENCHMARK(BM_LargestMoeAnswer)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
