#include "server/cache.h"

#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <chrono>
#include <filesystem>

namespace irene::server {

namespace {

constexpr int kSchemaVersion = 1;

// Opens `path` and checks it is a cache of this version; nullptr when it is not.
sqlite3* open_checked(const std::string& path, std::string& why) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    why = db ? sqlite3_errmsg(db) : "cannot open";
    sqlite3_close(db);
    return nullptr;
  }
  sqlite3_busy_timeout(db, 2000);
  auto exec = [&](const char* sql) {
    char* err = nullptr;
    const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &err);
    if (rc != SQLITE_OK) why = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    return rc == SQLITE_OK;
  };
  int version = -1;
  sqlite3_stmt* st = nullptr;
  const bool readable = exec("PRAGMA journal_mode=WAL") &&
                        sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, nullptr) == SQLITE_OK;
  if (readable && sqlite3_step(st) == SQLITE_ROW) version = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  if (!readable) {
    sqlite3_close(db);
    return nullptr;
  }
  bool has_table = false;
  if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE name='answers'", -1, &st, nullptr) == SQLITE_OK)
    has_table = sqlite3_step(st) == SQLITE_ROW;
  sqlite3_finalize(st);
  if (has_table && version != kSchemaVersion) {
    why = "schema version " + std::to_string(version) + ", expected " + std::to_string(kSchemaVersion);
    sqlite3_close(db);
    return nullptr;
  }
  if (!exec("CREATE TABLE IF NOT EXISTS answers (key TEXT PRIMARY KEY, value TEXT NOT NULL, created REAL)") ||
      !exec(("PRAGMA user_version=" + std::to_string(kSchemaVersion)).c_str()) || !exec("PRAGMA quick_check")) {
    sqlite3_close(db);
    return nullptr;
  }
  return db;
}

}  // namespace

Result<std::unique_ptr<ResultCache>> ResultCache::open(const std::string& path, size_t memory_entries) {
  std::error_code ec;
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  std::string why;
  sqlite3* db = open_checked(path, why);
  if (db == nullptr && std::filesystem::exists(path)) {
    const auto stamp = std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch()).count();
    const std::string aside = path + ".corrupt-" + std::to_string(stamp);
    std::filesystem::rename(path, aside, ec);
    for (const char* suffix : {"-wal", "-shm"}) std::filesystem::remove(path + suffix, ec);
    spdlog::warn("cache {} is unusable ({}); moved it to {} and starting a new one", path, why, aside);
    db = open_checked(path, why);
  }
  if (db == nullptr) return Status::io_error("cannot open cache database '" + path + "': " + why);
  return std::unique_ptr<ResultCache>(new ResultCache(path, db, memory_entries));
}

ResultCache::ResultCache(std::string path, sqlite3* db, size_t memory_entries)
    : path_(std::move(path)), db_(db), memory_entries_(memory_entries) {}

ResultCache::~ResultCache() { sqlite3_close(db_); }

size_t ResultCache::stored() const {
  std::lock_guard lock(db_mutex_);
  sqlite3_stmt* st = nullptr;
  size_t n = 0;
  if (sqlite3_prepare_v2(db_, "SELECT COUNT(*) FROM answers", -1, &st, nullptr) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW)
    n = static_cast<size_t>(sqlite3_column_int64(st, 0));
  sqlite3_finalize(st);
  return n;
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
  std::lock_guard lock(db_mutex_);
  sqlite3_stmt* st = nullptr;
  std::shared_ptr<const std::string> out;
  if (sqlite3_prepare_v2(db_, "SELECT value FROM answers WHERE key = ?", -1, &st, nullptr) == SQLITE_OK) {
    sqlite3_bind_text(st, 1, key.data(), static_cast<int>(key.size()), SQLITE_TRANSIENT);
    if (sqlite3_step(st) == SQLITE_ROW)
      out = std::make_shared<const std::string>(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)),
                                                static_cast<size_t>(sqlite3_column_bytes(st, 0)));
  }
  sqlite3_finalize(st);
  return out;
}

void ResultCache::db_put(const std::string& key, const std::string& value) {
  std::lock_guard lock(db_mutex_);
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db_, "INSERT OR REPLACE INTO answers (key, value, created) VALUES (?, ?, julianday('now'))",
                         -1, &st, nullptr) == SQLITE_OK) {
    sqlite3_bind_text(st, 1, key.data(), static_cast<int>(key.size()), SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
    if (sqlite3_step(st) != SQLITE_DONE) spdlog::warn("cache: could not store an answer: {}", sqlite3_errmsg(db_));
  }
  sqlite3_finalize(st);
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
