// Serving benchmarks: one answer of `irene serving` (Llama-3.1-70B on 4 H100s, batch 64,
// 512-token prompts, 256 new tokens: both traces shapes-only, the estimate, the step's
// tree with energies) and a 20-point batch sweep (a workload and an estimate per point),
// in process, without the CLI's start-up (loading libtorch).
//   build/bench/serving_bench --benchmark_min_time=2
#include <benchmark/benchmark.h>

#include "models/zoo.h"
#include "serving/predictor.h"
#include "serving/serving.h"

namespace {

using namespace irene;

struct Setup {
  models::ModelConfig config = models::bundled_config("meta-llama/Llama-3.1-70B").value();
  machines::MachineSpec machine = machines::find_machine("h100-sxm5-80gb").value();
  serving::MachinePredictor predictor =
      serving::predictor_for(machine, serving::shipped_serving_predictors()).value();
};

void BM_ServingAnswer(benchmark::State& state) {
  Setup s;
  const serving::ServingConfig c{64, 512, 256, 4, 1, ""};
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
BENCHMARK(BM_ServingAnswer)->Unit(benchmark::kMillisecond);

void BM_BatchSweep20(benchmark::State& state) {
  Setup s;
  for (auto _ : state) {
    for (int64_t b = 16; b <= 16 * 20; b += 16) {
      const serving::ServingConfig c{b, 512, 256, 4, 1, ""};
      auto w = serving::ServingWorkload::build(s.config, c).value();
      benchmark::DoNotOptimize(w.estimate(s.machine, s.predictor.params).value());
    }
  }
}
BENCHMARK(BM_BatchSweep20)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
