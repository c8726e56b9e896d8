// The shared backend: a PostgreSQL server reached through libpqxx (libpq). One
// connection per Store, its transactions one at a time; many processes (a campaign's
// array tasks, several `irene serve`) write at once, each through its own connection, and
// the server orders them. A connection lost mid-transaction rolls that transaction back,
// so the whole transaction is tried again on a new connection: every write is
// idempotent, so one that did commit before the loss is recognised, not repeated.
#include <spdlog/spdlog.h>

#include <mutex>
#include <pqxx/pqxx>

#include "store/backends.h"
#include "store/migrations.h"
#include "store/retry.h"
#include "store/sql_store.h"

namespace irene::store {

namespace {

// Any number: the advisory lock that lets one opener at a time migrate the schema.
constexpr long long kMigrationLock = 0x6972656e65;  // "irene"

// SQLSTATEs that pass: connection exceptions (08...), the server shutting down or
// starting (57P01-57P03), and a transaction the server chose to abort (serialisation
// failure, deadlock).
bool transient_state(const std::string& state) {
  return state.rfind("08", 0) == 0 || state == "57P01" || state == "57P02" || state == "57P03" ||
         state == "40001" || state == "40P01";
}

class PgSession : public SqlSession {
 public:
  explicit PgSession(pqxx::work& work) : work_(work) {}

  // Errors are thrown, not returned: the transaction's caller tells a lost connection
  // (tried again) from a failed statement.
  Result<std::vector<SqlRow>> query(const std::string& sql, const std::vector<SqlValue>& params) override {
    const pqxx::result r = work_.exec_params(sql, pqxx::prepare::make_dynamic_params(params));
    std::vector<SqlRow> rows;
    rows.reserve(r.size());
    for (const auto& row : r) {
      SqlRow out;
      for (const auto& field : row) out.push_back(field.is_null() ? SqlValue() : SqlValue(field.c_str()));
      rows.push_back(std::move(out));
    }
    return rows;
  }
  Result<int64_t> execute(const std::string& sql, const std::vector<SqlValue>& params) override {
    return static_cast<int64_t>(work_.exec_params(sql, pqxx::prepare::make_dynamic_params(params)).affected_rows());
  }

 private:
  pqxx::work& work_;
};

class PostgresStore : public SqlStore {
 public:
  PostgresStore(std::string url, std::string redacted, RetryPolicy retry)
      : url_(std::move(url)), redacted_(std::move(redacted)), retry_(retry) {}

  std::string describe() const override { return redacted_; }
  std::string backend() const override { return "postgresql"; }
  Result<int> schema_version() override {
    int v = 0;
    IRENE_RETURN_IF_ERROR(read([&](SqlSession& s) -> Status {
      IRENE_ASSIGN_OR_RETURN(auto rows, s.query("SELECT COALESCE(MAX(version), 0) FROM irene_schema"));
      v = static_cast<int>(sql_int(rows.at(0)[0]));
      return Status::ok();
    }));
    return v;
  }

  // Brings the schema up to date, one opener at a time (the lock is released at commit).
  Status migrate() {
    return write([&](SqlSession& s) -> Status {
      IRENE_RETURN_IF_ERROR(s.query("SELECT pg_advisory_xact_lock(" + std::to_string(kMigrationLock) + ")").status());
      IRENE_RETURN_IF_ERROR(s.execute("CREATE TABLE IF NOT EXISTS irene_schema (version INT PRIMARY KEY, "
                                      "description TEXT NOT NULL, applied TIMESTAMPTZ NOT NULL DEFAULT now())")
                                .status());
      IRENE_ASSIGN_OR_RETURN(auto rows, s.query("SELECT COALESCE(MAX(version), 0) FROM irene_schema"));
      const int version = static_cast<int>(sql_int(rows.at(0)[0]));
      if (version > latest_schema_version())
        return Status::unsupported("store " + redacted_ + " has schema version " + std::to_string(version) +
                                   ", newer than this irene's " + std::to_string(latest_schema_version()) +
                                   ": use a newer irene");
      for (const Migration& m : migrations()) {
        if (m.version <= version) continue;
        for (const char* sql : m.statements) IRENE_RETURN_IF_ERROR(s.execute(sql).status());
        IRENE_RETURN_IF_ERROR(s.execute("INSERT INTO irene_schema (version, description) VALUES ($1, $2)",
                                        {std::to_string(m.version), std::string(m.description)})
                                  .status());
        spdlog::info("store {}: applied migration {} ({})", redacted_, m.version, m.description);
      }
      return Status::ok();
    });
  }

 protected:
  Status transaction(const std::function<Status(SqlSession&)>& body, bool /*writes*/) override {
    std::lock_guard lock(mutex_);
    return run_with_retry(retry_, redacted_, [&]() -> Attempt {
      try {
        if (!connection_ || !connection_->is_open()) connection_ = std::make_unique<pqxx::connection>(url_);
        pqxx::work work(*connection_);
        PgSession s(work);
        Status st = body(s);
        if (st.is_ok()) work.commit();  // otherwise rolled back as `work` goes
        return {st, false};
      } catch (const pqxx::broken_connection& e) {
        connection_.reset();
        return {Status::io_error(first_line(e.what())), true};
      } catch (const pqxx::in_doubt_error& e) {
        connection_.reset();
        return {Status::io_error(first_line(e.what())), true};
      } catch (const pqxx::sql_error& e) {
        const bool transient = transient_state(e.sqlstate());
        if (transient) connection_.reset();
        return {Status::io_error(first_line(e.what()) + (transient ? "" : " (in: " + e.query().substr(0, 80) + ")")),
                transient};
      } catch (const std::exception& e) {
        connection_.reset();
        return {Status::io_error(first_line(e.what())), false};
      }
    });
  }

 private:
  static std::string first_line(const std::string& s) {
    std::string line = s.substr(0, s.find('\n'));
    return line.empty() ? s : line;
  }

  std::string url_, redacted_;
  RetryPolicy retry_;
  std::mutex mutex_;
  std::unique_ptr<pqxx::connection> connection_;
};

}  // namespace

Result<std::unique_ptr<Store>> open_postgres_store(const std::string& url, const std::string& redacted,
                                                   const RetryPolicy& retry) {
  auto store = std::make_unique<PostgresStore>(url, redacted, retry);
  IRENE_RETURN_IF_ERROR(store->migrate());
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace irene::store
