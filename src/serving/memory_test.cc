// Whether a batch fits the engine's memory, and the answer's cap.
#include "serving/memory.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "models/zoo.h"
#include "serving/answer.h"

namespace irene::serving {
namespace {

machines::MachineSpec h100() { return machines::find_machine("h100-sxm5-80gb").value(); }

TEST(MemoryTest, LlamaEightBOnOneH100ByHand) {
  const models::ModelConfig c = models::bundled_config("meta-llama/Llama-3.1-8B").value();
  ServingConfig s{64, 1000, 400, 1, 1, ""};
  s.engine = "vllm-0.11.1";
  const MemoryFit f = memory_fit(c, s, h100()).value();
  // 8.03 G parameters in bf16: the embedding and lm_head apart (untied), the layers' GEMMs.
  EXPECT_NEAR(f.weights_bytes, 2.0 * 8030261248, 0.01 * 2 * 8030261248);
  // 32 layers x 8 key/value heads x 128 x (key + value) x 2 bytes a token, at 1000 + 200 positions.
  EXPECT_NEAR(f.kv_bytes_per_request, 32.0 * 8 * 128 * 2 * 2 * 1200, 1);
  EXPECT_DOUBLE_EQ(f.memory_bytes, 0.9 * 80e9);
  const double left = f.memory_bytes - f.weights_bytes - f.activation_bytes;
  EXPECT_EQ(f.max_batch, static_cast<int64_t>(left / f.kv_bytes_per_request));
  EXPECT_GT(f.activation_bytes, 0);
  EXPECT_LT(f.activation_bytes, 2e9);
  // Half the cache in FP8; half the weights and so more requests in FP8 weights.
  s.kv_cache_dtype = "fp8";
  EXPECT_NEAR(memory_fit(c, s, h100())->kv_bytes_per_request, f.kv_bytes_per_request / 2, 1);
  s.kv_cache_dtype = "";
  s.quantization = "fp8";
  const MemoryFit fp8 = memory_fit(c, s, h100()).value();
  EXPECT_LT(fp8.weights_bytes, 0.6 * f.weights_bytes);
  EXPECT_GT(fp8.max_batch, f.max_batch);
}

// A built workload's memory figures, read off its own decode trace at its batch, are the
// ones a trace of one request gives: the weights do not grow with the batch and each
// activation grows with the tokens. Dense, sliding-window, MoE (fused and looped experts),
// latent attention, hybrid recurrent layers; bf16, FP8 and MXFP4 weights.
TEST(MemoryTest, AWorkloadsOwnTraceGivesTheSameFigures) {
  const std::vector<std::string> models = {"meta-llama/Llama-3.1-8B",        "google/gemma-3-27b-it",
                                           "openai/gpt-oss-20b",             "Qwen/Qwen3-30B-A3B",
                                           "moonshotai/Kimi-K2-Instruct",    "nvidia/NVIDIA-Nemotron-Nano-9B-v2",
                                           "mistralai/Mixtral-8x7B-v0.1"};
  for (const std::string& id : models) {
    auto c = models::bundled_config(id);
    ASSERT_TRUE(c.is_ok()) << id << ": " << c.status().message();
    for (const int64_t batch : {1, 37, 512}) {
      for (const std::string& q : {std::string(), std::string("fp8")}) {
        ServingConfig s{batch, 634, 700, 8, 1, ""};
        s.engine = "vllm-0.11.1";
        s.quantization = q;
        const MemoryFit own = memory_fit(c.value(), s, h100()).value();
        const ServingWorkload w = ServingWorkload::build(c.value(), s).value();
        ASSERT_NE(w.traced_decode(), nullptr) << id;
        const MemoryFit read = memory_fit(w, c.value(), h100()).value();
        const std::string at = id + " batch " + std::to_string(batch) + " " + q;
        EXPECT_DOUBLE_EQ(read.dense_weights_bytes, own.dense_weights_bytes) << at;
        // One expert's bytes are the trace's over the experts its rows touched: equal to
        // rounding.
        EXPECT_NEAR(read.expert_weights_bytes, own.expert_weights_bytes, 1e-6 * own.expert_weights_bytes) << at;
        EXPECT_NEAR(read.activation_bytes, own.activation_bytes, 1e-9 * own.activation_bytes) << at;
        EXPECT_DOUBLE_EQ(read.kv_bytes_per_request, own.kv_bytes_per_request) << at;
        EXPECT_EQ(read.max_batch, own.max_batch) << at;
      }
    }
  }
}

// A batch the cache cannot hold is capped and the answer says so; weights that do not
// fit at all are said too, the figures still given.
TEST(MemoryTest, TheAnswerCapsTheBatchAndSaysSo) {
  const models::ModelConfig c = models::bundled_config("meta-llama/Llama-3.1-8B").value();
  ServingConfig s{4000, 2000, 2000, 1, 1, ""};
  s.engine = "vllm-0.11.1";
  const Answer a = answer(c, h100(), s, shipped_serving_predictors(), nullptr, WithTree::kNone).value();
  ASSERT_TRUE(a.doc["memory"].is_object());
  EXPECT_TRUE(a.doc["memory"]["batch_capped"].get<bool>());
  EXPECT_EQ(a.doc["memory"]["requested_batch"], 4000);
  EXPECT_EQ(a.served.batch_size, a.doc["memory"]["max_batch"].get<int64_t>());
  EXPECT_EQ(a.doc["batch_size"], a.served.batch_size);
  EXPECT_NE(a.doc["memory"]["note"].get<std::string>().find("do not fit the KV cache"), std::string::npos);
  const models::ModelConfig big = models::bundled_config("meta-llama/Llama-3.1-405B").value();
  ServingConfig one{8, 128, 128, 1, 1, ""};
  one.engine = "vllm-0.11.1";
  const Answer no = answer(big, h100(), one, shipped_serving_predictors(), nullptr, WithTree::kNone).value();
  EXPECT_FALSE(no.doc["memory"]["fits"].get<bool>());
  EXPECT_EQ(no.served.batch_size, 8);
  EXPECT_GT(no.doc["energy_per_output_token_j"].get<double>(), 0);
}

// Every public config of 2025-26 irene builds answers at one request on one GPU and at
// 4,096 on 64 (the CLI's trusted limits; the memory check says what does not fit).
TEST(MemoryTest, EveryHfConfigIreneBuildsAnswersAtAnyBatchAndGpuCount) {
  const std::filesystem::path dir = std::string(IRENE_DATA_DIR) + "/../hf-configs";
  if (!std::filesystem::exists(dir)) GTEST_SKIP() << "no hf-configs at " << dir;
  int answered = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    auto c = models::load_config_file(entry.path().string());
    if (!c.is_ok() || !c->is_decoder()) continue;  // an architecture irene does not build
    for (const auto& [batch, gpus] : {std::pair{1, 1}, std::pair{4096, 64}}) {
      ServingConfig s{batch, 128, 256, gpus, 1, ""};
      s.engine = "vllm-0.11.1";
      s.size_limits = false;
      auto a = answer(*c, h100(), s, shipped_serving_predictors(), nullptr, WithTree::kNone);
      EXPECT_TRUE(a.is_ok()) << entry.path().filename() << " at " << batch << " on " << gpus << ": "
                             << a.status().message();
    }
    ++answered;
  }
  EXPECT_GT(answered, 40);
}

}  // namespace
}  // namespace irene::serving
