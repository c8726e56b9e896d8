#include "server/cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

namespace irene::server {
namespace {

std::string fresh_path(const char* name) {
  const std::string p = std::string(IRENE_BINARY_DIR) + "/cache_test_" + name + ".sqlite";
  std::filesystem::remove(p);
  for (const char* s : {"-wal", "-shm"}) std::filesystem::remove(p + s);
  return p;
}

TEST(CacheTest, ComputesOnceAndPersistsAcrossReopen) {
  const std::string path = fresh_path("persist");
  int calls = 0;
  auto compute = [&]() -> Result<std::string> {
    ++calls;
    return std::string("{\"answer\":42}");
  };
  {
    auto cache = ResultCache::open(path).value();
    EXPECT_EQ(*cache->get_or_compute("k", compute).value(), "{\"answer\":42}");
    EXPECT_EQ(*cache->get_or_compute("k", compute).value(), "{\"answer\":42}");
    EXPECT_EQ(calls, 1);
  }
  auto reopened = ResultCache::open(path).value();
  EXPECT_EQ(reopened->stored(), 1u);
  EXPECT_EQ(*reopened->get_or_compute("k", compute).value(), "{\"answer\":42}");
  EXPECT_EQ(calls, 1);
}

TEST(CacheTest, FailuresAreNotCached) {
  auto cache = ResultCache::open(fresh_path("failures")).value();
  int calls = 0;
  auto failing = [&]() -> Result<std::string> {
    ++calls;
    return Status::invalid_argument("no");
  };
  EXPECT_FALSE(cache->get_or_compute("k", failing).is_ok());
  EXPECT_FALSE(cache->get_or_compute("k", failing).is_ok());
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(cache->stored(), 0u);
}

TEST(CacheTest, ConcurrentIdenticalRequestsComputeOnce) {
  auto cache = ResultCache::open(fresh_path("concurrent")).value();
  std::atomic<int> calls{0};
  auto slow = [&]() -> Result<std::string> {
    ++calls;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    return std::string("slow answer");
  };
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 8; ++i)
    threads.emplace_back([&] {
      auto r = cache->get_or_compute("same", slow);
      if (r.is_ok() && **r == "slow answer") ++ok;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 8);
  EXPECT_EQ(calls.load(), 1);
}

// Files that are corrupt or of another schema: store/store_test.cc (the store opens them).

}  // namespace
}  // namespace irene::server
