// The store's contract, run against each backend: SQLite, and the throwaway PostgreSQL
// that ctest starts for it (the test_postgres fixture; skipped outside ctest). Every test writes under names of its own, so runs share a database.
#include "store/store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "store/migrations.h"

namespace irene::store {
namespace {

std::string unique(const std::string& prefix) {
  static std::mt19937_64 rng{std::random_device{}()};
  return prefix + "-" + std::to_string(getpid()) + "-" + std::to_string(rng() % 1000000000);
}

std::string sqlite_path(const std::string& name) {
  const std::string p = std::string(IRENE_BINARY_DIR) + "/store_test_" + name + ".sqlite";
  for (const char* s : {"", "-wal", "-shm"}) std::filesystem::remove(p + s);
  return p;
}

int set_aside_copies(const std::string& path) {
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator(std::filesystem::path(path).parent_path()))
    if (e.path().string().rfind(path + ".corrupt-", 0) == 0) {
      ++n;
      std::filesystem::remove(e.path());
    }
  return n;
}

void sql(const std::string& path, const char* statement) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  ASSERT_EQ(sqlite3_exec(db, statement, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  sqlite3_close(db);
}

// The test cluster's PostgreSQL (ctest's test_postgres fixture), or "" outside ctest.
std::string postgres_url() {
  const char* dir = std::getenv("IRENE_TEST_CLUSTER");
  std::ifstream in(std::string(dir ? dir : "/nonexistent") + "/postgres/url");
  std::string url;
  std::getline(in, url);
  return url;
}

// The URL of each backend under test.
std::string backend_url(const std::string& backend) {
  return backend == "sqlite" ? "sqlite:" + sqlite_path("contract") : postgres_url();
}

class StoreContract : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    url_ = backend_url(GetParam());
    if (url_.empty()) GTEST_SKIP() << "no PostgreSQL: ctest starts one (the test_postgres fixture)";
    auto s = open_store(url_, fast_retry());
    ASSERT_TRUE(s.is_ok()) << s.status().to_string();
    store_ = std::move(s).value();
    campaign_ = unique("c");
  }
  static RetryPolicy fast_retry() { return {3, 0.05, 0.1}; }

  PointRecord point(int index, const std::string& task) const {
    PointRecord p;
    p.campaign = campaign_;
    p.key = "distilgpt2 b=1 s=" + std::to_string(8 * (index + 1)) + " n=0 r=0";
    p.index = index;
    p.task = task;
    p.started = iso_time_now();
    return p;
  }
  PointRecord measured(int index, const std::string& task, double latency) const {
    PointRecord p = point(index, task);
    p.latency_s = latency;
    p.result = "{\"latency\":" + std::to_string(latency) + "}";
    p.finished = iso_time_now() + task;  // unique per write
    return p;
  }
  void save_campaign(int64_t points) {
    ASSERT_TRUE(store_->save_campaign({campaign_, "{\"spec\":1}", points, iso_time_now()}).is_ok());
  }

  std::string url_, campaign_;
  std::unique_ptr<Store> store_;
};

TEST_P(StoreContract, OpensAtTheLatestSchemaAndReopens) {
  EXPECT_EQ(store_->backend(), GetParam());
  EXPECT_EQ(store_->schema_version().value(), latest_schema_version());
  store_.reset();
  auto again = open_store(url_);
  ASSERT_TRUE(again.is_ok()) << again.status().to_string();
  EXPECT_EQ((*again)->schema_version().value(), latest_schema_version());
}

TEST_P(StoreContract, ValuesArePutReplacedAndCounted) {
  const std::string key = unique("k");
  const int64_t before = store_->count_values().value();
  EXPECT_FALSE(store_->get(key).value().has_value());
  ASSERT_TRUE(store_->put(key, "one").is_ok());
  ASSERT_TRUE(store_->put(key, "two").is_ok());
  EXPECT_EQ(store_->get(key).value(), "two");
  EXPECT_EQ(store_->count_values().value(), before + 1);
}

