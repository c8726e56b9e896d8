#include "server/jobs.h"

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <mutex>
#include <thread>

#include "models/zoo.h"

namespace irene::server {
namespace {

// An archive in a map, as the server's SQLite file would keep it.
struct MapArchive {
  std::mutex mutex;
  std::map<std::string, std::string> rows;
  JobArchive archive() {
    return {[this](const std::string& id, const std::string& d) {
              std::lock_guard lock(mutex);
              rows[id] = d;
            },
            [this](const std::string& id) -> std::optional<std::string> {
              std::lock_guard lock(mutex);
              auto it = rows.find(id);
              return it == rows.end() ? std::nullopt : std::optional<std::string>(it->second);
            }};
  }
};

ProfileRequest quick_request(const std::string& level = "model") {
  ProfileRequest r{models::bundled_config("distilgpt2").value(), 1, 4};
  r.seconds_per_node = 0.005;
  r.level = level;
  r.echo = {{"model", "distilgpt2"}};
  return r;
}

nlohmann::json wait_until_ended(Jobs& jobs, const std::string& id) {
  nlohmann::json d;
  for (int i = 0; i < 600; ++i) {
    d = jobs.describe(id).value_or(nlohmann::json());
    if (d.value("status", "") != "queued" && d.value("status", "") != "running") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return d;
}

TEST(ProfileJobsTest, FinishedJobsLeaveMemoryButStayInTheArchive) {
  MapArchive store;
  Jobs jobs(kProfileJobs, 8, store.archive(), /*kept_finished=*/1);
  const std::string first = *jobs.submit(profile_work(quick_request("all")));
  nlohmann::json d = wait_until_ended(jobs, first);
  ASSERT_EQ(d["status"], "done") << d.dump().substr(0, 300);
  EXPECT_GT(d["nodes_total"].get<int>(), 10);
  EXPECT_EQ(d["nodes_done"], d["nodes_total"]);
  EXPECT_EQ(store.rows.count(first), 1u);

  const std::string second = *jobs.submit(profile_work(quick_request()));
  EXPECT_NE(second, first);
  ASSERT_EQ(wait_until_ended(jobs, second)["status"], "done");
  // The list holds what is in memory: the second job only, without its result.
  const nlohmann::json listed = jobs.list();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0]["id"], second);
  EXPECT_FALSE(listed[0].contains("result"));
  // The first job is now only in the archive, and reads the same from there.
  auto again = jobs.describe(first);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(*again, d);
  EXPECT_TRUE(jobs.cancel(first));  // finished long ago: nothing to stop, still known
  EXPECT_FALSE(jobs.describe("p-unknown").has_value());
  EXPECT_FALSE(jobs.cancel("p-unknown"));
}

TEST(ProfileJobsTest, CancellingARunningJobKeepsTheFinishedNodes) {
  Jobs jobs(kProfileJobs);
  ProfileRequest slow = quick_request("all");
  slow.seconds_per_node = 0.05;
  const std::string id = *jobs.submit(profile_work(std::move(slow)));
  for (int i = 0; i < 600 && jobs.describe(id)->value("nodes_done", 0) < 2; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_TRUE(jobs.cancel(id));
  nlohmann::json d;
  for (int i = 0; i < 600; ++i) {
    d = *jobs.describe(id);
    if (d.contains("result")) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(d["status"], "cancelled");
  ASSERT_TRUE(d.contains("result"));
  EXPECT_FALSE(d["result"]["profile"]["complete"].get<bool>());
  EXPECT_LT(d["result"]["profile"]["nodes_measured"].get<int>() + d["result"]["profile"]["nodes_reused"].get<int>(),
            d["nodes_total"].get<int>());
}

TEST(ProfileJobsTest, AFullQueueRefusesMore) {
  Jobs jobs(kProfileJobs, 1);
  ProfileRequest slow = quick_request("all");
  slow.seconds_per_node = 1;
  const std::string running = *jobs.submit(profile_work(slow));
  for (int i = 0; i < 600 && jobs.describe(running)->value("status", "") == "queued"; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  const std::string waiting = *jobs.submit(profile_work(slow));  // waits
  EXPECT_FALSE(jobs.submit(profile_work(slow)).has_value());     // the queue holds one
  const nlohmann::json listed = jobs.list();  // newest first
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0]["id"], waiting);
  EXPECT_EQ(listed[0]["status"], "queued");
  EXPECT_EQ(listed[1]["id"], running);
  EXPECT_EQ(listed[1]["status"], "running");
}

}  // namespace
}  // namespace irene::server
