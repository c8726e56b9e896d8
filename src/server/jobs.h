// ProfileJobs: live profiles run one at a time on a worker thread; others wait in a
// bounded queue. Each job is visible by id with its status and progress.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>

#include "models/config.h"

namespace irene::server {

struct ProfileRequest {
  models::ModelConfig config;
  int64_t batch_size = 1, seq_len = 32;
  int rounds = 1;
  double seconds_per_node = 0.05;
  std::string level = "all";
  std::string device = "cpu";
  nlohmann::json echo;  // the request as the client sent it
};

// Where finished jobs go so that they outlive the process and the in-memory window:
// save(id, description) once a job ends, load(id) for ids no longer in memory.
struct JobArchive {
  std::function<void(const std::string& id, const std::string& description)> save;
  std::function<std::optional<std::string>(const std::string& id)> load;
};

class ProfileJobs {
 public:
  // Keeps the last `kept_finished` finished jobs in memory; older ones are only in the
  // archive (when there is one).
  explicit ProfileJobs(size_t max_waiting = 8, JobArchive archive = {}, size_t kept_finished = 16);
  ~ProfileJobs();  // cancels everything and joins the worker

  // The new job's id, or nullopt when the queue is full.
  std::optional<std::string> submit(ProfileRequest request);
  // {"id", "status", "progress", "nodes_done", "nodes_total", "request", "result"|"error"};
  // nullopt for unknown ids. A cancelled job's result holds the nodes finished before it
  // stopped (its profile header says complete: false).
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

}  // namespace irene::server
