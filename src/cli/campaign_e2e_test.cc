// Campaigns end to end, on the real parts: a one-node Slurm cluster (slurmctld, slurmd,
// munge) and a PostgreSQL server, both started by ctest (the test_slurm and
// test_postgres fixtures of the top CMakeLists.txt), and the same suite against SQLite.
// A small CPU campaign goes out as a job array of three tasks; one task is killed by
// scancel in the middle of its points; resume submits what is left; every point must end
// in the store exactly once, and `irene serve` on that store must show them.
#include <gtest/gtest.h>
#include <httplib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <stdexcept>

#include "campaign/campaign.h"
#include "common/test_process.h"
#include "store/store.h"

namespace irene {
namespace {

using nlohmann::json;
using testing::ChildProcess;
using testing::read_file;
using testing::wait_for;

const std::string kIrene = std::string(IRENE_BINARY_DIR) + "/irene";

struct Ran {
  int code = -1;
  std::string out, err;
};

Ran run(const std::vector<std::string>& argv) {
  auto r = campaign::system_commands()(argv);
  if (!r.is_ok()) return {-1, "", r.status().message()};
  return {r->exit_code, r->output, r->error};
}

// The campaign: 3 small models x 2 batch sizes, short profiles, 2 points a task: 3 tasks.
json campaign_file(const std::string& name) {
  return {{"name", name},
          {"models", {"google/bert_uncased_L-4_H-256_A-4", "distilgpt2", "HuggingFaceTB/SmolLM2-135M"}},
          {"batch_sizes", {1, 2}},
          {"seq_lens", {16}},
          {"slurm", {{"cpus_per_task", 1}, {"time_limit", "00:20:00"}, {"points_per_task", 2}}},
          {"profile", {{"seconds_per_node", 0.01}, {"rounds", 2}, {"threads", 1}}}};
}

class CampaignEndToEnd : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    const char* cluster = std::getenv("IRENE_TEST_CLUSTER");
    if (!cluster) GTEST_SKIP() << "no test cluster: ctest starts Slurm and PostgreSQL for this test";
    cluster_ = cluster;
    // sbatch, squeue and scancel, here and in the irene processes started below.
    setenv("SLURM_CONF", (cluster_ + "/slurm/slurm.conf").c_str(), 1);
    dir_ = std::string(IRENE_BINARY_DIR) + "/campaign_e2e_" + GetParam();
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    if (GetParam() == "sqlite") {
      url_ = "sqlite:" + dir_ + "/store.sqlite";
    } else {
      std::ifstream in(cluster_ + "/postgres/url");
      std::getline(in, url_);
      ASSERT_FALSE(url_.empty()) << "the test_postgres fixture wrote no URL";
    }
    name_ = "e2e-" + GetParam() + "-" + std::to_string(getpid());
    file_ = dir_ + "/campaign.json";
    std::ofstream(file_) << campaign_file(name_).dump(2);
  }

  // `irene campaign status --format json`; a failure ends the test with its message.
  json status() {
    Ran r = run({kIrene, "campaign", "status", name_, "--db", url_, "--format", "json"});
    const json doc = json::parse(r.out, nullptr, false);
    if (r.code != 0 || !doc.is_object()) throw std::runtime_error("irene campaign status: " + r.err);
    return doc;
  }
  // Waits until no task of the campaign is queued or running.
  void wait_for_slurm() {
    ASSERT_TRUE(wait_for([&] {
      const json s = status();
      return s.contains("slurm") && s["slurm"].contains("live_tasks") && s["slurm"]["live_tasks"].empty();
    })) << "the campaign's tasks did not end; " << status().dump(1);
  }
  std::string job_of(const Ran& submitted) {
    std::smatch m;
    const bool found = std::regex_search(submitted.out, m, std::regex("Slurm job (\\d+)"));
    EXPECT_TRUE(found) << submitted.out << submitted.err;
    return found ? m[1].str() : "";
  }

  std::string cluster_, dir_, url_, name_, file_;
};