TEST_P(StoreContract, ACampaignKeepsItsPlan) {
  save_campaign(6);
  EXPECT_TRUE(store_->save_campaign({campaign_, "{\"spec\":1}", 6, iso_time_now()}).is_ok()) << "same plan: no-op";
  Status other = store_->save_campaign({campaign_, "{\"spec\":2}", 6, iso_time_now()});
  EXPECT_EQ(other.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(other.message().find("another plan"), std::string::npos);
  auto c = store_->campaign(campaign_).value();
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->spec, "{\"spec\":1}");
  EXPECT_EQ(c->points, 6);
  EXPECT_FALSE(store_->campaign(unique("none")).value().has_value());
  bool listed = false;
  const auto all = store_->campaigns().value();
  for (const auto& r : all) listed = listed || r.name == campaign_;
  EXPECT_TRUE(listed);

  ASSERT_TRUE(store_->save_submission({campaign_, "17", "slurm", 3, 6, iso_time_now()}).is_ok());
  ASSERT_TRUE(store_->save_submission({campaign_, "17", "slurm", 3, 6, iso_time_now()}).is_ok());
  ASSERT_TRUE(store_->save_submission({campaign_, "18", "slurm", 1, 2, iso_time_now()}).is_ok());
  auto subs = store_->submissions(campaign_).value();
  ASSERT_EQ(subs.size(), 2u);
  EXPECT_EQ(subs[0].job_id, "17");
  EXPECT_EQ(subs[1].points, 2);
}

TEST_P(StoreContract, APointMeasuredTwiceIsKeptOnceAndTheRepeatCounted) {
  save_campaign(2);
  EXPECT_TRUE(store_->start_point(point(0, "slurm:1_0")).value());
  auto rows = store_->points(campaign_, false).value();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].status, "running");
  EXPECT_EQ(rows[0].task, "slurm:1_0");

  EXPECT_TRUE(store_->finish_point(measured(0, "slurm:1_0", 0.25)).value());
  EXPECT_FALSE(store_->finish_point(measured(0, "slurm:2_0", 0.5)).value()) << "a second measurement is dropped";
  EXPECT_FALSE(store_->start_point(point(0, "slurm:3_0")).value()) << "a done point is not started again";
  EXPECT_TRUE(store_->fail_point([&] {
                      PointRecord p = point(0, "slurm:3_0");
                      p.error = "late failure";
                      return p;
                    }()).is_ok());
  rows = store_->points(campaign_, true).value();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].status, "done");
  EXPECT_EQ(rows[0].task, "slurm:1_0");
  EXPECT_DOUBLE_EQ(*rows[0].latency_s, 0.25);
  EXPECT_FALSE(rows[0].energy_j.has_value());
  EXPECT_EQ(rows[0].result, "{\"latency\":0.250000}");
  EXPECT_EQ(rows[0].measurements, 2);
  EXPECT_EQ(rows[0].error, "");
  EXPECT_TRUE(store_->points(campaign_, false).value()[0].result.empty()) << "results only when asked for";
}

TEST_P(StoreContract, AWriteTriedAgainAfterItsCommitIsRecognised) {
  save_campaign(1);
  const PointRecord p = measured(0, "local:h:1", 1.5);
  EXPECT_TRUE(store_->finish_point(p).value());
  EXPECT_TRUE(store_->finish_point(p).value()) << "the same write again (an answer lost on the way) is ours";
  EXPECT_EQ(store_->points(campaign_, false).value()[0].measurements, 1);
}

TEST_P(StoreContract, FailedPointsAreStartedAgainAndARunningOneKeepsItsTask) {
  save_campaign(1);
  PointRecord a = point(0, "slurm:1_0");
  ASSERT_TRUE(store_->start_point(a).value());
  a.error = "out of memory";
  a.finished = iso_time_now();
  ASSERT_TRUE(store_->fail_point(a).is_ok());
  auto rows = store_->points(campaign_, false).value();
  EXPECT_EQ(rows[0].status, "failed");
  EXPECT_EQ(rows[0].error, "out of memory");

  ASSERT_TRUE(store_->start_point(point(0, "slurm:2_0")).value());
  PointRecord stale = point(0, "slurm:1_0");
  stale.error = "a late word from the first task";
  ASSERT_TRUE(store_->fail_point(stale).is_ok());
  rows = store_->points(campaign_, false).value();
  EXPECT_EQ(rows[0].status, "running");
  EXPECT_EQ(rows[0].task, "slurm:2_0");
  EXPECT_EQ(rows[0].attempts, 2);
  EXPECT_EQ(rows[0].error, "");
}

TEST_P(StoreContract, ConcurrentWritersLeaveEachPointOnce) {
  constexpr int kWriters = 6, kPoints = 20;
  save_campaign(kPoints);
  std::atomic<int> stored{0}, failures{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w)
    writers.emplace_back([&, w] {
      auto s = open_store(url_, {20, 0.05, 0.5});  // a connection (or file handle) of its own
      if (!s.is_ok()) {
        ++failures;
        return;
      }
      for (int i = 0; i < kPoints; ++i) {
        const std::string task = "local:w" + std::to_string(w);
        if (!(*s)->start_point(point(i, task)).is_ok()) ++failures;
        auto r = (*s)->finish_point(measured(i, task, 0.1 * (w + 1)));
        if (!r.is_ok()) ++failures;
        if (r.is_ok() && *r) ++stored;
      }
    });
  for (auto& t : writers) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(stored.load(), kPoints) << "each point stored by exactly one writer";
  const auto rows = store_->points(campaign_, false).value();
  ASSERT_EQ(rows.size(), static_cast<size_t>(kPoints));
  for (const auto& r : rows) {
    EXPECT_EQ(r.status, "done");
    EXPECT_EQ(r.measurements, kWriters) << r.key;
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreContract, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& info) { return info.param; });

