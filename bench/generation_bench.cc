// Generation benchmarks: the shapes-only trees of the largest bundled models generating
// (Llama-3.1-405B, Mixtral-8x22B, Kimi K2 at 1T, DeepSeek-V3.1, GLM-5; batch 8, a
// 2,048-token prompt, 1,024 new tokens), and the tracer's
// overhead on a real generation, whose decode steps run many tiny ops (SmolLM2-135M and
// Qwen2.5-0.5B on this CPU; the overhead is traced / untraced - 1).
//   build/bench/generation_bench --benchmark_min_time=2
#include <benchmark/benchmark.h>

#include <map>
#include <memory>
#include <string>

#include "models/zoo.h"

namespace {

using irene::models::ModelRunner;
using irene::models::RunOptions;

RunOptions generation(int64_t b, int64_t s, int64_t n, bool shapes_only) {
  RunOptions o{b, s, shapes_only};
  o.new_tokens = n;
  return o;
}

void BM_ShapesOnlyGeneration(benchmark::State& state, const char* model, int64_t b, int64_t s, int64_t n) {
  auto config = irene::models::bundled_config(model).value();
  size_t nodes = 0;
  for (auto _ : state) nodes = irene::models::trace_model(config, generation(b, s, n, true)).value().nodes.size();
  state.counters["nodes"] = static_cast<double>(nodes);
}
BENCHMARK_CAPTURE(BM_ShapesOnlyGeneration, llama_3_1_405b_8x2048_new1024, "meta-llama/Llama-3.1-405B", 8, 2048, 1024)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ShapesOnlyGeneration, mixtral_8x22b_8x2048_new1024, "mistralai/Mixtral-8x22B-v0.1", 8, 2048, 1024)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ShapesOnlyGeneration, kimi_k2_8x2048_new1024, "moonshotai/Kimi-K2-Instruct", 8, 2048, 1024)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ShapesOnlyGeneration, deepseek_v3_1_8x2048_new1024, "deepseek-ai/DeepSeek-V3.1", 8, 2048, 1024)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ShapesOnlyGeneration, glm_5_8x2048_new1024, "zai-org/GLM-5", 8, 2048, 1024)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ShapesOnlyGeneration, nemotron_nano_9b_v2_8x2048_new1024, "nvidia/NVIDIA-Nemotron-Nano-9B-v2", 8,
                  2048, 1024)
    ->Unit(benchmark::kMillisecond);

// One runner per model, warmed up once, shared by the traced and untraced benchmarks.
ModelRunner& runner(const char* model) {
  static std::map<std::string, std::unique_ptr<ModelRunner>> runners;
  auto& r = runners[model];
  if (!r) {
    r = ModelRunner::create(irene::models::bundled_config(model).value(), generation(1, 32, 16, false)).value();
    (void)r->run_untraced();
  }
  return *r;
}

void BM_TracedGeneration(benchmark::State& state, const char* model) {
  ModelRunner& r = runner(model);
  size_t nodes = 0;
  for (auto _ : state) nodes = r.trace().value().nodes.size();
  state.counters["nodes"] = static_cast<double>(nodes);
}
void BM_UntracedGeneration(benchmark::State& state, const char* model) {
  ModelRunner& r = runner(model);
  for (auto _ : state) benchmark::DoNotOptimize(r.run_untraced());
}
BENCHMARK_CAPTURE(BM_TracedGeneration, smollm2_135m_1x32_new16, "HuggingFaceTB/SmolLM2-135M")
    ->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_UntracedGeneration, smollm2_135m_1x32_new16, "HuggingFaceTB/SmolLM2-135M")
    ->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_TracedGeneration, qwen2_5_0_5b_1x32_new16, "Qwen/Qwen2.5-0.5B")
    ->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_UntracedGeneration, qwen2_5_0_5b_1x32_new16, "Qwen/Qwen2.5-0.5B")
    ->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
