// The campaign file, its plan and its Slurm script, submit and resume against a stand-in
// for Slurm's commands, and real local tasks profiling into an SQLite store. The real
// Slurm cluster and PostgreSQL are exercised by tests/campaign_e2e.sh.
#include "campaign/campaign.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "campaign/slurm.h"
#include "predict/dataset.h"
#include "predict/latency_calibration.h"

namespace irene::campaign {
namespace {

using nlohmann::json;

const char* kTiny = "google/bert_uncased_L-4_H-256_A-4";

json good_file() {
  return {{"name", "tiny"},
          {"models", {kTiny, "distilgpt2"}},
          {"batch_sizes", {1, 2}},
          {"seq_lens", {8}},
          {"repetitions", 2},
          {"slurm", {{"partition", "gpu"}, {"gpus_per_task", 2}, {"time_limit", "00:30:00"}, {"points_per_task", 3},
                     {"max_parallel", 2}, {"memory", "16G"}}},
          {"profile", {{"seconds_per_node", 0.001}, {"rounds", 1}, {"threads", 1}}}};
}

std::string message_for(json doc) {
  auto r = parse_campaign(doc, "c.json");
  EXPECT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  return r.status().message();
}

std::string scratch(const std::string& name) {
  const std::string dir = std::string(IRENE_BINARY_DIR) + "/campaign_test_" + name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

TEST(CampaignFileTest, AGoodFileGivesItsPlanInAFixedOrder) {
  auto spec = parse_campaign(good_file(), "c.json");
  ASSERT_TRUE(spec.is_ok()) << spec.status().to_string();
  EXPECT_EQ(spec->slurm.gpus_per_task, 2);
  EXPECT_EQ(spec->new_tokens, std::vector<int64_t>{0});
  const auto points = plan(*spec);
  ASSERT_EQ(points.size(), 2u * 2 * 1 * 1 * 2);
  EXPECT_EQ(points[0].key(), std::string(kTiny) + " b=1 s=8 n=0 r=0");
  EXPECT_EQ(points[1].key(), std::string(kTiny) + " b=1 s=8 n=0 r=1");
  EXPECT_EQ(points[7].key(), "distilgpt2 b=2 s=8 n=0 r=1");
  for (size_t i = 0; i < points.size(); ++i) EXPECT_EQ(points[i].index, static_cast<int64_t>(i));
  // What the store keeps reads back to the same spec, every default filled in.
  auto again = parse_campaign(to_json(*spec), "store");
  ASSERT_TRUE(again.is_ok());
  EXPECT_EQ(to_json(*again), to_json(*spec));
  const json minimal = {{"name", "m"}, {"models", {"distilgpt2"}}, {"batch_sizes", {1}}, {"seq_lens", {8}}};
  auto defaults = parse_campaign(to_json(parse_campaign(minimal, "m.json").value()), "store");
  ASSERT_TRUE(defaults.is_ok()) << defaults.status().to_string();
  EXPECT_EQ(defaults->slurm.points_per_task, 4);
  EXPECT_EQ(defaults->profile.rounds, 3);
}

TEST(CampaignFileTest, BadFieldsAreNamedWithWhatIsAllowed) {
  json doc = good_file();
  doc["batch_size"] = {1};
  EXPECT_NE(message_for(doc).find("c.json: batch_size: unknown field (allowed: name, models"), std::string::npos);
  doc = good_file();
  doc["batch_sizes"] = {1, 0};
  EXPECT_NE(message_for(doc).find("batch_sizes[1]: got 0; allowed: a list of integers from 1"), std::string::npos);
  doc = good_file();
  doc["models"] = {"no-such-model"};
  EXPECT_NE(message_for(doc).find("models[0]: "), std::string::npos);
  doc = good_file();
  doc["seq_lens"] = {4096};
  EXPECT_NE(message_for(doc).find("at batch size 1 and sequence length 4096"), std::string::npos);
  doc = good_file();
  doc["new_tokens"] = {0, 16};
  EXPECT_NE(message_for(doc).find("new_tokens[1]: got 16; allowed: 0"), std::string::npos);
  doc = good_file();
  doc["slurm"]["time_limit"] = "half an hour";
  EXPECT_NE(message_for(doc).find("slurm.time_limit: got \"half an hour\"; allowed: a Slurm time"), std::string::npos);
  doc = good_file();
  doc["slurm"]["gpus"] = 1;
  EXPECT_NE(message_for(doc).find("slurm.gpus: unknown field (allowed: partition"), std::string::npos);
  doc = good_file();
  doc["slurm"]["gpus_per_task"] = 0;
  doc["profile"]["device"] = "cuda";
  EXPECT_NE(message_for(doc).find("profile.device: cuda needs a GPU"), std::string::npos);
  doc = good_file();
  doc["name"] = "../etc";
  EXPECT_NE(message_for(doc).find("name: got \"../etc\""), std::string::npos);
  doc = good_file();
  doc.erase("models");
  EXPECT_NE(message_for(doc).find("models: missing"), std::string::npos);
}

TEST(CampaignFileTest, YamlReadsLikeJson) {
  const std::string dir = scratch("yaml");
  std::ofstream(dir + "/c.yaml") << "name: tiny\nmodels: [" << kTiny << ", distilgpt2]\nbatch_sizes: [1, 2]\n"
                                 << "seq_lens: [8]\nrepetitions: 2\nslurm:\n  partition: gpu\n  gpus_per_task: 2\n"
                                 << "  time_limit: \"00:30:00\"\n  points_per_task: 3\n  max_parallel: 2\n"
                                 << "  memory: 16G\nprofile: {seconds_per_node: 0.001, rounds: 1, threads: 1}\n";
  auto spec = load_campaign(dir + "/c.yaml");
  ASSERT_TRUE(spec.is_ok()) << spec.status().to_string();
  EXPECT_EQ(to_json(*spec), to_json(parse_campaign(good_file(), "c.json").value()));
  std::ofstream(dir + "/bad.yml") << "name: tiny\nmodels: [distilgpt2]\nbatch_sizes: [one]\nseq_lens: [8]\n";
  auto bad = load_campaign(dir + "/bad.yml");
  EXPECT_NE(bad.status().message().find("batch_sizes[0]: got \"one\""), std::string::npos) << bad.status().message();
  EXPECT_EQ(load_campaign(dir + "/none.json").status().code(), StatusCode::kNotFound);
}

TEST(CampaignPlanTest, TasksHoldAtMostTheirShare) {
  const auto tasks = split_into_tasks({0, 1, 2, 3, 4, 5, 6}, 3);
  ASSERT_EQ(tasks.size(), 3u);
  EXPECT_EQ(tasks[2], std::vector<int64_t>{6});
  EXPECT_EQ(split_into_tasks({}, 3).size(), 0u);
}

TEST(SlurmTest, TheArrayScriptAsksForWhatTheFileSays) {
  const CampaignSpec spec = parse_campaign(good_file(), "c.json").value();
  const std::string s = array_script(spec, {{0, 1, 2}, {3, 4, 5}, {6, 7}}, "/opt/irene/bin/irene",
                                     "postgresql://irene@db/it's", "/shared/logs");
  for (const char* line : {"#SBATCH --job-name=irene-tiny\n", "#SBATCH --array=0-2%2\n", "#SBATCH --partition=gpu\n",
                           "#SBATCH --gres=gpu:2\n", "#SBATCH --mem=16G\n", "#SBATCH --time=00:30:00\n",
                           "#SBATCH --output=/shared/logs/%A_%a.out\n", "  2) points=6,7 ;;\n",
                           "exec '/opt/irene/bin/irene' campaign run-task --db 'postgresql://irene@db/it'\\''s' "
                           "--campaign 'tiny' --points \"$points\"\n"})
    EXPECT_NE(s.find(line), std::string::npos) << line << "\nnot in:\n" << s;
  CampaignSpec cpu = spec;
  cpu.slurm.gpus_per_task = 0;
  cpu.slurm.partition = "";
  const std::string c = array_script(cpu, {{0}}, "irene", "sqlite:x", "/l");
  EXPECT_EQ(c.find("--gres"), std::string::npos);
  EXPECT_EQ(c.find("--partition"), std::string::npos);
}

// Slurm's commands as canned answers, every call recorded.
struct FakeSlurm {
  std::vector<std::vector<std::string>> calls;
  std::string squeue = "", sacct = "Slurm accounting storage is disabled";
  int next_job = 41;
  CommandRunner runner() {
    return [this](const std::vector<std::string>& argv) -> Result<CommandResult> {
      calls.push_back(argv);
      if (argv[0] == "sbatch") return CommandResult{0, std::to_string(++next_job) + ";cluster\n", ""};
      if (argv[0] == "squeue") return CommandResult{0, squeue, ""};
      if (argv[0] == "sacct") return CommandResult{1, "", sacct};
      return Status::not_found(argv[0] + ": not found");
    };
  }
};

TEST(SlurmTest, SqueueAndSacctAreRead) {
  FakeSlurm slurm;
  slurm.squeue = "42_0\n42_2\n77_1\n";
  auto live = live_tasks(slurm.runner(), "tiny", {"42"});
  ASSERT_TRUE(live.has_value());
  EXPECT_EQ(*live, (std::set<std::string>{"slurm:42_0", "slurm:42_2"})) << "another campaign's job 77 is not ours";
  EXPECT_EQ(accounting(slurm.runner(), {"42"})["note"], "sacct: Slurm accounting storage is disabled");
  CommandRunner sacct = [](const std::vector<std::string>&) -> Result<CommandResult> {
    return CommandResult{0, "42_0|COMPLETED|00:01:02|5321\n42_1|CANCELLED by 0|00:00:10|\n", ""};
  };
  const json acct = accounting(sacct, {"42"});
  ASSERT_EQ(acct["tasks"].size(), 2u);
  EXPECT_EQ(acct["tasks"][0]["consumed_energy_j"], 5321.0);
  EXPECT_TRUE(acct["tasks"][1]["consumed_energy_j"].is_null());
  CommandRunner refused = [](const std::vector<std::string>&) -> Result<CommandResult> {
    return CommandResult{1, "", "sbatch: error: invalid partition specified: gpu\n"};
  };
  auto job = sbatch(refused, "/x.sbatch");
  EXPECT_NE(job.status().message().find("invalid partition specified: gpu"), std::string::npos);
}

class CampaignStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = scratch(::testing::UnitTest::GetInstance()->current_test_info()->name());
    store_ = store::open_store("sqlite:" + dir_ + "/store.sqlite").value();
    spec_ = parse_campaign(good_file(), "c.json").value();
    options_.db_url = "sqlite:" + dir_ + "/store.sqlite";
    options_.irene_path = "/bin/irene";
    options_.work_dir = dir_ + "/work";
    options_.commands = slurm_.runner();
  }
  store::PointRecord row(int64_t index, const std::string& task) {
    store::PointRecord p;
    p.campaign = spec_.name;
    p.index = index;
    p.key = plan(spec_)[index].key();
    p.task = task;
    p.started = store::iso_time_now();
    return p;
  }

