#include "server/jobs.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "profile/profile.h"
#include "tree/tree_format.h"

namespace irene::server {

struct ProfileJobs::Job {
  std::string id;
  uint64_t number = 0;  // submission order
  ProfileRequest request;
  std::string status = "queued";  // queued, running, done, failed, cancelled
  int nodes_done = 0, nodes_total = 0;
  nlohmann::json result;
  std::string error;
  std::atomic<bool> cancel{false};
};

namespace {

// Base 36 of the start time in milliseconds: short, and different for every server run.
std::string run_prefix() {
  uint64_t ms = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
  std::string out;
  do {
    out.insert(out.begin(), "0123456789abcdefghijklmnopqrstuvwxyz"[ms % 36]);
    ms /= 36;
  } while (ms);
  return out;
}

}  // namespace

ProfileJobs::ProfileJobs(size_t max_waiting, JobArchive archive, size_t kept_finished)
    : max_waiting_(max_waiting),
      archive_(std::move(archive)),
      kept_finished_(kept_finished),
      id_prefix_(run_prefix()),
      worker_([this] { work(); }) {}

ProfileJobs::~ProfileJobs() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    for (auto& [id, job] : jobs_) job->cancel = true;
  }
  wake_.notify_all();
  worker_.join();
}

std::optional<std::string> ProfileJobs::submit(ProfileRequest request) {
  std::lock_guard lock(mutex_);
  if (queue_.size() >= max_waiting_) return std::nullopt;
  auto job = std::make_shared<Job>();
  job->number = next_id_++;
  job->id = "p" + id_prefix_ + "-" + std::to_string(job->number);
  job->request = std::move(request);
  jobs_[job->id] = job;
  queue_.push_back(job);
  wake_.notify_one();
  return job->id;
}

nlohmann::json ProfileJobs::describe_locked(const Job& j) const {
  const double progress = j.status == "done"  ? 1.0
                          : j.nodes_total > 0 ? static_cast<double>(j.nodes_done) / j.nodes_total
                                              : 0.0;
  nlohmann::json out = {{"id", j.id},          {"status", j.status},           {"progress", progress},
                        {"nodes_done", j.nodes_done}, {"nodes_total", j.nodes_total}, {"request", j.request.echo}};
  if (!j.result.is_null()) out["result"] = j.result;
  if (j.status == "failed") out["error"] = j.error;
  return out;
}

std::optional<nlohmann::json> ProfileJobs::describe(const std::string& id) {
  {
    std::lock_guard lock(mutex_);
    if (auto it = jobs_.find(id); it != jobs_.end()) return describe_locked(*it->second);
  }
  if (!archive_.load) return std::nullopt;
  auto saved = archive_.load(id);
  if (!saved) return std::nullopt;
  nlohmann::json out = nlohmann::json::parse(*saved, nullptr, false);
  if (out.is_discarded()) return std::nullopt;
  return out;
}

nlohmann::json ProfileJobs::list() {
  std::lock_guard lock(mutex_);
  std::vector<const Job*> all;
  for (const auto& [id, job] : jobs_) all.push_back(job.get());
  std::sort(all.begin(), all.end(), [](const Job* a, const Job* b) { return a->number > b->number; });
  nlohmann::json out = nlohmann::json::array();
  for (const Job* j : all) {
    nlohmann::json d = describe_locked(*j);
    d.erase("result");
    out.push_back(std::move(d));
  }
  return out;
}

bool ProfileJobs::cancel(const std::string& id) {
  std::lock_guard lock(mutex_);
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return archive_.load && archive_.load(id).has_value();  // finished long ago
  Job& j = *it->second;
  j.cancel = true;
  if (j.status == "running") j.status = "cancelled";  // the worker stops after the node in progress
  if (j.status == "queued") {
    j.status = "cancelled";
    for (auto q = queue_.begin(); q != queue_.end(); ++q)
      if ((*q)->id == id) {
        queue_.erase(q);
        break;
      }
    finish_locked(it->second);
  }
  return true;
}

// A job that ended: archived, and dropped from memory once newer ones have ended.
void ProfileJobs::finish_locked(const std::shared_ptr<Job>& job) {
  if (archive_.save) archive_.save(job->id, describe_locked(*job).dump());
  finished_.push_back(job->id);
  while (finished_.size() > kept_finished_) {
    jobs_.erase(finished_.front());
    finished_.pop_front();
  }
}

void ProfileJobs::work() {
  for (;;) {
    std::shared_ptr<Job> job;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      job = queue_.front();
      queue_.pop_front();
      job->status = "running";
    }
    profile::ProfileOptions o;
    o.batch_size = job->request.batch_size;
    o.seq_len = job->request.seq_len;
    o.rounds = job->request.rounds;
    o.seconds_per_node = job->request.seconds_per_node;
    o.level = job->request.level;
    o.device = job->request.device;
    o.cancel = &job->cancel;
    o.progress = [this, job](int done, int total) {
      std::lock_guard lock(mutex_);
      job->nodes_done = done;
      job->nodes_total = total;
    };
    auto t = profile::profile_model(job->request.config, o);
    // Building the document outside the lock: a large tree takes a while.
    nlohmann::json result;
    if (t.is_ok()) {
      result = tree::to_json(t->tree);
      result["profile"] = t->header;
    }
    std::lock_guard lock(mutex_);
    if (t.is_ok()) {
      job->result = std::move(result);  // a cancelled job keeps what it finished
      job->status = t->complete ? "done" : "cancelled";  // cancelled: by DELETE, or the server shutting down
    } else if (t.status().code() == StatusCode::kCancelled || job->status == "cancelled") {
      job->status = "cancelled";
    } else {
      job->status = "failed";
      job->error = t.status().message();
      spdlog::warn("profile {} failed: {}", job->id, job->error);
    }
    finish_locked(job);
  }
}

}  // namespace irene::server
