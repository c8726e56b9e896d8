#include "serving/mlenergy.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "serving/calibration.h"

namespace irene::serving {
namespace {

const std::string kData = std::string(IRENE_DATA_DIR) + "/../mlenergy";

#define REQUIRE_MLENERGY()                                                      \
  if (!std::filesystem::exists(kData + "/vllm_v2_measurements.csv")) {          \
    GTEST_SKIP() << "no ML.ENERGY data at " << kData;                         \
  }

TEST(MlEnergyTest, ReadsTheLeaderboardLayout) {
  REQUIRE_MLENERGY();
  auto data = load_measured_serving(kData);
  ASSERT_TRUE(data.is_ok()) << data.status().to_string();
  EXPECT_GT(data->rows.size(), 150u);
  EXPECT_GE(data->configs.size(), 10u);
  for (const auto& r : data->rows) {
    EXPECT_TRUE(r.machine_id == "a100-sxm4-40gb" || r.machine_id == "h100-sxm5-80gb") << r.machine_id;
    EXPECT_GT(r.energy_per_token_j, 0);
    ASSERT_TRUE(r.tpot_s.has_value());
    EXPECT_GT(*r.tpot_s, 0);
    EXPECT_EQ(r.engine, "vllm-0.5.4");  // v2 names no engine: its vLLM 0.5.4
  }
  EXPECT_FALSE(load_measured_serving("/nonexistent").is_ok());
}

// The shared data gives each row's output cap; with the default run size, every row of a
// configuration (model, task, GPUs) that never ran as many requests at once is compared
// with the run's average TPOT; a configuration some of whose rows ran more (the A100's
// two-node pipeline of Mixtral-8x22B, up to 2,930) did not run the default, and all its
// rows, the small batches too, are compared with the steady state's.
TEST(MlEnergyTest, RowsWithAnOutputCapAreComparedWithTheRunsAverage) {
  REQUIRE_MLENERGY();
  auto data = load_measured_serving(kData).value();
  CalibrationOptions o;
  auto cases = build_cases(data, o).value();
  std::map<std::string, double> most_running;  // by model, task, GPU and GPUs
  auto setup = [](const MeasuredServing& r) {
    return r.model + "/" + r.task + "/" + r.gpu + "/" + std::to_string(r.num_gpus) + "/" +
           std::to_string(r.pipeline_parallel);
  };
  for (const auto& r : data.rows) most_running[setup(r)] = std::max(most_running[setup(r)], r.avg_batch_size);
  int runs = 0, steady = 0, steady_below_the_run = 0;
  for (const auto& c : cases) {
    ASSERT_TRUE(c.row->max_output_tokens.has_value()) << c.row->source;
    const bool is_run = c.workload->config().run_requests > 0;
    EXPECT_EQ(is_run, most_running[setup(*c.row)] < o.default_run_requests) << c.row->source;
    (is_run ? runs : steady)++;
    if (!is_run && c.row->avg_batch_size < o.default_run_requests) ++steady_below_the_run;
  }
  EXPECT_GT(runs, 150);
  EXPECT_GT(steady, 0);
  EXPECT_GT(steady_below_the_run, 0);
  o.default_run_requests = 0;
  const auto steady_cases = build_cases(data, o).value();
  for (const auto& c : steady_cases) EXPECT_EQ(c.workload->config().run_requests, 0) << c.row->source;
}

TEST(MlEnergyTest, AnOptionalColumnThatIsNotPositiveIsRefusedWithItsPlace) {
  const auto dir = std::filesystem::temp_directory_path() / "irene-mlenergy-bad-requests";
  std::filesystem::create_directories(dir);
  {
    std::ofstream cfg(dir / "model_configs.json");
    cfg << R"({"m/x": {"config": {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 64,
      "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
      "vocab_size": 100, "max_position_embeddings": 256}}})";
    std::ofstream csv(dir / "runs.csv");
    csv << "model,gpu,num_gpus,tensor_parallel,pipeline_parallel,max_num_seqs,avg_batch_size,avg_output_tokens,"
           "energy_per_token_j,avg_power_w,throughput_tokens_per_s,tpot_avg_s,num_requests\n"
           "m/x,H100-SXM5-80GB,1,1,1,32,32,100,0.1,300,1000,0.03,-5\n";
  }
  auto data = load_measured_serving(dir.string());
  std::filesystem::remove_all(dir);
  ASSERT_FALSE(data.is_ok());
  EXPECT_NE(data.status().message().find("runs.csv:2: 'num_requests' must be positive"), std::string::npos)
      << data.status().message();
}