  std::string dir_;
  std::unique_ptr<store::Store> store_;
  CampaignSpec spec_;
  FakeSlurm slurm_;
  SubmitOptions options_;
};

TEST_F(CampaignStoreTest, SubmitWritesOneArrayAndRecordsIt) {
  auto r = submit(spec_, *store_, options_);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(r->job_id, "42");
  EXPECT_EQ(r->tasks, 3);  // 8 points, at most 3 a task
  EXPECT_EQ(r->points, 8);
  ASSERT_EQ(slurm_.calls.size(), 1u);
  EXPECT_EQ(slurm_.calls[0], (std::vector<std::string>{"sbatch", "--parsable", r->script}));
  EXPECT_TRUE(std::filesystem::exists(r->script));
  EXPECT_EQ(store_->submissions("tiny").value().size(), 1u);
  EXPECT_EQ(store_->campaign("tiny").value()->points, 8);
  auto again = submit(spec_, *store_, options_);
  EXPECT_EQ(again.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(again.status().message().find("irene campaign resume"), std::string::npos);
  CampaignSpec changed = spec_;
  changed.batch_sizes = {1};
  EXPECT_NE(resume(changed, *store_, options_).status().message().find("another plan"), std::string::npos);
}

TEST_F(CampaignStoreTest, ResumeSubmitsWhatIsNeitherDoneNorHeldByALiveTask) {
  ASSERT_TRUE(submit(spec_, *store_, options_).is_ok());
  // Point 0 done, 1 failed, 2 running in a live task, 3 running in a task Slurm forgot.
  store::PointRecord done = row(0, "slurm:42_0");
  done.finished = store::iso_time_now();
  ASSERT_TRUE(store_->finish_point(done).value());
  store::PointRecord failed = row(1, "slurm:42_0");
  failed.error = "out of memory";
  ASSERT_TRUE(store_->fail_point(failed).is_ok());
  ASSERT_TRUE(store_->start_point(row(2, "slurm:42_0")).value());
  ASSERT_TRUE(store_->start_point(row(3, "slurm:42_1")).value());
  slurm_.squeue = "42_0\n";

  auto p = progress(*store_, "tiny", &options_.commands);
  ASSERT_TRUE(p.is_ok()) << p.status().to_string();
  EXPECT_EQ(p->done, 1);
  EXPECT_EQ(p->failed, 1);
  EXPECT_EQ(p->running, 1);
  EXPECT_EQ(p->lost, 1);
  EXPECT_EQ(p->not_started, 4);
  const json j = to_json(*p);
  EXPECT_EQ(j["results"].size(), 8u);
  EXPECT_EQ(j["results"][3]["status"], "lost");
  EXPECT_EQ(j["results"][7]["status"], "not_started");
  EXPECT_NE(to_text(*p).find("done 1, failed 1, running 1, lost 1, not started 4"), std::string::npos);

  auto r = resume(spec_, *store_, options_);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(r->already_done, 1);
  EXPECT_EQ(r->in_flight, 1);
  EXPECT_EQ(r->points, 6);
  EXPECT_EQ(r->tasks, 2);
  std::ifstream script(r->script);
  const std::string text((std::istreambuf_iterator<char>(script)), {});
  EXPECT_NE(text.find("0) points=1,3,4 ;;"), std::string::npos) << text;
  EXPECT_NE(text.find("1) points=5,6,7 ;;"), std::string::npos) << text;
  EXPECT_EQ(store_->submissions("tiny").value().size(), 2u);
}

TEST_F(CampaignStoreTest, WithoutAnAnswerFromSqueueARunningPointIsNotCalledLost) {
  ASSERT_TRUE(submit(spec_, *store_, options_).is_ok());
  ASSERT_TRUE(store_->start_point(row(0, "slurm:42_0")).value());
  CommandRunner no_slurm = [](const std::vector<std::string>& argv) -> Result<CommandResult> {
    return Status::not_found(argv[0] + ": not found");
  };
  auto p = progress(*store_, "tiny", &no_slurm);
  ASSERT_TRUE(p.is_ok());
  EXPECT_EQ(p->running, 1);
  EXPECT_EQ(p->lost, 0);
  EXPECT_FALSE(p->live_tasks.has_value());
  EXPECT_NE(to_text(*p).find("squeue: no answer here"), std::string::npos);
  options_.commands = no_slurm;
  auto r = resume(spec_, *store_, options_);
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound) << "sbatch is missing too: " << r.status().to_string();
}

TEST_F(CampaignStoreTest, LocalTasksProfileEachPointOnceAndExportIt) {
  json doc = good_file();
  doc["models"] = {kTiny};
  doc["batch_sizes"] = {1};
  doc["seq_lens"] = {4, 8};
  doc["repetitions"] = 1;
  doc["slurm"] = {{"points_per_task", 1}};
  spec_ = parse_campaign(doc, "c.json").value();
  options_.local = true;
  std::vector<std::string> lines;
  options_.log = [&](const std::string& l) { lines.push_back(l); };
  auto r = submit(spec_, *store_, options_);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  ASSERT_TRUE(r->local_status.is_ok()) << r->local_status.to_string();
  EXPECT_EQ(r->local.measured, 2);
  EXPECT_EQ(r->tasks, 2);
  EXPECT_TRUE(slurm_.calls.empty()) << "--local never calls Slurm";
  auto points = store_->points("tiny", true).value();
  ASSERT_EQ(points.size(), 2u);
  for (const auto& p : points) {
    EXPECT_EQ(p.status, "done");
    EXPECT_EQ(p.measurements, 1);
    ASSERT_TRUE(p.latency_s.has_value());
    EXPECT_GT(*p.latency_s, 0);
    const json result = json::parse(p.result);
    EXPECT_EQ(result["campaign"]["point"], p.key);
    EXPECT_EQ(result["profile"]["settings"]["seq_len"], p.index == 0 ? 4 : 8);
  }
  // Run again: both points are done, so nothing is measured twice.
  auto again = run_task(*store_, "tiny", {0, 1}, {"local:test:1"});
  ASSERT_TRUE(again.is_ok());
  EXPECT_EQ(again->skipped, 2);
  EXPECT_EQ(again->measured, 0);
  // Nothing left for resume.
  auto nothing = resume(spec_, *store_, options_);
  ASSERT_TRUE(nothing.is_ok());
  EXPECT_EQ(nothing->points, 0);

  auto exported = export_campaign(*store_, "tiny", "profiles", dir_ + "/profiles");
  ASSERT_TRUE(exported.is_ok()) << exported.status().to_string();
  auto profiles = predict::load_profiles(dir_ + "/profiles");
  ASSERT_TRUE(profiles.is_ok()) << profiles.status().to_string();
  EXPECT_EQ(profiles->size(), 2u);
  auto csv = export_campaign(*store_, "tiny", "irene-csv", dir_ + "/csv");
  ASSERT_TRUE(csv.is_ok());
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/csv/model_level_features.csv"));
  EXPECT_EQ(export_campaign(*store_, "tiny", "parquet", dir_ + "/x").status().code(), StatusCode::kInvalidArgument);
}

// Every measured node of a profile given an energy, as a machine with a meter would.
void give_energy(json& node) {
  if (node.contains("measured") && node["measured"].is_object()) node["measured"]["energy_j"] = 0.25;
  if (node.contains("children"))
    for (auto& c : node["children"]) give_energy(c);
}

TEST_F(CampaignStoreTest, MeasuredEnergyIsExportedInTheIreneLayoutThatTrainingReads) {
  json doc = good_file();
  doc["models"] = {kTiny};
  doc["batch_sizes"] = {1};
  doc["seq_lens"] = {4};
  doc["repetitions"] = 1;
  spec_ = parse_campaign(doc, "c.json").value();
  options_.local = true;
  ASSERT_TRUE(submit(spec_, *store_, options_).is_ok());
  // The profile as a machine with an energy meter would have stored it.
  store::PointRecord p = store_->points("tiny", true).value().at(0);
  json profile = json::parse(p.result);
  give_energy(profile["root"]);
  auto other = store::open_store("sqlite:" + dir_ + "/metered.sqlite").value();
  ASSERT_TRUE(other->save_campaign(store_->campaign("tiny").value().value()).is_ok());
  p.result = profile.dump();
  ASSERT_TRUE(other->finish_point(p).value());

  auto said = export_campaign(*other, "tiny", "irene-csv", dir_ + "/csv");
  ASSERT_TRUE(said.is_ok()) << said.status().to_string();
  auto data = predict::load_dataset(dir_ + "/csv");
  ASSERT_TRUE(data.is_ok()) << data.status().to_string();
  ASSERT_EQ(data->trees.size(), 1u);
  EXPECT_EQ(data->trees[0].model, kTiny);
  EXPECT_EQ(data->trees[0].seq_len, 4);
  ASSERT_TRUE(data->trees[0].root().measured.has_value());
  EXPECT_DOUBLE_EQ(*data->trees[0].root().measured->energy_j, 0.25);
  EXPECT_GT(data->rows, 10);
  EXPECT_NE(said->find("1 measured points of 1"), std::string::npos) << *said;
}

TEST_F(CampaignStoreTest, ACancelledTaskLeavesItsPointsForResume) {
  json doc = good_file();
  doc["models"] = {kTiny};
  doc["batch_sizes"] = {1};
  doc["repetitions"] = 1;
  doc["seq_lens"] = {4, 8};
  spec_ = parse_campaign(doc, "c.json").value();
  options_.dry_run = false;
  ASSERT_TRUE(store_->save_campaign({"tiny", to_json(spec_).dump(), 2, store::iso_time_now()}).is_ok());
  std::atomic<bool> cancel{true};  // as if SIGTERM came during the first point
  auto r = run_task(*store_, "tiny", {0, 1}, {"local:test:2", &cancel});
  EXPECT_EQ(r.status().code(), StatusCode::kCancelled);
  EXPECT_TRUE(r.status().message().find("not started") != std::string::npos) << r.status().message();
  EXPECT_TRUE(store_->points("tiny", false).value().empty()) << "cancelled before the first point began";
  EXPECT_EQ(run_task(*store_, "tiny", {2}, {"t"}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(run_task(*store_, "none", {0}, {"t"}).status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace irene::campaign