TEST(StoreUrlTest, NamesTheBackendAndHidesPasswords) {
  EXPECT_EQ(parse_store_url("sqlite:/tmp/a.db").value().target, "/tmp/a.db");
  EXPECT_EQ(parse_store_url("sqlite:///tmp/a.db").value().target, "/tmp/a.db");
  EXPECT_EQ(parse_store_url("cache.sqlite").value().backend, "sqlite");
  auto pg = parse_store_url("postgresql://irene:s3cret@db.example:5432/irene?sslmode=require&password=x").value();
  EXPECT_EQ(pg.backend, "postgresql");
  EXPECT_EQ(pg.redacted, "postgresql://irene:***@db.example:5432/irene?sslmode=require&password=***");
  EXPECT_EQ(parse_store_url("postgres://h/db").value().backend, "postgresql");
  auto bad = parse_store_url("mysql://h/db");
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("postgresql://"), std::string::npos);
  EXPECT_EQ(parse_store_url("sqlite:").status().code(), StatusCode::kInvalidArgument);
}

TEST(SqliteStoreTest, ACacheFileOfBeforeTheStoreKeepsItsAnswers) {
  const std::string path = sqlite_path("v1");
  sql(path, "CREATE TABLE answers (key TEXT PRIMARY KEY, value TEXT NOT NULL, created REAL);"
            "INSERT INTO answers VALUES ('energy/x', '{}', 2460000.5); PRAGMA user_version=1;");
  auto s = open_store("sqlite:" + path);
  ASSERT_TRUE(s.is_ok()) << s.status().to_string();
  EXPECT_EQ((*s)->get("energy/x").value(), "{}");
  EXPECT_EQ((*s)->schema_version().value(), latest_schema_version());
  EXPECT_TRUE((*s)->campaigns().is_ok());
}

TEST(SqliteStoreTest, UnusableFilesWithNothingToLoseAreSetAside) {
  const std::string path = sqlite_path("corrupt");
  set_aside_copies(path);
  std::ofstream(path, std::ios::binary) << std::string(4096, '\x5a');
  auto s = open_store(path);
  ASSERT_TRUE(s.is_ok()) << s.status().to_string();
  EXPECT_EQ((*s)->count_values().value(), 0);
  EXPECT_EQ(set_aside_copies(path), 1);

  // A newer schema holding only cached answers: set aside too.
  const std::string newer = sqlite_path("newer-cache");
  set_aside_copies(newer);
  { ASSERT_TRUE(open_store(newer).is_ok()); }
  sql(newer, "PRAGMA user_version=99");
  ASSERT_TRUE(open_store(newer).is_ok());
  EXPECT_EQ(set_aside_copies(newer), 1);
}

TEST(SqliteStoreTest, AFileOfANewerSchemaWithMeasurementsIsRefusedNotMoved) {
  const std::string path = sqlite_path("newer-points");
  set_aside_copies(path);
  {
    auto s = open_store(path).value();
    ASSERT_TRUE(s->save_campaign({"c", "{}", 1, iso_time_now()}).is_ok());
    PointRecord p;
    p.campaign = "c";
    p.key = "k";
    p.task = "t";
    ASSERT_TRUE(s->start_point(p).value());
  }
  sql(path, "PRAGMA user_version=99");
  auto s = open_store(path);
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.status().message().find("newer irene"), std::string::npos) << s.status().message();
  EXPECT_EQ(set_aside_copies(path), 0);
  EXPECT_TRUE(std::filesystem::exists(path));
}

TEST(PostgresStoreTest, AStoreThatCannotBeReachedFailsAfterItsRetries) {
  auto s = open_store("postgresql:///irene?host=/nonexistent-irene-socket-dir", {2, 0.01, 0.01});
  ASSERT_FALSE(s.is_ok());
  EXPECT_EQ(s.status().code(), StatusCode::kIoError);
  EXPECT_NE(s.status().message().find("could not be reached after 2 tries"), std::string::npos)
      << s.status().message();
}

}  // namespace
}  // namespace irene::store