// Leave-one-model-out on one GPU's few models: every held-out model gets its errors,
// computed from a fit that never saw it.
TEST(MlEnergyTest, CrossValidationHoldsEachModelOut) {
  REQUIRE_MLENERGY();
  auto data = load_measured_serving(kData).value();
  CalibrationOptions o;
  o.max_evaluations = 150;
  o.restarts = 0;
  auto cases = build_cases(data, o).value();
  std::vector<ServingCase> some;
  for (const auto& c : cases)
    if (c.row->gpu == "H100-SXM5-80GB" &&
        (c.row->model.find("Llama-3.1-8B") != std::string::npos || c.row->model.find("Mistral-7B") != std::string::npos ||
         c.row->model.find("gemma-2-9b") != std::string::npos))
      some.push_back(c);
  ASSERT_GE(some.size(), 10u);
  auto report = crossval(some, o);
  ASSERT_TRUE(report.is_ok()) << report.status().to_string();
  const auto& per_model = (*report)["energy_per_token"]["per_model"]["H100-SXM5-80GB"];
  EXPECT_EQ(per_model.size(), 3u);
  for (const auto& [model, err] : per_model.items()) EXPECT_GE(err.get<double>(), 0) << model;
  EXPECT_GT((*report)["coverage"]["held_out_rows"].get<int>(), 0);
  EXPECT_TRUE((*report)["energy_per_token"]["average"].is_number());
}

const std::string kDataV3 = std::string(IRENE_DATA_DIR) + "/../mlenergy-v3";

// ML.ENERGY v3: vLLM 0.11.1, inter-token latencies instead of a mean TPOT, expert and
// data parallelism, quantised checkpoints, and four models whose configs the data lacks
// (irene's bundled ones stand in, and the data says so).
TEST(MlEnergyTest, ReadsTheV3Layout) {
  if (!std::filesystem::exists(kDataV3 + "/vllm_v3_h100_measurements.csv")) GTEST_SKIP() << "no v3 data";
  auto data = load_measured_serving(kDataV3);
  ASSERT_TRUE(data.is_ok()) << data.status().to_string();
  EXPECT_EQ(data->rows.size(), 120u);
  EXPECT_TRUE(data->skipped_models.empty()) << ::testing::PrintToString(data->skipped_models);
  EXPECT_EQ(data->configs.size(), 9u);
  EXPECT_EQ(data->config_sources.size(), 4u);  // Gemma 3 12B/27B, Nemotron Nano 9B/12B v2
  EXPECT_TRUE(data->config_sources.count("google/gemma-3-12b-it"));
  int ep = 0;
  for (const auto& r : data->rows) {
    EXPECT_EQ(r.engine, "vllm-0.11.1");
    EXPECT_EQ(r.machine_id, "h100-sxm5-80gb");
    EXPECT_FALSE(r.tpot_s.has_value());
    ASSERT_TRUE(r.itl_median_s.has_value());
    EXPECT_TRUE(r.time_is_itl());
    EXPECT_GT(*r.itl_p90_s, *r.itl_median_s * 0.99);
    EXPECT_LT(*r.itl_median_s, 1.0);  // seconds, from the data's milliseconds
    ep += r.expert_parallel > 1;
    // LMArena's requests are conversations' turns, each with the turns before it.
    EXPECT_EQ(r.conversation_turns, r.task == "lm-arena-chat") << r.task;
  }
  EXPECT_GT(ep, 0);
  // The rows' runs as the engine ran them: Maverick's FP8 from its BF16 config.
  auto cases = build_cases(*data, CalibrationOptions{}).value();
  for (const auto& c : cases) {
    EXPECT_EQ(c.workload->engine().id, "vllm-0.11.1");
    if (c.row->model.find("Maverick") != std::string::npos) EXPECT_EQ(c.workload->config().quantization, "fp8");
    if (c.row->model.find("gpt-oss") != std::string::npos) EXPECT_EQ(c.workload->config().quantization, "");
    EXPECT_EQ(c.workload->config().expert_parallel, c.row->expert_parallel > 1);
  }
}

