// Predictor benchmarks: cross-validation of the default and the paper's method on the
// PC1 data, predicting bert-base-uncased's tree with the shipped `model` predictor
// (tree building included), and applying a predictor to gpt2-xl's ~2,900-node tree.
//   build/bench/predict_bench
#include <benchmark/benchmark.h>

#include "models/zoo.h"
#include "predict/crossval.h"
#include "predict/predictor.h"

namespace {

using namespace irene;

const predict::Dataset& pc1() {
  static predict::Dataset d = predict::load_dataset(std::string(IRENE_DATA_DIR) + "/device_1").value();
  return d;
}

const predict::Predictor& shipped_model_predictor() {
  static predict::Predictor p =
      predict::load_predictor(std::string(IRENE_SOURCE_DIR) + "/predictors/pc1-model.json").value();
  return p;
}

void BM_Crossval(benchmark::State& state, predict::Method method, predict::FeatureSet features, int seeds) {
  predict::CrossvalOptions o;
  o.train.method = method;
  o.train.features = features;
  o.seeds = seeds;
  const predict::Dataset& data = pc1();  // loaded outside the timed loop
  for (auto _ : state) benchmark::DoNotOptimize(predict::crossval(data, o));
}
BENCHMARK_CAPTURE(BM_Crossval, additive_full_3seeds, predict::Method::kAdditive, predict::FeatureSet::kFull, 3)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Crossval, additive_model_3seeds, predict::Method::kAdditive, predict::FeatureSet::kModel, 3)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Crossval, irene_full_3seeds, predict::Method::kIrene, predict::FeatureSet::kFull, 3)
    ->Unit(benchmark::kSecond)
    ->Iterations(1);

void BM_PredictBertBase_8x128(benchmark::State& state) {
  auto config = models::bundled_config("bert-base-uncased").value();
  for (auto _ : state) {
    auto t = models::trace_model(config, {8, 128, true}).value();
    benchmark::DoNotOptimize(shipped_model_predictor().predict(t));
  }
}
BENCHMARK(BM_PredictBertBase_8x128)->Unit(benchmark::kMillisecond);

void BM_ApplyPredictor(benchmark::State& state) {
  auto t = models::trace_model(models::bundled_config("gpt2-xl").value(), {8, 128, true}).value();
  for (auto _ : state) benchmark::DoNotOptimize(shipped_model_predictor().predict(t));
  state.counters["nodes"] = static_cast<double>(t.nodes.size());
}
BENCHMARK(BM_ApplyPredictor)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
