#include "store/migrations.h"

namespace irene::store {

const std::vector<Migration>& migrations() {
  static const std::vector<Migration> all = {
      // The SQLite cache of `irene serve` before the store existed was this table at
      // user_version 1, so such files open as they are and take the later migrations.
      {1, "cached API answers and archived profile jobs",
       {"CREATE TABLE IF NOT EXISTS answers (key TEXT PRIMARY KEY, value TEXT NOT NULL, created REAL)"}},
      {2, "measurement campaigns, their submissions and points",
       {"CREATE TABLE campaigns (name TEXT PRIMARY KEY, spec TEXT NOT NULL, points BIGINT NOT NULL, "
        "created TEXT NOT NULL)",
        "CREATE TABLE submissions (campaign TEXT NOT NULL REFERENCES campaigns (name), job_id TEXT NOT NULL, "
        "kind TEXT NOT NULL, tasks BIGINT NOT NULL, points BIGINT NOT NULL, submitted TEXT NOT NULL, "
        "PRIMARY KEY (campaign, job_id))",
        // One row per point of a plan, keyed by what it measures: the primary key is what
        // makes a second measurement of a point an update rather than a second row.
        "CREATE TABLE points (campaign TEXT NOT NULL REFERENCES campaigns (name), key TEXT NOT NULL, "
        "idx BIGINT NOT NULL, status TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed')), "
        "task TEXT NOT NULL, attempts BIGINT NOT NULL DEFAULT 0, measurements BIGINT NOT NULL DEFAULT 0, "
        "error TEXT NOT NULL DEFAULT '', latency_s DOUBLE PRECISION, energy_j DOUBLE PRECISION, result TEXT, "
        "started TEXT, finished TEXT, PRIMARY KEY (campaign, key))",
        "CREATE INDEX points_by_status ON points (campaign, status)"}},
  };
  return all;
}

int latest_schema_version() { return migrations().back().version; }

}  // namespace irene::store
