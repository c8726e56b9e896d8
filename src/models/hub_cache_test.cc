#include "models/hub_cache.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "models/zoo.h"

namespace irene::models {
namespace {

namespace fs = std::filesystem;

// Writes a snapshot of `repo` ("org--name") holding a config.json with `layers` layers.
void write_snapshot(const fs::path& cache, const std::string& repo, const std::string& rev, int layers) {
  const fs::path dir = cache / ("models--" + repo) / "snapshots" / rev;
  fs::create_directories(dir);
  std::ofstream(dir / "config.json") << nlohmann::json{{"model_type", "llama"},        {"vocab_size", 64},
                                                       {"hidden_size", 32},           {"intermediate_size", 48},
                                                       {"num_hidden_layers", layers}, {"num_attention_heads", 4}}
                                            .dump();
}

TEST(HubCacheTest, FindsTheSnapshotMainPointsToElseTheNewest) {
  const fs::path cache = fs::path(IRENE_BINARY_DIR) / "fake-hf-cache";
  fs::remove_all(cache);
  write_snapshot(cache, "acme--tiny-llama", "aaa111", 2);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  write_snapshot(cache, "acme--tiny-llama", "bbb222", 3);
  auto newest = find_model("acme/tiny-llama", cache.string());
  ASSERT_TRUE(newest.is_ok()) << newest.status().to_string();
  EXPECT_EQ(newest->num_layers, 3);
  EXPECT_EQ(newest->name, "acme/tiny-llama");

  fs::create_directories(cache / "models--acme--tiny-llama" / "refs");
  std::ofstream(cache / "models--acme--tiny-llama" / "refs" / "main") << "aaa111";
  EXPECT_EQ(find_model("acme/tiny-llama", cache.string())->num_layers, 2);

  // Bundled names come first, whatever the cache holds.
  EXPECT_EQ(find_model("meta-llama/Llama-3.2-1B", cache.string())->num_layers, 16);

  auto missing = find_model("acme/huge-llama", cache.string());
  ASSERT_FALSE(missing.is_ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  const std::string& m = missing.status().message();
  EXPECT_NE(m.find("models--acme--huge-llama/snapshots/*/config.json"), std::string::npos) << m;
  EXPECT_NE(m.find("--config PATH"), std::string::npos) << m;

  EXPECT_EQ(find_cached_config("../etc", cache.string()).status().code(), StatusCode::kInvalidArgument);
}

TEST(HubCacheTest, TheEnvironmentChoosesTheCache) {
  const char* home = std::getenv("HOME");
  const std::string saved_home = home ? home : "";
  setenv("HF_HUB_CACHE", "/tmp/hub-a", 1);
  setenv("HF_HOME", "/tmp/home-b", 1);
  EXPECT_EQ(hub_cache_dir(), "/tmp/hub-a");
  unsetenv("HF_HUB_CACHE");
  EXPECT_EQ(hub_cache_dir(), "/tmp/home-b/hub");
  unsetenv("HF_HOME");
  setenv("HOME", "/tmp/home-c", 1);
  EXPECT_EQ(hub_cache_dir(), "/tmp/home-c/.cache/huggingface/hub");
  setenv("HOME", saved_home.c_str(), 1);
}

}  // namespace
}  // namespace irene::models
