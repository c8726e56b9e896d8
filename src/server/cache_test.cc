#include "server/cache.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

namespace irene::server {
namespace {

std::string fresh_path(const char* name) {
  const std::string p = std::string(IRENE_BINARY_DIR) + "/cache_test_" + name + ".sqlite";
  std::filesystem::remove(p);
  for (const char* s : {"-wal", "-shm"}) std::filesystem::remove(p + s);
  return p;
}

int corrupt_copies(const std::string& path) {
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator(std::filesystem::path(path).parent_path()))
    if (e.path().string().rfind(path + ".corrupt-", 0) == 0) {
      ++n;
      std::filesystem::remove(e.path());
    }
  return n;
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

TEST(CacheTest, CorruptFileIsSetAside) {
  const std::string path = fresh_path("corrupt");
  corrupt_copies(path);
  std::ofstream(path, std::ios::binary) << std::string(4096, '\x5a');
  auto cache = ResultCache::open(path);
  ASSERT_TRUE(cache.is_ok()) << cache.status().to_string();
  EXPECT_EQ((*cache)->stored(), 0u);
  EXPECT_EQ(corrupt_copies(path), 1);
}

TEST(CacheTest, FileOfAnotherVersionIsSetAside) {
  const std::string path = fresh_path("version");
  corrupt_copies(path);
  {
    auto cache = ResultCache::open(path).value();
    (void)cache->get_or_compute("k", [] { return Result<std::string>(std::string("v")); });
  }
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_exec(db, "PRAGMA user_version=99", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  auto cache = ResultCache::open(path);
  ASSERT_TRUE(cache.is_ok());
  EXPECT_EQ((*cache)->stored(), 0u);
  EXPECT_EQ(corrupt_copies(path), 1);
}

}  // namespace
}  // namespace irene::server
