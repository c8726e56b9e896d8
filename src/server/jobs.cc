#include "server/jobs.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "profile/profile.h"
#include "tree/tree_format.h"

namespace irene::server {

struct Jobs::Job {
  std::string id;
  uint64_t number = 0;  // submission order
  JobWork work;
  std::string status = "queued";  // queued, running, done, failed, cancelled
  int64_t done = 0, total = 0;
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

Jobs::Jobs(JobKind kind, size_t max_waiting, JobArchive archive, size_t kept_finished)
    : kind_(std::move(kind)),
      max_waiting_(max_waiting),
      archive_(std::move(archive)),
      kept_finished_(kept_finished),
      id_prefix_(run_prefix()),
      worker_([this] { work(); }) {}

Jobs::~Jobs() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    for (auto& [id, job] : jobs_) job->cancel = true;
  }
  wake_.notify_all();
  worker_.join();
}

std::optional<std::string> Jobs::submit(JobWork work) {
  std::lock_guard lock(mutex_);
  if (queue_.size() >= max_waiting_) return std::nullopt;
  auto job = std::make_shared<Job>();
  job->number = next_id_++;
  job->id = kind_.id_letter + id_prefix_ + "-" + std::to_string(job->number);
  job->work = std::move(work);
  jobs_[job->id] = job;
  queue_.push_back(job);
  wake_.notify_one();
  return job->id;
}

nlohmann::json Jobs::describe_locked(const Job& j) const {
  const double progress = j.status == "done" ? 1.0
                          : j.total > 0      ? static_cast<double>(j.done) / static_cast<double>(j.total)
                                             : 0.0;
  nlohmann::json out = {{"id", j.id},
                        {"status", j.status},
                        {"progress", progress},
                        {kind_.unit + "_done", j.done},
                        {kind_.unit + "_total", j.total},
                        {"request", j.work.echo}};
  if (!j.result.is_null()) out["result"] = j.result;
  if (j.status == "failed") out["error"] = j.error;
  return out;
}

std::optional<nlohmann::json> Jobs::describe(const std::string& id) {
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

nlohmann::json Jobs::list() {
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

bool Jobs::cancel(const std::string& id) {
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
void Jobs::finish_locked(const std::shared_ptr<Job>& job) {
  if (archive_.save) archive_.save(job->id, describe_locked(*job).dump());
  finished_.push_back(job->id);
  while (finished_.size() > kept_finished_) {
    jobs_.erase(finished_.front());
    finished_.pop_front();
  }
}

void Jobs::work() {
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
    auto progress = [this, job](int64_t done, int64_t total) {
      std::lock_guard lock(mutex_);
      job->done = done;
      job->total = total;
    };
    Result<JobOutcome> outcome = Status::internal("the job did not run");
    try {
      outcome = job->work.run(job->cancel, progress);
    } catch (const std::exception& e) {  // the worker outlives any one job
      outcome = Status::internal(e.what());
    }
    std::lock_guard lock(mutex_);
    if (outcome.is_ok()) {
      job->result = std::move(outcome->result);  // a cancelled job keeps what it finished
      job->status = outcome->complete ? "done" : "cancelled";  // cancelled: by DELETE, or the server shutting down
    } else if (outcome.status().code() == StatusCode::kCancelled || job->status == "cancelled") {
      job->status = "cancelled";
    } else {
      job->status = "failed";
      job->error = outcome.status().message();
      spdlog::warn("job {} failed: {}", job->id, job->error);
    }
    finish_locked(job);
  }
}

JobWork profile_work(ProfileRequest request) {
  JobWork w;
  w.echo = request.echo;
  w.run = [request = std::move(request)](const std::atomic<bool>& cancel,
                                         const std::function<void(int64_t, int64_t)>& progress) -> Result<JobOutcome> {
    profile::ProfileOptions o;
    o.batch_size = request.batch_size;
    o.seq_len = request.seq_len;
    o.rounds = request.rounds;
    o.seconds_per_node = request.seconds_per_node;
    o.level = request.level;
    o.device = request.device;
    o.cancel = &cancel;
    o.progress = [&progress](int done, int total) { progress(done, total); };
    IRENE_ASSIGN_OR_RETURN(profile::ProfileResult t, profile::profile_model(request.config, o));
    // Building the document on the worker, outside the queue's lock: a large tree takes a while.
    JobOutcome out;
    out.result = tree::to_json(t.tree);
    out.result["profile"] = t.header;
    out.complete = t.complete;
    return out;
  };
  return w;
}

}  // namespace irene::server
