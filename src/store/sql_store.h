// What the two backends share: every Store method written once as SQL over a small
// session interface (parameters and cells as text, NULL as nullopt), so that SQLite and
// PostgreSQL hold the same rows by the same statements. A backend supplies sessions and
// the transaction around them (with its retries). Internal to src/store.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "store/store.h"

namespace irene::store {

using SqlValue = std::optional<std::string>;  // nullopt is NULL
using SqlRow = std::vector<SqlValue>;

// Statements use $1, $2, ... for parameters (SQLite reads them as ?1, ?2, ...).
class SqlSession {
 public:
  virtual ~SqlSession() = default;
  virtual Result<std::vector<SqlRow>> query(const std::string& sql, const std::vector<SqlValue>& params = {}) = 0;
  // The rows changed.
  virtual Result<int64_t> execute(const std::string& sql, const std::vector<SqlValue>& params = {}) = 0;
};

class SqlStore : public Store {
 public:
  Result<std::optional<std::string>> get(const std::string& key) override;
  Status put(const std::string& key, const std::string& value) override;
  Result<int64_t> count_values() override;
  Status save_campaign(const CampaignRecord& campaign) override;
  Result<std::optional<CampaignRecord>> campaign(const std::string& name) override;
  Result<std::vector<CampaignRecord>> campaigns() override;
  Status save_submission(const SubmissionRecord& submission) override;
  Result<std::vector<SubmissionRecord>> submissions(const std::string& campaign) override;
  Result<bool> start_point(const PointRecord& point) override;
  Result<bool> finish_point(const PointRecord& point) override;
  Status fail_point(const PointRecord& point) override;
  Result<std::vector<PointRecord>> points(const std::string& campaign, bool with_results) override;

 protected:
  // Runs `body` in one transaction, committed when it returns Ok and rolled back
  // otherwise; retried whole while the store cannot be reached. `writes`: the body may
  // write (SQLite then takes its write lock at the start; readers need none).
  virtual Status transaction(const std::function<Status(SqlSession&)>& body, bool writes) = 0;
  Status read(const std::function<Status(SqlSession&)>& body) { return transaction(body, false); }
  Status write(const std::function<Status(SqlSession&)>& body) { return transaction(body, true); }
};

// Text of a number for a parameter, and back ("%.17g": doubles survive the round trip).
SqlValue sql_number(std::optional<double> v);
std::optional<double> sql_double(const SqlValue& v);
int64_t sql_int(const SqlValue& v);

}  // namespace irene::store
