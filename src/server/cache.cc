#include "server/cache.h"

#include <spdlog/spdlog.h>

namespace irene::server {

Result<std::unique_ptr<ResultCache>> ResultCache::open(const std::string& url, size_t memory_entries) {
  IRENE_ASSIGN_OR_RETURN(std::unique_ptr<store::Store> s, store::open_store(url));
  return std::make_unique<ResultCache>(std::shared_ptr<store::Store>(std::move(s)), memory_entries);
}

ResultCache::ResultCache(std::shared_ptr<store::Store> store, size_t memory_entries)
    : store_(std::move(store)), memory_entries_(memory_entries) {}

size_t ResultCache::stored() const {
  auto n = store_->count_values();
  return n.is_ok() ? static_cast<size_t>(*n) : 0;
}

std::shared_ptr<const std::string> ResultCache::memory_get(const std::string& key) {
  std::lock_guard lock(memory_mutex_);
  auto it = memory_.find(key);
  if (it == memory_.end()) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second.second);
  return it->second.first;
}

void ResultCache::memory_put(const std::string& key, std::shared_ptr<const std::string> value) {
  std::lock_guard lock(memory_mutex_);
  if (memory_.count(key)) return;
  lru_.push_front(key);
  memory_[key] = {std::move(value), lru_.begin()};
  while (memory_.size() > memory_entries_) {
    memory_.erase(lru_.back());
    lru_.pop_back();
  }
}

std::shared_ptr<const std::string> ResultCache::db_get(const std::string& key) {
  auto v = store_->get(key);
  if (!v.is_ok()) {
    spdlog::warn("cache: could not read an answer: {}", v.status().message());
    return nullptr;
  }
  return *v ? std::make_shared<const std::string>(std::move(**v)) : nullptr;
}

void ResultCache::db_put(const std::string& key, const std::string& value) {
  if (Status s = store_->put(key, value); !s.is_ok()) spdlog::warn("cache: could not store an answer: {}", s.message());
}

Result<std::shared_ptr<const std::string>> ResultCache::get_or_compute(const std::string& key, const Compute& compute) {
  if (auto hit = memory_get(key)) return hit;
  std::promise<Result<std::shared_ptr<const std::string>>> promise;
  std::shared_future<Result<std::shared_ptr<const std::string>>> future;
  bool leader = false;
  {
    std::lock_guard lock(inflight_mutex_);
    auto it = inflight_.find(key);
    if (it != inflight_.end()) {
      future = it->second;
    } else {
      future = promise.get_future().share();
      inflight_[key] = future;
      leader = true;
    }
  }
  if (!leader) return future.get();  // someone else is computing the same answer

  Result<std::shared_ptr<const std::string>> result = Status::internal("cache: no result");
  if (auto stored = db_get(key)) {
    result = stored;
  } else {
    Result<std::string> computed = compute();
    if (computed.is_ok()) {
      db_put(key, *computed);
      result = std::make_shared<const std::string>(std::move(computed).value());
    } else {
      result = computed.status();
    }
  }
  if (result.is_ok()) memory_put(key, *result);
  promise.set_value(result);
  std::lock_guard lock(inflight_mutex_);
  inflight_.erase(key);
  return result;
}

}  // namespace irene::server
