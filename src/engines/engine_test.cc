#include "engines/engine.h"

#include <gtest/gtest.h>

#include "engines/engine_specs.h"

namespace irene::engines {
namespace {

TEST(EngineTest, EveryShippedDescriptionReadsAndSaysWhereItsFiguresComeFrom) {
  ASSERT_EQ(engine_catalogue().size(), engine_spec_files().size());
  for (const Engine& e : engine_catalogue()) {
    EXPECT_EQ(engine_id("vLLM", e.version), e.id);
    EXPECT_FALSE(e.fitted.empty()) << e.id;
    for (const char* figure : {"chunked_prefill", "max_num_seqs", "gpu_memory_utilization", "cuda_graphs", "kernels"})
      EXPECT_TRUE(e.sources.contains(figure)) << e.id << " gives no source for " << figure;
    // Its JSON reads back as itself.
    const Engine again = engine_from_json(to_json(e), e.id).value();
    EXPECT_EQ(again.fitted, e.fitted);
    EXPECT_EQ(again.max_num_batched_tokens, e.max_num_batched_tokens);
  }
}

TEST(EngineTest, TheTwoVllmVersionsScheduleAsTheirDocsSay) {
  const Engine v0 = find_engine("vllm-0.5.4").value();
  EXPECT_FALSE(v0.chunked_prefill);
  EXPECT_EQ(v0.kernels, Kernels::kEager);
  EXPECT_EQ(v0.graph_max_tokens, 256);
  EXPECT_TRUE(v0.host_time_per_worker);
  EXPECT_EQ(v0.prefix_caching, PrefixCaching::kNone);
  const Engine v1 = find_engine("vllm-0.11.1").value();
  EXPECT_TRUE(v1.chunked_prefill);
  EXPECT_EQ(v1.max_num_batched_tokens, 8192);
  EXPECT_EQ(v1.graph_max_tokens, 512);
  EXPECT_EQ(v1.mixed_graphs, GraphMode::kPiecewise);
  EXPECT_EQ(v1.kernels, Kernels::kFused);
  EXPECT_FALSE(v1.host_time_per_worker);
  EXPECT_EQ(v1.prefix_caching, PrefixCaching::kAttentionOnly);  // not for hybrids with state-space layers
  // No admission stall to fit once prompts ride in the decode iterations.
  EXPECT_EQ(std::count(v1.fitted.begin(), v1.fitted.end(), "admission_overhead_s"), 0);
  // Oldest first.
  EXPECT_EQ(engine_catalogue().front().id, "vllm-0.5.4");
  EXPECT_EQ(engine_catalogue().back().id, "vllm-0.11.1");
}

TEST(EngineTest, AnUnknownEngineIsNamedWithTheOnesThatExist) {
  auto e = find_engine("vllm-0.6.0");
  ASSERT_FALSE(e.is_ok());
  EXPECT_NE(e.status().message().find("'vllm-0.6.0'"), std::string::npos);
  EXPECT_NE(e.status().message().find("vllm-0.5.4, vllm-0.11.1"), std::string::npos) << e.status().message();
}

TEST(EngineTest, ABrokenDescriptionSaysWhatIsWrong) {
  nlohmann::json j = to_json(find_engine("vllm-0.11.1").value());
  j["calibration"]["fitted"].push_back("warp_speed");
  auto e = engine_from_json(j, "mine.json");
  ASSERT_FALSE(e.is_ok());
  EXPECT_NE(e.status().message().find("mine.json: unknown fitted parameter 'warp_speed'"), std::string::npos);
  j = to_json(find_engine("vllm-0.11.1").value());
  j["scheduling"]["max_num_batched_tokens"] = nullptr;
  EXPECT_NE(engine_from_json(j, "mine.json").status().message().find("chunked prefill needs max_num_batched_tokens"),
            std::string::npos);
  j = to_json(find_engine("vllm-0.11.1").value());
  j["cuda_graphs"]["mixed_iterations"] = "sometimes";
  EXPECT_NE(engine_from_json(j, "mine.json").status().message().find("full, piecewise or eager"), std::string::npos);
  // A key in the wrong block (a source among the settings) is named, not ignored.
  j = to_json(find_engine("vllm-0.11.1").value());
  j["scheduling"]["dequant_power"] = "a source";
  EXPECT_NE(engine_from_json(j, "mine.json")
                .status()
                .message()
                .find("mine.json: unknown key 'dequant_power' in scheduling (allowed: chunked_prefill,"),
            std::string::npos);
  j = to_json(find_engine("vllm-0.11.1").value());
  j["cuda_graph"] = j["cuda_graphs"];
  EXPECT_NE(engine_from_json(j, "mine.json").status().message().find("unknown key 'cuda_graph' in the description"),
            std::string::npos);
  j = to_json(find_engine("vllm-0.11.1").value());
  j["scheduling"]["prefix_caching"] = "sometimes";
  EXPECT_NE(engine_from_json(j, "mine.json").status().message().find("none, attention_only or all, got 'sometimes'"),
            std::string::npos);
  // Read back as written.
  EXPECT_EQ(engine_from_json(to_json(find_engine("vllm-0.11.1").value()), "x").value().prefix_caching,
            PrefixCaching::kAttentionOnly);
}

}  // namespace
}  // namespace irene::engines