TEST_P(CampaignEndToEnd, AKilledTaskIsResumedAndEveryPointEndsInTheStoreOnce) {
  Ran bad = run({kIrene, "campaign", "submit", dir_ + "/none.json", "--db", url_});
  EXPECT_EQ(bad.code, 2) << bad.err;

  Ran submitted = run({kIrene, "campaign", "submit", file_, "--db", url_, "--work-dir", dir_ + "/work"});
  ASSERT_EQ(submitted.code, 0) << submitted.out << submitted.err;
  EXPECT_NE(submitted.out.find("6 points in 3 tasks"), std::string::npos) << submitted.out;
  const std::string job = job_of(submitted);

  // A task midway: one of its points stored, the next one being measured. Kill it there.
  std::string victim, kept_key;
  ASSERT_TRUE(wait_for([&] {
    const json s = status();
    std::map<std::string, std::pair<std::string, bool>> by_task;  // task -> (a done point, one running)
    for (const auto& p : s["results"]) {
      if (!p.contains("task")) continue;
      auto& t = by_task[p["task"].get<std::string>()];
      if (p["status"] == "done") t.first = p["key"];
      if (p["status"] == "running") t.second = true;
    }
    for (const auto& [task, t] : by_task)
      if (!t.first.empty() && t.second) {
        victim = task;
        kept_key = t.first;
        return true;
      }
    return false;
  })) << "no task was seen between its points";
  Ran cancelled = run({"scancel", victim.substr(6)});  // "slurm:12_1" -> "12_1"
  ASSERT_EQ(cancelled.code, 0) << cancelled.err;
  wait_for_slurm();

  json after_kill = status();
  EXPECT_LT(after_kill["done"].get<int>(), 6) << "the kill came after the task had finished: " << after_kill.dump(1);
  for (const auto& p : after_kill["results"]) {
    if (p["key"] == kept_key) EXPECT_EQ(p["status"], "done") << "a point stored before the kill stays stored";
    if (p.value("task", "") == victim && p["status"] != "done") {
      EXPECT_EQ(p["status"], "failed") << p.dump();
      EXPECT_NE(p["error"].get<std::string>().find("interrupted"), std::string::npos) << p.dump();
    }
  }

  Ran resumed = run({kIrene, "campaign", "resume", file_, "--db", url_, "--work-dir", dir_ + "/work"});
  ASSERT_EQ(resumed.code, 0) << resumed.out << resumed.err;
  const int left = 6 - after_kill["done"].get<int>();
  EXPECT_NE(resumed.out.find(std::to_string(left) + " points in"), std::string::npos) << resumed.out;
  EXPECT_NE(job_of(resumed), job);
  wait_for_slurm();

  const json done = status();
  EXPECT_EQ(done["done"], 6) << done.dump(1);
  EXPECT_EQ(done["failed"], 0);
  EXPECT_EQ(done["lost"], 0);
  EXPECT_EQ(done["not_started"], 0);
  EXPECT_EQ(done["repeats_discarded"], 0) << "resume measured no point twice";
  EXPECT_EQ(done["submissions"].size(), 2u);
  for (const auto& p : done["results"]) {
    EXPECT_EQ(p["measurements"], 1) << p.dump();
    EXPECT_GT(p["latency_s"].get<double>(), 0) << p.dump();
    if (p["key"] == kept_key) EXPECT_EQ(p["task"], victim) << "the point done before the kill was not measured again";
  }

  // Straight from the store: one row per point of the plan.
  auto store = store::open_store(url_).value();
  const auto rows = store->points(name_, true).value();
  ASSERT_EQ(rows.size(), 6u);
  std::set<std::string> keys;
  for (const auto& r : rows) {
    keys.insert(r.key);
    EXPECT_EQ(r.status, "done");
    EXPECT_EQ(json::parse(r.result)["campaign"]["point"], r.key);
  }
  EXPECT_EQ(keys.size(), 6u);

  // irene serve on the same store shows them, over HTTP on a real port.
  const int port = testing::free_port();
  ChildProcess server({kIrene, "serve", "--host", "127.0.0.1", "--port", std::to_string(port), "--db", url_},
                      dir_ + "/serve.log");
  httplib::Client http("127.0.0.1", port);
  http.set_read_timeout(120, 0);
  ASSERT_TRUE(wait_for([&] {
    auto r = http.Get("/api/health");
    return r && r->status == 200;
  }, std::chrono::seconds(60))) << read_file(dir_ + "/serve.log");
  auto list = http.Get("/api/campaigns");
  ASSERT_TRUE(list);
  ASSERT_EQ(list->status, 200) << list->body;
  bool listed = false;
  const json campaigns = json::parse(list->body)["campaigns"];
  for (const auto& c : campaigns)
    if (c["name"] == name_) {
      listed = true;
      EXPECT_EQ(c["done"], 6);
    }
  EXPECT_TRUE(listed) << list->body;
  auto one = http.Get(("/api/campaigns/" + name_).c_str());
  ASSERT_TRUE(one);
  ASSERT_EQ(one->status, 200) << one->body;
  const json shown = json::parse(one->body);
  ASSERT_EQ(shown["results"].size(), 6u);
  for (const auto& p : shown["results"]) {
    EXPECT_EQ(p["status"], "done");
    EXPECT_GT(p["latency_s"].get<double>(), 0);
    EXPECT_GT(p["predicted_energy_j"].get<double>(), 0) << "beside its prediction: " << p.dump();
  }
  auto missing = http.Get("/api/campaigns/no-such-campaign");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(json::parse(missing->body)["error"]["code"], 404);

  // The store's points, exported as `irene train --method roofline` reads them.
  Ran trained = run({kIrene, "train", "--method", "roofline", "--db", url_, "--campaign", name_, "-o",
                     dir_ + "/latency.json"});
  EXPECT_EQ(trained.code, 0) << trained.err;
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/latency.json"));
}