// A GPU is named as the data names it: by the catalogue's aliases; one the catalogue
// lacks is named with its ids, and `irene train` says so rather than "no machines ()".
TEST(MlEnergyTest, GpuNamesResolveByAliasAndUnknownOnesAreNamed) {
  const auto dir = std::filesystem::temp_directory_path() / "irene-mlenergy-aliases";
  std::filesystem::create_directories(dir);
  {
    std::ofstream cfg(dir / "model_configs.json");
    cfg << R"({"m/x": {"config": {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 64,
      "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
      "vocab_size": 100, "max_position_embeddings": 256}}})";
    std::ofstream csv(dir / "runs.csv");
    csv << "model,gpu,num_gpus,tensor_parallel,pipeline_parallel,max_num_seqs,avg_batch_size,avg_output_tokens,"
           "energy_per_token_j,avg_power_w,throughput_tokens_per_s,itl_median_ms,engine,engine_version\n"
           "m/x,B200-180GB,1,1,1,32,32,100,0.1,300,1000,30,vLLM,0.11.1\n"
           "m/x,Z9000-1TB,1,1,1,32,32,100,0.1,300,1000,30,vLLM,0.11.1\n";
  }
  auto data = load_measured_serving(dir.string());
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(data.is_ok()) << data.status().to_string();
  ASSERT_EQ(data->rows.size(), 2u);
  EXPECT_EQ(data->rows[0].machine_id, "b200");
  EXPECT_EQ(data->rows[1].machine_id, "");
  ASSERT_TRUE(data->unknown_gpus.count("Z9000-1TB"));
  EXPECT_NE(data->unknown_gpus["Z9000-1TB"].find("h100-sxm5-80gb"), std::string::npos);
  auto cases = build_cases(*data, CalibrationOptions{}).value();
  EXPECT_EQ(cases.size(), 1u);
  auto t = train(cases, *data, "h200-sxm", CalibrationOptions{});
  ASSERT_FALSE(t.is_ok());
  EXPECT_NE(t.status().message().find("Z9000-1TB"), std::string::npos) << t.status().message();
}

TEST(MlEnergyTest, ARowWithoutATimeFigureIsRefused) {
  const auto dir = std::filesystem::temp_directory_path() / "irene-mlenergy-no-time";
  std::filesystem::create_directories(dir);
  {
    std::ofstream cfg(dir / "model_configs.json");
    cfg << R"({})";
    std::ofstream csv(dir / "runs.csv");
    csv << "model,gpu,num_gpus,tensor_parallel,pipeline_parallel,max_num_seqs,avg_batch_size,avg_output_tokens,"
           "energy_per_token_j,avg_power_w,throughput_tokens_per_s\n";
  }
  auto data = load_measured_serving(dir.string());
  std::filesystem::remove_all(dir);
  ASSERT_FALSE(data.is_ok());
  EXPECT_NE(data.status().message().find("no time column"), std::string::npos) << data.status().message();
}

}  // namespace
}  // namespace irene::serving
