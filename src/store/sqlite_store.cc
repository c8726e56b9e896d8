// The embedded backend: one SQLite file in WAL mode. Writers from several processes on one
// machine queue on SQLite's lock (busy timeout, then the retry policy); a cluster's nodes
// should share a PostgreSQL store instead (SQLite's locks do not hold on network file systems).
#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <mutex>

#include "store/backends.h"
#include "store/migrations.h"
#include "store/retry.h"
#include "store/sql_store.h"

namespace irene::store {

namespace {

constexpr int kBusyTimeoutMs = 10000;

bool transient_code(int rc) { return (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED; }

class SqliteSession : public SqlSession {
 public:
  explicit SqliteSession(sqlite3* db) : db_(db) {}

  Result<std::vector<SqlRow>> query(const std::string& sql, const std::vector<SqlValue>& params = {}) override {
    std::vector<SqlRow> rows;
    IRENE_RETURN_IF_ERROR(run(sql, params, &rows));
    return rows;
  }
  Result<int64_t> execute(const std::string& sql, const std::vector<SqlValue>& params = {}) override {
    IRENE_RETURN_IF_ERROR(run(sql, params, nullptr));
    return static_cast<int64_t>(sqlite3_changes(db_));
  }
  bool transient() const { return transient_; }

 private:
  Status fail(int rc, const std::string& sql) {
    transient_ = transient_ || transient_code(rc);
    return Status::io_error(std::string(sqlite3_errmsg(db_)) + " (in: " + sql.substr(0, 60) + ")");
  }

  Status run(std::string sql, const std::vector<SqlValue>& params, std::vector<SqlRow>* rows) {
    for (char& c : sql)
      if (c == '$') c = '?';  // $1 -> ?1: the same numbered parameters
    sqlite3_stmt* st = nullptr;
    int rc = sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr);
    if (rc != SQLITE_OK) return fail(rc, sql);
    for (size_t i = 0; i < params.size(); ++i) {
      if (params[i])
        sqlite3_bind_text(st, static_cast<int>(i + 1), params[i]->data(), static_cast<int>(params[i]->size()),
                          SQLITE_TRANSIENT);
      else
        sqlite3_bind_null(st, static_cast<int>(i + 1));
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      if (!rows) continue;
      SqlRow row;
      for (int c = 0; c < sqlite3_column_count(st); ++c) {
        switch (sqlite3_column_type(st, c)) {
          case SQLITE_NULL: row.emplace_back(std::nullopt); break;
          case SQLITE_FLOAT: row.push_back(sql_number(sqlite3_column_double(st, c))); break;
          default:
            row.emplace_back(std::string(reinterpret_cast<const char*>(sqlite3_column_text(st, c)),
                                         static_cast<size_t>(sqlite3_column_bytes(st, c))));
        }
      }
      rows->push_back(std::move(row));
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? Status::ok() : fail(rc, sql);
  }

  sqlite3* db_;
  bool transient_ = false;
};

class SqliteStore : public SqlStore {
 public:
  SqliteStore(std::string path, sqlite3* db, RetryPolicy retry) : path_(std::move(path)), db_(db), retry_(retry) {}
  ~SqliteStore() override { sqlite3_close(db_); }

  std::string describe() const override { return "sqlite:" + path_; }
  std::string backend() const override { return "sqlite"; }
  Result<int> schema_version() override {
    int v = 0;
    IRENE_RETURN_IF_ERROR(read([&](SqlSession& s) -> Status {
      IRENE_ASSIGN_OR_RETURN(auto rows, s.query("PRAGMA user_version"));
      v = static_cast<int>(sql_int(rows.at(0)[0]));
      return Status::ok();
    }));
    return v;
  }

 protected:
  Status transaction(const std::function<Status(SqlSession&)>& body, bool writes) override {
    std::lock_guard lock(mutex_);
    return run_with_retry(retry_, describe(), [&]() -> Attempt {
      SqliteSession s(db_);
      // IMMEDIATE takes the write lock at once: two writers never deadlock upgrading. In WAL
      // mode a reader takes none.
      Status st = s.execute(writes ? "BEGIN IMMEDIATE" : "BEGIN").status();
      if (st.is_ok()) {
        st = body(s);
        if (st.is_ok()) st = s.execute("COMMIT").status();
      }
      if (!st.is_ok()) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      return {st, s.transient()};
    });
  }

 private:
  std::string path_;
  sqlite3* db_;
  RetryPolicy retry_;
  std::mutex mutex_;
};

struct Opened {
  sqlite3* db = nullptr;
  std::string why;           // when db is null
  bool set_aside = false;    // unusable and holding nothing irreplaceable: move it aside
};

bool has_rows(sqlite3* db, const char* table) {
  sqlite3_stmt* st = nullptr;
  const std::string sql = std::string("SELECT 1 FROM ") + table + " LIMIT 1";
  bool rows = sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW;
  sqlite3_finalize(st);
  return rows;
}

// Opens `path`, checks it and brings its schema up to date.
Opened open_and_migrate(const std::string& path) {
  Opened out;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    out.why = db ? sqlite3_errmsg(db) : "cannot open";
    sqlite3_close(db);
    return out;
  }
  sqlite3_busy_timeout(db, kBusyTimeoutMs);
  SqliteSession s(db);
  // Only a file that is not a database, or a cache of another schema, may be moved aside;
  // a locked one is only busy, and one with measurements is never moved.
  auto give_up = [&](const Status& st, bool set_aside = false) {
    out.why = st.message();
    const int rc = sqlite3_errcode(db);
    out.set_aside = set_aside || rc == SQLITE_NOTADB || rc == SQLITE_CORRUPT;
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    sqlite3_close(db);
    return out;
  };
  Status st = s.execute("PRAGMA journal_mode=WAL").status();
  if (st.is_ok()) st = s.execute("PRAGMA quick_check").status();
  if (st.is_ok()) st = s.execute("BEGIN IMMEDIATE").status();
  if (!st.is_ok()) return give_up(st);
  auto version_rows = s.query("PRAGMA user_version");
  auto table_rows = s.query("SELECT name FROM sqlite_master WHERE type = 'table'");
  if (!version_rows.is_ok()) return give_up(version_rows.status());
  if (!table_rows.is_ok()) return give_up(table_rows.status());
  const int version = static_cast<int>(sql_int(version_rows->at(0)[0]));
  const bool has_tables = !table_rows->empty();
  if (version == 0 && has_tables)
    return give_up(Status::corrupt("an SQLite database of something else (tables, but no irene schema version)"));
  if (version > latest_schema_version()) {
    const bool measurements = has_rows(db, "points");
    return give_up(Status::corrupt("schema version " + std::to_string(version) + ", this irene knows 1 to " +
                                   std::to_string(latest_schema_version()) +
                                   (measurements ? "; it holds campaign points: open it with a newer irene" : "")),
                   !measurements);
  }
  for (const Migration& m : migrations()) {
    if (m.version <= version) continue;
    for (const char* sql : m.statements)
      if (st = s.execute(sql).status(); !st.is_ok()) return give_up(st);
  }
  st = s.execute("PRAGMA user_version = " + std::to_string(latest_schema_version())).status();
  if (st.is_ok()) st = s.execute("COMMIT").status();
  if (!st.is_ok()) return give_up(st);
  if (version < latest_schema_version())
    spdlog::debug("store sqlite:{}: migrated from schema {} to {}", path, version, latest_schema_version());
  out.db = db;
  return out;
}

}  // namespace

Result<std::unique_ptr<Store>> open_sqlite_store(const std::string& path, const RetryPolicy& retry) {
  std::error_code ec;
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  Opened o = open_and_migrate(path);
  if (!o.db && o.set_aside && std::filesystem::exists(path)) {
    // Only a file with nothing irreplaceable in it (cached answers) gets here.
    const auto stamp =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    const std::string aside = path + ".corrupt-" + std::to_string(stamp);
    std::filesystem::rename(path, aside, ec);
    for (const char* suffix : {"-wal", "-shm"}) std::filesystem::remove(path + suffix, ec);
    spdlog::warn("store {} is unusable ({}); moved it to {} and starting a new one", path, o.why, aside);
    o = open_and_migrate(path);
  }
  if (!o.db) return Status::io_error("cannot open the store sqlite:" + path + ": " + o.why);
  return std::unique_ptr<Store>(new SqliteStore(path, o.db, retry));
}

}  // namespace irene::store
