// Model tree benchmarks: tree extraction for bert-base-uncased at (8, 128), the same
// forward pass untraced (the tracer's overhead is the ratio of the two), shapes-only
// trees of the largest bundled config, and serialising a tree.
//   build/bench/tree_bench --benchmark_min_time=2
#include <benchmark/benchmark.h>

#include <nlohmann/json.hpp>

#include "models/zoo.h"
#include "tree/tree_format.h"

namespace {

using irene::models::ModelRunner;
using irene::models::RunOptions;

std::unique_ptr<ModelRunner> bert_runner() {
  return ModelRunner::create(irene::models::bundled_config("bert-base-uncased").value(), RunOptions{8, 128}).value();
}

// Built once and warmed up, so that allocation on the first pass counts in neither figure.
ModelRunner& shared_bert() {
  static std::unique_ptr<ModelRunner> r = [] {
    auto runner = bert_runner();
    (void)runner->run_untraced();
    return runner;
  }();
  return *r;
}

void BM_TraceBertBase_8x128(benchmark::State& state) {
  ModelRunner& r = shared_bert();
  size_t nodes = 0;
  for (auto _ : state) nodes = r.trace().value().nodes.size();
  state.counters["nodes"] = static_cast<double>(nodes);
}
BENCHMARK(BM_TraceBertBase_8x128)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_UntracedBertBase_8x128(benchmark::State& state) {
  ModelRunner& r = shared_bert();
  for (auto _ : state) benchmark::DoNotOptimize(r.run_untraced());
}
BENCHMARK(BM_UntracedBertBase_8x128)->Unit(benchmark::kMillisecond)->UseRealTime();

// Build + trace on the meta device, as `irene tree --shapes-only` does.
void BM_ShapesOnly(benchmark::State& state, const char* model, int64_t b, int64_t s) {
  auto config = irene::models::bundled_config(model).value();
  for (auto _ : state) benchmark::DoNotOptimize(irene::models::trace_model(config, {b, s, true}));
}
BENCHMARK_CAPTURE(BM_ShapesOnly, gpt2_scaled_7b_1x2048, "gpt2-scaled-7b", 1, 2048)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ShapesOnly, bert_base_8x128, "bert-base-uncased", 8, 128)->Unit(benchmark::kMillisecond);

void BM_TreeToJson(benchmark::State& state) {
  auto t = irene::models::trace_model(irene::models::bundled_config("gpt2-scaled-7b").value(), {1, 2048, true}).value();
  for (auto _ : state) benchmark::DoNotOptimize(irene::tree::to_json(t).dump());
  state.counters["nodes"] = static_cast<double>(t.nodes.size());
}
BENCHMARK(BM_TreeToJson)->Unit(benchmark::kMillisecond);

void BM_TreeToCsv(benchmark::State& state) {
  auto t = irene::models::trace_model(irene::models::bundled_config("gpt2-scaled-7b").value(), {1, 2048, true}).value();
  for (auto _ : state) benchmark::DoNotOptimize(irene::tree::to_csv(t));
}
BENCHMARK(BM_TreeToCsv)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