INSTANTIATE_TEST_SUITE_P(Stores, CampaignEndToEnd, ::testing::Values("postgresql", "sqlite"),
                         [](const auto& info) { return info.param; });

// A PostgreSQL that goes away while a task writes: the task waits for it and carries on;
// one that stays away makes the task fail with a message that says so, and nothing
// written before is lost.
TEST(CampaignStoreOutage, TasksWaitForTheStoreThenFailClearly) {
  const char* cluster = std::getenv("IRENE_TEST_CLUSTER");
  if (!cluster) GTEST_SKIP() << "no test cluster: ctest starts PostgreSQL for this test";
  const std::string pg_dir = std::string(cluster) + "/postgres";
  const std::string pg = std::string(IRENE_SOURCE_DIR) + "/scripts/cluster/postgres.sh";
  std::string url = read_file(pg_dir + "/url");
  url = url.substr(0, url.find('\n'));
  ASSERT_FALSE(url.empty());
  const std::string dir = std::string(IRENE_BINARY_DIR) + "/campaign_e2e_outage";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);

  // The campaign recorded as `submit` records it; its tasks are started by hand below.
  const std::string name = "outage-" + std::to_string(getpid());
  json file = campaign_file(name);
  file["models"] = {"HuggingFaceTB/SmolLM2-135M"};
  file["batch_sizes"] = {1, 2, 3, 4};
  auto spec = campaign::parse_campaign(file, "test").value();
  {
    auto store = store::open_store(url).value();
    ASSERT_TRUE(store->save_campaign({name, campaign::to_json(spec).dump(), 4, store::iso_time_now()}).is_ok());
  }
  auto points_done = [&] {
    auto store = store::open_store(url, {1, 0.01, 0.01});
    if (!store.is_ok()) return -1;
    int n = 0;
    const auto points = (*store)->points(name, false);
    if (!points.is_ok()) return -1;
    for (const auto& p : *points) n += p.status == "done";
    return n;
  };

  ChildProcess task({kIrene, "campaign", "run-task", "--db", url, "--campaign", name, "--points", "0,1,2",
                     "--db-retries", "30"},
                    dir + "/task.log");
  ASSERT_TRUE(wait_for([&] { return points_done() >= 1 || task.poll(); })) << task.output();
  ASSERT_FALSE(task.poll()) << "the task ended before the store went away: " << task.output();
  ASSERT_EQ(run({pg, "pause", pg_dir}).code, 0);
  const bool waited = wait_for([&] { return task.output().find("trying again") != std::string::npos || task.poll(); });
  ASSERT_EQ(run({pg, "resume", pg_dir}).code, 0);
  ASSERT_TRUE(waited);
  EXPECT_EQ(task.wait(), 0) << task.output();
  EXPECT_NE(task.output().find("trying again"), std::string::npos) << task.output();
  EXPECT_EQ(points_done(), 3) << "every point written, none lost to the outage";

  // Away for good: a task gives up after its tries, saying why, and the points stay.
  ASSERT_EQ(run({pg, "pause", pg_dir}).code, 0);
  Ran gone = run({kIrene, "campaign", "run-task", "--db", url, "--campaign", name, "--points", "3",
                  "--db-retries", "3"});
  ASSERT_EQ(run({pg, "resume", pg_dir}).code, 0);
  EXPECT_EQ(gone.code, 1) << gone.err;
  EXPECT_NE(gone.err.find("could not be reached after 3 tries"), std::string::npos) << gone.err;
  EXPECT_NE(gone.err.find("everything written before is kept"), std::string::npos) << gone.err;
  EXPECT_EQ(points_done(), 3);
}

}  // namespace
}  // namespace irene
