// ProfileJobs: live profiles run one at a time on a worker thread; others wait in a
// bounded queue. Each job is visible by id with its status and progress.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
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

class ProfileJobs {
 public:
  explicit ProfileJobs(size_t max_waiting = 8);
  ~ProfileJobs();  // cancels everything and joins the worker

  // The new job's id, or nullopt when the queue is full.
  std::optional<std::string> submit(ProfileRequest request);
  // {"id", "status", "progress", "request", "result"|"error"}; nullopt for unknown ids.
  std::optional<nlohmann::json> describe(const std::string& id);
  // False for unknown ids. A finished job keeps its status.
  bool cancel(const std::string& id);

 private:
  struct Job;
  void work();

  size_t max_waiting_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::shared_ptr<Job>> queue_;
  std::map<std::string, std::shared_ptr<Job>> jobs_;
  uint64_t next_id_ = 1;
  bool stopping_ = false;
  std::thread worker_;
};

}  // namespace irene::server
