#include "server/jobs.h"

#include <spdlog/spdlog.h>

#include "profile/profile.h"
#include "tree/tree_format.h"

namespace irene::server {

struct ProfileJobs::Job {
  std::string id;
  ProfileRequest request;
  std::string status = "queued";  // queued, running, done, failed, cancelled
  double progress = 0;
  nlohmann::json result;
  std::string error;
  std::atomic<bool> cancel{false};
};

ProfileJobs::ProfileJobs(size_t max_waiting) : max_waiting_(max_waiting), worker_([this] { work(); }) {}

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
  job->id = "p" + std::to_string(next_id_++);
  job->request = std::move(request);
  jobs_[job->id] = job;
  queue_.push_back(job);
  wake_.notify_one();
  return job->id;
}

std::optional<nlohmann::json> ProfileJobs::describe(const std::string& id) {
  std::lock_guard lock(mutex_);
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return std::nullopt;
  const Job& j = *it->second;
  nlohmann::json out = {{"id", j.id}, {"status", j.status}, {"progress", j.progress}, {"request", j.request.echo}};
  if (j.status == "done") out["result"] = j.result;
  if (j.status == "failed") out["error"] = j.error;
  return out;
}

bool ProfileJobs::cancel(const std::string& id) {
  std::lock_guard lock(mutex_);
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return false;
  Job& j = *it->second;
  j.cancel = true;
  if (j.status == "running") j.status = "cancelled";  // the worker stops at the next round
  if (j.status == "queued") {
    j.status = "cancelled";
    for (auto q = queue_.begin(); q != queue_.end(); ++q)
      if ((*q)->id == id) {
        queue_.erase(q);
        break;
      }
  }
  return true;
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
      job->progress = total > 0 ? static_cast<double>(done) / total : 1.0;
    };
    auto t = profile::profile_model(job->request.config, o);
    std::lock_guard lock(mutex_);
    if (job->status == "cancelled") continue;
    if (t.is_ok()) {
      job->status = "done";
      job->progress = 1.0;
      job->result = tree::to_json(t->tree);
      job->result["profile"] = t->header;
    } else if (t.status().code() == StatusCode::kCancelled) {
      job->status = "cancelled";
    } else {
      job->status = "failed";
      job->error = t.status().message();
      spdlog::warn("profile {} failed: {}", job->id, job->error);
    }
  }
}

}  // namespace irene::server
