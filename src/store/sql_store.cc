#include "store/sql_store.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>

namespace irene::store {

SqlValue sql_number(std::optional<double> v) {
  if (!v) return std::nullopt;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", *v);
  return std::string(buf);
}

std::optional<double> sql_double(const SqlValue& v) {
  if (!v || v->empty()) return std::nullopt;
  return std::strtod(v->c_str(), nullptr);
}

int64_t sql_int(const SqlValue& v) { return v ? std::strtoll(v->c_str(), nullptr, 10) : 0; }

namespace {

std::string text(const SqlValue& v) { return v.value_or(""); }

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

constexpr const char* kPointColumns =
    "campaign, key, idx, status, task, attempts, measurements, error, latency_s, energy_j, started, finished";

PointRecord point_from(const SqlRow& r) {
  PointRecord p;
  p.campaign = text(r[0]);
  p.key = text(r[1]);
  p.index = sql_int(r[2]);
  p.status = text(r[3]);
  p.task = text(r[4]);
  p.attempts = sql_int(r[5]);
  p.measurements = sql_int(r[6]);
  p.error = text(r[7]);
  p.latency_s = sql_double(r[8]);
  p.energy_j = sql_double(r[9]);
  p.started = text(r[10]);
  p.finished = text(r[11]);
  if (r.size() > 12) p.result = text(r[12]);
  return p;
}

}  // namespace

Result<std::optional<std::string>> SqlStore::get(const std::string& key) {
  std::optional<std::string> out;
  IRENE_RETURN_IF_ERROR(read([&](SqlSession& s) -> Status {
    IRENE_ASSIGN_OR_RETURN(auto rows, s.query("SELECT value FROM answers WHERE key = $1", {key}));
    if (!rows.empty()) out = text(rows[0][0]);
    return Status::ok();
  }));
  return out;
}

Status SqlStore::put(const std::string& key, const std::string& value) {
  return write([&](SqlSession& s) -> Status {
    return s
        .execute("INSERT INTO answers (key, value, created) VALUES ($1, $2, $3) "
                 "ON CONFLICT (key) DO UPDATE SET value = excluded.value, created = excluded.created",
                 {key, value, sql_number(unix_now())})
        .status();
  });
}

Result<int64_t> SqlStore::count_values() {
  int64_t n = 0;
  IRENE_RETURN_IF_ERROR(read([&](SqlSession& s) -> Status {
    IRENE_ASSIGN_OR_RETURN(auto rows, s.query("SELECT COUNT(*) FROM answers"));
    n = sql_int(rows.at(0)[0]);
    return Status::ok();
  }));
  return n;
}

Status SqlStore::save_campaign(const CampaignRecord& c) {
  return write([&](SqlSession& s) -> Status {
    IRENE_RETURN_IF_ERROR(s.execute("INSERT INTO campaigns (name, spec, points, created) VALUES ($1, $2, $3, $4) "
                                    "ON CONFLICT (name) DO NOTHING",
                                    {c.name, c.spec, std::to_string(c.points), c.created})
                              .status());
    IRENE_ASSIGN_OR_RETURN(auto rows, s.query("SELECT spec FROM campaigns WHERE name = $1", {c.name}));
    if (rows.empty() || text(rows[0][0]) != c.spec)
      return Status::invalid_argument("campaign '" + c.name + "' is already in the store with another plan; give "
                                      "the campaign a new name, or resume it with the file it was submitted with");
    return Status::ok();
  });
}

Result<std::optional<CampaignRecord>> SqlStore::campaign(const std::string& name) {
  std::optional<CampaignRecord> out;
  IRENE_RETURN_IF_ERROR(read([&](SqlSession& s) -> Status {
    IRENE_ASSIGN_OR_RETURN(auto rows, s.query("SELECT name, spec, points, created FROM campaigns WHERE name = $1", {name}));
    if (!rows.empty()) out = CampaignRecord{text(rows[0][0]), text(rows[0][1]), sql_int(rows[0][2]), text(rows[0][3])};
    return Status::ok();
  }));
  return out;
}

Result<std::vector<CampaignRecord>> SqlStore::campaigns() {
  std::vector<CampaignRecord> out;
  IRENE_RETURN_IF_ERROR(read([&](SqlSession& s) -> Status {
    IRENE_ASSIGN_OR_RETURN(auto rows, s.query("SELECT name, spec, points, created FROM campaigns ORDER BY name"));
    out.clear();
    for (const auto& r : rows) out.push_back({text(r[0]), text(r[1]), sql_int(r[2]), text(r[3])});
    return Status::ok();
  }));
  return out;
}

Status SqlStore::save_submission(const SubmissionRecord& sub) {
  return write([&](SqlSession& s) -> Status {
    return s
        .execute("INSERT INTO submissions (campaign, job_id, kind, tasks, points, submitted) "
                 "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (campaign, job_id) DO NOTHING",
                 {sub.campaign, sub.job_id, sub.kind, std::to_string(sub.tasks), std::to_string(sub.points),
                  sub.submitted})
        .status();
  });
}

Result<std::vector<SubmissionRecord>> SqlStore::submissions(const std::string& campaign) {
  std::vector<SubmissionRecord> out;
  IRENE_RETURN_IF_ERROR(read([&](SqlSession& s) -> Status {
    IRENE_ASSIGN_OR_RETURN(auto rows, s.query("SELECT campaign, job_id, kind, tasks, points, submitted FROM "
                                              "submissions WHERE campaign = $1 ORDER BY submitted, job_id",
                                              {campaign}));
    out.clear();
    for (const auto& r : rows)
      out.push_back({text(r[0]), text(r[1]), text(r[2]), sql_int(r[3]), sql_int(r[4]), text(r[5])});
    return Status::ok();
  }));
  return out;
}

Result<bool> SqlStore::start_point(const PointRecord& p) {
  bool started = false;
  IRENE_RETURN_IF_ERROR(write([&](SqlSession& s) -> Status {
    IRENE_ASSIGN_OR_RETURN(
        int64_t changed,
        s.execute("INSERT INTO points (campaign, key, idx, status, task, attempts, measurements, error, started) "
                  "VALUES ($1, $2, $3, 'running', $4, 1, 0, '', $5) "
                  "ON CONFLICT (campaign, key) DO UPDATE SET status = 'running', task = excluded.task, "
                  "attempts = points.attempts + 1, error = '', started = excluded.started "
                  "WHERE points.status <> 'done'",
                  {p.campaign, p.key, std::to_string(p.index), p.task, p.started}));
    started = changed > 0;
    return Status::ok();
  }));
  return started;
}

Result<bool> SqlStore::finish_point(const PointRecord& p) {
  bool stored = false;
  IRENE_RETURN_IF_ERROR(write([&](SqlSession& s) -> Status {
    IRENE_ASSIGN_OR_RETURN(
        int64_t changed,
        s.execute("INSERT INTO points (campaign, key, idx, status, task, attempts, measurements, error, latency_s, "
                  "energy_j, result, started, finished) "
                  "VALUES ($1, $2, $3, 'done', $4, 1, 1, '', $5, $6, $7, $8, $9) "
                  "ON CONFLICT (campaign, key) DO UPDATE SET status = 'done', task = excluded.task, "
                  "measurements = points.measurements + 1, error = '', latency_s = excluded.latency_s, "
                  "energy_j = excluded.energy_j, result = excluded.result, finished = excluded.finished "
                  "WHERE points.status <> 'done'",
                  {p.campaign, p.key, std::to_string(p.index), p.task, sql_number(p.latency_s),
                   sql_number(p.energy_j), p.result, p.started, p.finished}));
    if (changed > 0) {
      stored = true;
      return Status::ok();
    }
    // Already done. When the row is this very write (a commit whose answer the network
    // lost, tried again), it is ours; otherwise the repeat is counted and dropped.
    IRENE_ASSIGN_OR_RETURN(auto rows, s.query("SELECT task, finished FROM points WHERE campaign = $1 AND key = $2",
                                              {p.campaign, p.key}));
    if (!rows.empty() && text(rows[0][0]) == p.task && text(rows[0][1]) == p.finished) {
      stored = true;
      return Status::ok();
    }
    stored = false;
    return s
        .execute("UPDATE points SET measurements = measurements + 1 WHERE campaign = $1 AND key = $2",
                 {p.campaign, p.key})
        .status();
  }));
  return stored;
}

Status SqlStore::fail_point(const PointRecord& p) {
  return write([&](SqlSession& s) -> Status {
    // Another task now running the point (a resume) keeps it.
    return s
        .execute("INSERT INTO points (campaign, key, idx, status, task, attempts, measurements, error, started, "
                 "finished) VALUES ($1, $2, $3, 'failed', $4, 1, 0, $5, $6, $7) "
                 "ON CONFLICT (campaign, key) DO UPDATE SET status = 'failed', error = excluded.error, "
                 "finished = excluded.finished "
                 "WHERE points.status <> 'done' AND (points.status <> 'running' OR points.task = excluded.task)",
                 {p.campaign, p.key, std::to_string(p.index), p.task, p.error, p.started, p.finished})
        .status();
  });
}

Result<std::vector<PointRecord>> SqlStore::points(const std::string& campaign, bool with_results) {
  std::vector<PointRecord> out;
  const std::string sql = std::string("SELECT ") + kPointColumns + (with_results ? ", result" : "") +
                          " FROM points WHERE campaign = $1 ORDER BY idx";
  IRENE_RETURN_IF_ERROR(read([&](SqlSession& s) -> Status {
    IRENE_ASSIGN_OR_RETURN(auto rows, s.query(sql, {campaign}));
    out.clear();
    for (const auto& r : rows) out.push_back(point_from(r));
    return Status::ok();
  }));
  return out;
}

}  // namespace irene::store
