// ResultCache: answers of the API kept in an SQLite file, keyed by request and
// predictor, surviving restarts; a small in-memory map in front makes repeated
// requests cheap, and identical concurrent requests are computed once.
#pragma once

#include <functional>
#include <future>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "common/status.h"

struct sqlite3;

namespace irene::server {

class ResultCache {
 public:
  // Opens or creates the file. A file that is corrupt or written by another schema
  // version is moved aside to "<path>.corrupt-<unix time>" with a warning, and a new
  // one is created. Thread-safe.
  static Result<std::unique_ptr<ResultCache>> open(const std::string& path, size_t memory_entries = 256);
  ~ResultCache();

  using Compute = std::function<Result<std::string>()>;
  // The cached value of `key`, or compute() stored under it. Failures are not cached.
  Result<std::shared_ptr<const std::string>> get_or_compute(const std::string& key, const Compute& compute);

  // Plain rows beside the cached answers, for what must outlive the process (finished
  // profile jobs). put() replaces; get() is empty for an unknown key.
  void put(const std::string& key, const std::string& value) { db_put(key, value); }
  std::shared_ptr<const std::string> get(const std::string& key) { return db_get(key); }

  size_t stored() const;       // rows in the file
  const std::string& path() const { return path_; }

 private:
  ResultCache(std::string path, sqlite3* db, size_t memory_entries);
  std::shared_ptr<const std::string> memory_get(const std::string& key);
  void memory_put(const std::string& key, std::shared_ptr<const std::string> value);
  std::shared_ptr<const std::string> db_get(const std::string& key);
  void db_put(const std::string& key, const std::string& value);

  std::string path_;
  sqlite3* db_;
  mutable std::mutex db_mutex_;
  std::mutex memory_mutex_;
  size_t memory_entries_;
  std::list<std::string> lru_;  // most recent first
  std::unordered_map<std::string, std::pair<std::shared_ptr<const std::string>, std::list<std::string>::iterator>> memory_;
  std::mutex inflight_mutex_;
  std::map<std::string, std::shared_future<Result<std::shared_ptr<const std::string>>>> inflight_;
};

}  // namespace irene::server
