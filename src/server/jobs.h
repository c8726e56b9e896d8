// Jobs: long work the API runs one at a time on a worker thread (live profiles, advisor
// searches); others wait in a bounded queue. Each job is visible by id with its status and
// progress, can be cancelled, and is archived when it ends.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>

#include "common/status.h"
#include "models/config.h"

namespace irene::server {

// What a job's work returns: its result, and whether it ran to the end (a cancelled
// profile returns the nodes it finished, complete = false).
struct JobOutcome {
  nlohmann::json result;
  bool complete = true;
};

// One job: the request as the client sent it, and the work, which reports its progress
// (`done` of `total` units) and stops early once `cancel` is set.
struct JobWork {
  nlohmann::json echo;
  std::function<Result<JobOutcome>(const std::atomic<bool>& cancel,
                                   const std::function<void(int64_t done, int64_t total)>& progress)>
      run;
};

// What the jobs of a queue are: ids start with `id_letter` ("p1abc-3"); their progress
// counts `unit` ("nodes": nodes_done, nodes_total).
struct JobKind {
  std::string id_letter, unit;
};

// Where finished jobs go so that they outlive the process and the in-memory window:
// save(id, description) once a job ends, load(id) for ids no longer in memory.
struct JobArchive {
  std::function<void(const std::string& id, const std::string& description)> save;
  std::function<std::optional<std::string>(const std::string& id)> load;
};

class Jobs {
 public:
  // Keeps the last `kept_finished` finished jobs in memory; older ones are only in the
  // archive (when there is one).
  explicit Jobs(JobKind kind, size_t max_waiting = 8, JobArchive archive = {}, size_t kept_finished = 16);
  ~Jobs();  // cancels everything and joins the worker

  // The new job's id, or nullopt when the queue is full.
  std::optional<std::string> submit(JobWork work);
  // {"id", "status", "progress", "<unit>_done", "<unit>_total", "request", "result"|"error"};
  // nullopt for unknown ids. A cancelled job keeps the result its work returned (a
  // profile's: the nodes finished before it stopped).
  std::optional<nlohmann::json> describe(const std::string& id);
  // False for unknown ids. A finished job keeps its status.
  bool cancel(const std::string& id);
  // The jobs in memory (waiting, running, and the last finished ones), newest first, each
  // described without its result.
  nlohmann::json list();

 private:
  struct Job;
  void work();
  nlohmann::json describe_locked(const Job& job) const;
  void finish_locked(const std::shared_ptr<Job>& job);

  JobKind kind_;
  size_t max_waiting_;
  JobArchive archive_;
  size_t kept_finished_;
  std::deque<std::string> finished_;  // ids of finished jobs still in memory, oldest first
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::shared_ptr<Job>> queue_;
  std::map<std::string, std::shared_ptr<Job>> jobs_;
  std::string id_prefix_;  // differs between runs of the server, so archived ids never collide
  uint64_t next_id_ = 1;
  bool stopping_ = false;
  std::thread worker_;
};

// A live profile of `request` (profile/profile.h) as a job: its progress counts nodes,
// its result is the measured tree with its profile header.
struct ProfileRequest {
  models::ModelConfig config;
  int64_t batch_size = 1, seq_len = 32;
  int rounds = 1;
  double seconds_per_node = 0.05;
  std::string level = "all";
  std::string device = "cpu";
  nlohmann::json echo;  // the request as the client sent it
};
JobWork profile_work(ProfileRequest request);
inline const JobKind kProfileJobs{"p", "nodes"};

}  // namespace irene::server
