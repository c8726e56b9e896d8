// The advisor's search (advisor/advisor.h) over every catalogued GPU, 1 to 8 of them, every
// layout, the default batch grid and the weight formats each GPU computes natively, under
// vLLM 0.11.1, in parallel on the machine's cores: an MoE with two KV cache formats
// (Qwen3-30B-A3B, over 20,000 setups) and a
// dense 70B model. Counters: the setups searched and those that fit (estimated). And the
// leaderboard (every bundled decoder x every catalogued GPU x chat and reasoning, each at
// its least energy under 100 ms), as the server computes it before caching it.
//   build/bench/advisor_bench --benchmark_min_time=2
#include <benchmark/benchmark.h>

#include "advisor/advisor.h"
#include "leaderboard/leaderboard.h"
#include "models/zoo.h"

namespace {

using namespace irene;

void BM_Advise(benchmark::State& state) {
  const bool moe = state.range(0) == 0;
  const models::ModelConfig c =
      models::bundled_config(moe ? "Qwen/Qwen3-30B-A3B" : "meta-llama/Llama-3.1-70B").value();
  advisor::Request r;
  r.slo.itl_s = 0.1;
  if (moe) r.kv_cache_dtypes = {"", "fp8"};
  int64_t searched = 0, fitting = 0;
  for (auto _ : state) {
    const advisor::Advice a = advisor::advise(c, r, serving::shipped_serving_predictors()).value();
    searched = a.searched;
    fitting = a.fitting;
    benchmark::DoNotOptimize(a.best);
  }
  state.counters["searched"] = static_cast<double>(searched);
  state.counters["fitting"] = static_cast<double>(fitting);
  state.SetLabel(moe ? "Qwen3-30B-A3B, KV auto and fp8" : "Llama-3.1-70B");
}
BENCHMARK(BM_Advise)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_Leaderboard(benchmark::State& state) {
  leaderboard::Options o;
  o.size_limits = false;
  size_t rows = 0;
  for (auto _ : state) {
    const nlohmann::json board = leaderboard::build(o, serving::shipped_serving_predictors(), nullptr).value();
    rows = board["rows"].size();
  }
  state.counters["rows"] = static_cast<double>(rows);
}
BENCHMARK(BM_Leaderboard)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
