// ResultCache: answers of the API kept in the store (SQLite or PostgreSQL, store/store.h),
// keyed by request and predictor, surviving restarts and shared by every server on one
// store; a small in-memory map in front makes repeated requests cheap, and identical
// concurrent requests are computed once.
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
#include "store/store.h"

namespace irene::server {

class ResultCache {
 public:
  // Over a store already open. Thread-safe.
  explicit ResultCache(std::shared_ptr<store::Store> store, size_t memory_entries = 256);
  // Opens the store a URL (or an SQLite file path) names: see store::open_store for what
  // happens to a file that is corrupt or of another schema.
  static Result<std::unique_ptr<ResultCache>> open(const std::string& url, size_t memory_entries = 256);

  using Compute = std::function<Result<std::string>()>;
  // The cached value of `key`, or compute() stored under it. Failures are not cached.
  Result<std::shared_ptr<const std::string>> get_or_compute(const std::string& key, const Compute& compute);

  // Plain rows beside the cached answers, for what must outlive the process (finished
  // profile jobs). put() replaces; get() is empty for an unknown key (or a store that
  // cannot be read: the cache only ever costs a recomputation).
  void put(const std::string& key, const std::string& value) { db_put(key, value); }
  std::shared_ptr<const std::string> get(const std::string& key) { return db_get(key); }

  size_t stored() const;  // rows in the store
  std::string path() const { return store_->describe(); }

 private:
  std::shared_ptr<const std::string> memory_get(const std::string& key);
  void memory_put(const std::string& key, std::shared_ptr<const std::string> value);
  std::shared_ptr<const std::string> db_get(const std::string& key);
  void db_put(const std::string& key, const std::string& value);

  std::shared_ptr<store::Store> store_;
  std::mutex memory_mutex_;
  size_t memory_entries_;
  std::list<std::string> lru_;  // most recent first
  std::unordered_map<std::string, std::pair<std::shared_ptr<const std::string>, std::list<std::string>::iterator>> memory_;
  std::mutex inflight_mutex_;
  std::map<std::string, std::shared_future<Result<std::shared_ptr<const std::string>>>> inflight_;
};

}  // namespace irene::server
